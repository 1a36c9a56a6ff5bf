"""Each rule's params carry exactly the settings its job reads, so Snakemake's params check reruns exactly the jobs a
changed setting affects (and, through their outputs, what depends on them) and nothing else."""

from __future__ import annotations

import copy
import re

import pytest
from helpers import REPO, TINY_CONFIG, write_config

from workflow import snakemake

# Every kind of rule: a method from baseline-1, detachment (image recovery), baseline-2 (Grad-CAM rules).
GRID = copy.deepcopy(TINY_CONFIG)
GRID["methods"] |= {
    "detachment_local": {"method": "detachment", "params": {"mode": "local", "epochs": 1}},
    "baseline2": {"method": "gradcam_retrain"},
}
GRID["grid"]["methods"] = ["original", "detachment_local", "baseline2"]
GRID["efficiency"] = {"dataset": "embedded", "models": ["resnet18"]}
GRID["recovery"] = {"epochs": 1}

# What follows the tables: rerun whenever a cell's metrics (or the params the cell runs record) change.
AFTER_AGGREGATE = {
    "aggregate",
    "report_tables",
    "summary_figures",
    "log_efficiency",
    "log_grid_tables",
    "all",
}


@pytest.fixture(scope="module")
def completed_grid(tmp_path_factory):
    """The grid marked complete with `snakemake --touch`: every output an empty file and every job recorded with its
    params exactly as a real run records them (the rerun decision reads only those records), in seconds, not minutes."""
    workdir = tmp_path_factory.mktemp("touched")
    configfile = write_config(GRID, workdir / "grid.yaml")
    summary = snakemake(workdir, configfile, "--summary")
    assert summary.returncode == 0, summary.stderr[-2000:]
    for line in summary.stdout.splitlines()[1:]:
        output = workdir / line.split("\t")[0]
        output.parent.mkdir(parents=True, exist_ok=True)
        output.touch()
    touched = snakemake(workdir, configfile, "--touch", "--forceall", "--cores", "1")
    assert touched.returncode == 0, touched.stderr[-2000:]
    unchanged = snakemake(workdir, configfile, "-n")
    assert unchanged.returncode == 0 and "Nothing to be done" in unchanged.stdout + unchanged.stderr, unchanged.stdout[-2000:]
    return workdir


def planned_jobs(workdir, config: dict) -> list[dict]:
    """The jobs a dry run with `config` plans on the completed grid: rule, wildcards, and whether its own params changed
    (Snakemake gives one reason per job: a job whose input is rebuilt anyway says that instead)."""
    result = snakemake(workdir, write_config(config, workdir / "changed.yaml"), "-n")
    assert result.returncode == 0, result.stderr[-2000:]
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", result.stdout)[1:]:
        wildcards = re.search(r"^\s+wildcards: (.*)$", block, re.MULTILINE)
        jobs.append(
            {
                "rule": re.match(r"(?:local)?rule (\w+):", block).group(1),
                "wildcards": dict(pair.split("=", 1) for pair in wildcards.group(1).split(", ")) if wildcards else {},
                "params_changed": "Params have changed" in block,
            }
        )
    return jobs


def changed(change) -> dict:
    config = copy.deepcopy(GRID)
    change(config)
    return config


def rules_of(jobs, params_changed: bool | None = None) -> set[str]:
    return {job["rule"] for job in jobs if params_changed is None or job["params_changed"] == params_changed}


def test_recovery_settings_rerun_the_recovery_jobs_only(completed_grid):
    jobs = planned_jobs(completed_grid, changed(lambda c: c["recovery"].update(epochs=2)))
    assert rules_of(jobs, params_changed=True) == {"image_recovery"}
    assert len([job for job in jobs if job["rule"] == "image_recovery"]) == 2  # detachment x 2 attributes
    assert rules_of(jobs) == {"image_recovery"} | AFTER_AGGREGATE  # the figures are attached to the cells' MLflow runs


def test_attacker_settings_rerun_the_attacks_not_the_models(completed_grid):
    jobs = planned_jobs(completed_grid, changed(lambda c: c["attackers"]["recipe"].update(max_epochs=3)))
    assert rules_of(jobs, params_changed=True) == {"fit_attackers"}
    assert len([job for job in jobs if job["rule"] == "fit_attackers"]) == 6  # every cell
    assert rules_of(jobs) == {"fit_attackers", "evaluate"} | AFTER_AGGREGATE


def test_one_methods_params_rerun_that_methods_cells_only(completed_grid):
    jobs = planned_jobs(completed_grid, changed(lambda c: c["methods"]["detachment_local"]["params"].update(epochs=2)))
    assert rules_of(jobs, params_changed=True) == {"unlearn"}
    per_cell = [job for job in jobs if "method" in job["wildcards"]]
    assert {job["wildcards"]["method"] for job in per_cell} == {"detachment_local"}
    assert rules_of(per_cell) == {"unlearn", "fit_attackers", "evaluate", "image_recovery"}
    assert rules_of(jobs) == rules_of(per_cell) | AFTER_AGGREGATE


def test_the_training_recipe_reruns_the_baselines_and_everything_after_them(completed_grid):
    jobs = planned_jobs(completed_grid, changed(lambda c: c["training"].update(epochs=2)))
    # the attribute classifier keeps baseline2's own attribute_epochs; the efficiency measurement times fresh models
    assert rules_of(jobs, params_changed=True) == {"train_baseline", "train_masked_baseline"}
    assert rules_of(jobs) == {"train_baseline", "train_masked_baseline", "unlearn", "fit_attackers", "evaluate", "image_recovery"} | AFTER_AGGREGATE
    assert len([job for job in jobs if job["rule"] == "unlearn"]) == 6


def test_efficiency_settings_rerun_the_measurements_and_the_efficiency_table_only(completed_grid):
    jobs = planned_jobs(completed_grid, changed(lambda c: c["efficiency"].update(epochs=3)))
    assert rules_of(jobs, params_changed=True) == {"measure_efficiency"}
    assert rules_of(jobs) == {"measure_efficiency", "efficiency_table", "efficiency_table_html", "log_efficiency", "log_grid_tables", "all"}


def test_no_workflow_script_reads_the_config():
    # a script that read snakemake.config would depend on settings its rule's params do not carry
    readers = [path.name for path in sorted((REPO / "workflow_scripts").glob("*.py")) if "snakemake.config" in path.read_text()]
    assert readers == []
