"""Threads, mem_mb, runtime and gpu of every rule come from the config's `resources:`, locally and through profiles/slurm."""

import re

import pytest
import yaml
from helpers import REPO, write_config

from attrunlearn_core.errors import ConfigError
from attrunlearn_core.job_resources import BUILT_IN, check_resource_rules, rule_resources

from workflow import snakemake

SLURM_PROFILE = str(REPO / "profiles" / "slurm")


def planned_jobs(dry_run_output: str) -> list[dict]:
    """Each job of `snakemake -n` as {rule, threads, resources}; Snakemake omits `threads: 1`."""
    jobs = []
    for block in re.split(r"(?m)^(?=(?:local)?rule \w+:)", dry_run_output):
        rule = re.search(r"^(local)?rule (\w+):", block, re.MULTILINE)
        if not rule:
            continue
        threads = re.search(r"^\s+threads: (\d+)", block, re.MULTILINE)
        resources = re.search(r"^\s+resources: (.*)$", block, re.MULTILINE)
        pairs = [item.split("=", 1) for item in resources.group(1).split(", ")] if resources else []
        jobs.append({"rule": rule.group(2), "threads": int(threads.group(1)) if threads else 1, "resources": dict(pairs)})
    return jobs


def default_grid_with(resources: dict, path):
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    return write_config({**config, "resources": resources}, path)


def test_a_rule_entry_overrides_default_which_overrides_the_built_in_table():
    config = {"resources": {"default": {"mem_mb": 9000, "gpu": 1}, "unlearn": {"threads": 16, "gpu": 2}}}
    assert rule_resources(config, "unlearn") == {"threads": 16, "mem_mb": 9000, "runtime": BUILT_IN["unlearn"]["runtime"], "gpu": 2}
    assert rule_resources(config, "evaluate") == {**BUILT_IN["default"], "mem_mb": 9000, "gpu": 1}
    assert rule_resources({}, "train_baseline")["threads"] == BUILT_IN["train_baseline"]["threads"]
    assert rule_resources({}, "fit_attackers")["gpu"] == 0


def test_the_default_grid_states_the_built_in_table():
    # A config without `resources:` runs as config.yaml does.
    assert yaml.safe_load((REPO / "config.yaml").read_text())["resources"] == BUILT_IN


def test_an_unknown_rule_under_resources_is_refused():
    check_resource_rules({"resources": {"default": {}, "unlearn": {}}}, {"unlearn", "evaluate"})
    with pytest.raises(ConfigError, match=r"resources\.unlaern: no rule of that name"):
        check_resource_rules({"resources": {"unlaern": {"threads": 2}}}, {"unlearn", "evaluate"})


def test_the_dag_build_refuses_a_misspelt_rule_or_key_with_one_line(tmp_path):
    for resources, expected in (({"unlaern": {"threads": 2}}, "resources.unlaern"), ({"unlearn": {"cpus": 2}}, "resources.unlearn")):
        result = snakemake(tmp_path, default_grid_with(resources, tmp_path / "bad.yaml"), "-n")
        errors = [line for line in result.stderr.splitlines() if line.startswith("attrunlearn:")]
        assert result.returncode != 0 and len(errors) == 1 and expected in errors[0], result.stderr[-2000:]


def test_unlock_needs_no_core_count(tmp_path):
    result = snakemake(tmp_path, REPO / "config.yaml", "--unlock")
    assert result.returncode == 0, result.stderr[-2000:]


def test_a_local_run_gives_the_heavy_jobs_every_core(tmp_path):
    result = snakemake(tmp_path, REPO / "config.yaml", "-n", "--cores", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    jobs = planned_jobs(result.stdout + result.stderr)
    threads = {job["rule"]: job["threads"] for job in jobs}
    assert threads["train_baseline"] == threads["unlearn"] == threads["train_attribute_model"] == 2  # 4 asked, scaled to --cores
    assert threads["fit_attackers"] == threads["evaluate"] == 1


def test_every_rule_gets_its_own_config_entry_through_the_slurm_profile(tmp_path):
    result = snakemake(tmp_path, REPO / "config.yaml", "-n", "--profile", SLURM_PROFILE)
    rules = sorted({job["rule"] for job in planned_jobs(result.stdout)} - {"all"})
    # A distinct number per rule, so a rule reading another rule's entry shows up.
    resources = {"default": {"threads": 1, "mem_mb": 100, "runtime": 1, "gpu": 0}}
    resources |= {rule: {"threads": 2 + i, "mem_mb": 1000 + i, "runtime": 10 + i, "gpu": i % 2} for i, rule in enumerate(rules)}
    result = snakemake(tmp_path, default_grid_with(resources, tmp_path / "resources.yaml"), "-n", "--profile", SLURM_PROFILE, "--cores", "64")
    assert result.returncode == 0, result.stderr[-2000:]
    for job in planned_jobs(result.stdout):
        if job["rule"] == "all":
            continue
        planned = {"threads": job["threads"], **{key: int(job["resources"][key]) for key in ("mem_mb", "runtime", "gpu")}}
        assert planned == resources[job["rule"]], job
    assert len(rules) >= 13  # the default grid reaches every rule of the workflow


@pytest.mark.parametrize("config", ["config.yaml", "configs/paper.yaml"])
def test_the_shipped_grids_plan_through_the_slurm_profile(config, tmp_path):
    result = snakemake(tmp_path, REPO / config, "-n", "--profile", SLURM_PROFILE)
    assert result.returncode == 0, result.stderr[-2000:]
    section = yaml.safe_load((REPO / config).read_text())["resources"]
    jobs = [job for job in planned_jobs(result.stdout) if job["rule"] != "all"]
    assert {job["rule"] for job in jobs} >= {"train_baseline", "unlearn", "fit_attackers", "aggregate", "log_efficiency"}
    for job in jobs:
        assert int(job["resources"]["gpu"]) == rule_resources({"resources": section}, job["rule"])["gpu"], job
