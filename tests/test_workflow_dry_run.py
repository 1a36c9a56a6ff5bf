"""A dry run per shipped config: the DAG builds and holds the expected number of jobs of each rule."""

import shutil

import pytest
from helpers import REPO, lint_workflow

from attrunlearn_core.config import attribute_names, load_config, sweeps_all_lambdas
from attrunlearn_core.efficiency.modes import MODES as EFFICIENCY_MODES
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.methods import get_method_class

from workflow import job_counts, snakemake

SHIPPED = [REPO / "config.yaml", *sorted((REPO / "configs").glob("*.yaml"))]


def expected_jobs(config: dict) -> dict[str, int]:
    grid = config["grid"]
    per_seed_models = len(grid["models"]) * len(grid["seeds"])
    attributes = sum(len(attribute_names(config, d)) for d in grid["datasets"])
    cells = attributes * per_seed_models * len(grid["methods"])
    classes = {m: get_method_class(config["methods"][m]["method"]) for m in grid["methods"]}
    masked = [m for m in grid["methods"] if classes[m].starts_from == "masked_baseline"]
    from_baseline = [m for m in grid["methods"] if classes[m].starts_from == "baseline"]
    attribute_epochs = {classes[m].resolve_params(config["methods"][m].get("params", {}))["attribute_epochs"] for m in masked}
    gradcam = {
        "train_attribute_model": attributes * per_seed_models * len(attribute_epochs),
        "mask_dataset": attributes * per_seed_models * len(masked),
        "train_masked_baseline": attributes * per_seed_models * len(masked),
        "gradcam_figure": attributes * per_seed_models * len(masked),
    }
    detachment = [m for m in grid["methods"] if classes[m].name == "detachment"]
    return {
        **{rule: count for rule, count in gradcam.items() if count},
        "image_recovery": attributes * len(grid["models"]) * len(detachment),  # first seed only
        # one measurement per model and mode, then the table
        "measure_efficiency": len(config["efficiency"]["models"]) * len(EFFICIENCY_MODES) if config.get("efficiency") else 0,
        "efficiency_table": 1 if config.get("efficiency") else 0,
        "log_efficiency": 1 if config.get("efficiency") else 0,
        "prepare": len(grid["datasets"]),
        "train_baseline": len(grid["datasets"]) * per_seed_models if from_baseline else 0,
        "unlearn": cells,
        "fit_attackers": cells,
        "evaluate": cells,
        "aggregate": 1,
        "summary_figures": len(grid["datasets"]),
        "report_tables": 1,
        "efficiency_table_html": 1 if config.get("efficiency") else 0,
        "log_grid_tables": 1,
        # a sweep over all three lambdas draws its heat map
        "sweep_heatmap": 1 if sweeps_all_lambdas(config) else 0,
        # attackers on more pool fractions draw their learning curves, one figure per dataset
        "learning_curve_figure": len(grid["datasets"]) if config["attackers"]["curve_fractions"] else 0,
        "all": 1,
    }


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_dry_run_job_counts(path, tmp_path):
    result = snakemake(tmp_path, path, "-n")
    assert result.returncode == 0, result.stderr[-2000:]
    expected = {rule: count for rule, count in expected_jobs(load_config(path)).items() if count}
    assert job_counts(result.stdout) == {**expected, "total": sum(expected.values())}


def test_bad_config_fails_the_dag_build_with_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((REPO / "config.yaml").read_text().replace("task: shape", "task: shape\n    colour: red"))
    result = snakemake(tmp_path, bad, "-n")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("attrunlearn:")]
    assert len(errors) == 1 and "datasets.embedded" in errors[0] and "colour" in errors[0]


def test_a_key_given_twice_fails_the_dag_build_with_its_line(tmp_path):
    """YAML keeps the later of two equal keys silently, e.g. a pasted second `grid:` would replace the first."""
    text = (REPO / "config.yaml").read_text()
    bad = tmp_path / "twice.yaml"
    bad.write_text(text + "\ngrid:\n  datasets: [embedded]\n  models: [resnet18]\n  methods: [original]\n  seeds: [0]\n")
    line = len(text.splitlines()) + 2
    result = snakemake(tmp_path, bad, "-n")
    assert result.returncode != 0
    errors = [row for row in result.stderr.splitlines() if row.startswith("attrunlearn:")]
    assert errors == [f"attrunlearn: {bad}: line {line}: key 'grid' is given twice in one block (YAML would keep only the last)"]
    assert not (tmp_path / "results").exists()
    with pytest.raises(ConfigError, match=f"twice.yaml: line {line}: key 'grid' is given twice"):
        load_config(bad)


def test_a_configfile_replaces_the_default_grid_instead_of_merging_into_it(tmp_path):
    # As users run it, config.yaml sits in the working directory; a copy of the repository's, in a directory whose
    # results/ are empty, so what the repository's own results/ hold (e.g. after `make run`) cannot change the dry run.
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    shared = REPO / "configs" / "shared-data.yaml"
    result = snakemake(tmp_path, shared, "-n")
    assert result.returncode == 0, result.stderr[-2000:]
    expected = {rule: count for rule, count in expected_jobs(load_config(shared)).items() if count}
    assert job_counts(result.stdout) == {**expected, "total": sum(expected.values())}
    assert "embedded" not in result.stdout


def test_the_stage_files_plan_the_same_grid_in_any_include_order(tmp_path):
    # No rule file appends to what another reads, and rules name other files' outputs lazily: reversed includes
    # (rules/common.smk, the helpers, stays first) must plan the same jobs.
    snakefile = (REPO / "Snakefile").read_text()
    includes = [line for line in snakefile.splitlines() if line.startswith("include:") and "common.smk" not in line]
    assert len(includes) >= 10
    shuffled = snakefile.replace("\n".join(includes), "\n".join(reversed(includes)))
    assert shuffled != snakefile
    copy = tmp_path / "workflow"
    copy.mkdir()
    (copy / "Snakefile").write_text(shuffled)
    for name in ("rules", "workflow_scripts", "report", "config.yaml"):
        (copy / name).symlink_to(REPO / name)
    work = tmp_path / "work"
    work.mkdir()
    result = snakemake(work, REPO / "config.yaml", "-n", snakefile=copy / "Snakefile")
    assert result.returncode == 0, result.stderr[-2000:]
    expected = {rule: count for rule, count in expected_jobs(load_config(REPO / "config.yaml")).items() if count}
    assert job_counts(result.stdout) == {**expected, "total": sum(expected.values())}


def test_snakemake_lint_finds_nothing_but_the_rules_running_in_the_installed_environment(tmp_path):
    result = snakemake(tmp_path, REPO / "config.yaml", "--lint")
    output = result.stdout + result.stderr
    assert result.returncode in (0, 1) and "Traceback" not in output, output[-3000:]
    assert "Lints for rule" in output  # the one lint let through: no rule names a conda environment
    assert lint_workflow().unexpected_lints(output) == []
