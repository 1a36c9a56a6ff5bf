import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from attrunlearn_core.config import (
    SCHEMA_PATH,
    Cell,
    attribute_names,
    cell_run_params,
    check_names,
    dataset_spec,
    expand_sweep,
    experiment_name,
    grid_cells,
    read_config_file,
    results_dir,
    sweeps_all_lambdas,
    training_recipe,
    validate_config,
)
from attrunlearn_core.config_base import resolve_base
from attrunlearn_core.errors import AttrUnlearnError, ConfigError
from attrunlearn_core.job_resources import check_resource_rules, rule_resources
from attrunlearn_core.methods import get_method_class
from attrunlearn_core.efficiency.modes import MODES as EFFICIENCY_MODES
from attrunlearn_core.efficiency.settings import EfficiencySettings
from attrunlearn_core.jobs.mask_dataset import masking_params
from attrunlearn_core.stale_lock import clear_stale_lock, reads_only
from attrunlearn_core.tracking_store import check_tracking_store


def declared_rules():
    # The config is checked before the rule files are read, so their rule names are taken from the text.
    declaration = re.compile(r"^\s*(?:rule|checkpoint)\s+(\w+)\s*:", re.MULTILINE)
    files = [Path(workflow.basedir, "Snakefile"), *Path(workflow.basedir, "rules").glob("*.smk")]
    return {name for path in files for name in declaration.findall(path.read_text())}


try:
    CONFIG_FILES = workflow.overwrite_configfiles or [p for p in [Path("config.yaml")] if p.exists()]
    for path in CONFIG_FILES:
        read_config_file(path)  # Snakemake's own reading keeps the last of two equal keys without a word
    if "base" in config:  # the config states how it differs from its base: merge it over the base (--config keys kept)
        merged = resolve_base(config, CONFIG_FILES[-1])
        config.clear()
        config.update(merged)
    validate(config, schema=str(SCHEMA_PATH))
    expand_sweep(config, "config")  # a sweep: block becomes ordinary grid methods before anything reads them
    check_names(config, "config")
    check_resource_rules(config, declared_rules())
    # The efficiency measurement's settings; None when the config has no `efficiency:` section.
    EFFICIENCY = EfficiencySettings.from_config(config) if config.get("efficiency") else None
except (WorkflowError, ConfigError) as error:
    if isinstance(error, WorkflowError):
        try:
            validate_config(config, "config")  # same schema; gives the one-line message naming the key
        except ConfigError as detailed:
            error = detailed
    sys.exit(f"attrunlearn: {str(error).splitlines()[0]}")

# A run killed with SIGKILL leaves Snakemake's lock behind; it is removed here, before Snakemake takes the lock,
# when no other snakemake works in this directory (a live one keeps it, and this run stops with one line).
if workflow.is_main_process:
    try:
        check_tracking_store(config["mlflow"]["tracking_uri"], "config")
        if clear_stale_lock(Path.cwd(), reading_only=reads_only(sys.argv)):
            print(f"attrunlearn: removed the stale lock of a killed run in {Path.cwd()}; resuming", file=sys.stderr)
    except AttrUnlearnError as error:
        sys.exit(f"attrunlearn: {error}")

# Everything a grid writes lives under results/<name>/, so two grids never overwrite each other; prepared data
# and models are kept per grid too (never reused across settings). Only the MLflow store results/mlflow.db is shared.
RESULTS = results_dir(config)
# A sweep over all three lambdas gets the paper's Fig. 6, the heat map of AUM over (lambda_2, lambda_3) per lambda_1.
SWEEP_HEATMAP = sweeps_all_lambdas(config)
# Attackers fit on more pool fractions than the saturation check's draw their learning curves.
LEARNING_CURVE = bool(config["attackers"]["curve_fractions"])


def grid_path(path):
    """A file of this grid: `path` under results/<name>/ (may hold wildcards)."""
    return f"{RESULTS}/{path}"


def job_threads(rule):
    return rule_resources(config, rule)["threads"]


def job_resources(rule):
    """mem_mb, runtime (minutes) and gpu from the config's `resources:`, for `resources: **job_resources(name)`."""
    return {key: value for key, value in rule_resources(config, rule).items() if key != "threads"}


# The MLflow writers run where Snakemake runs, never as a cluster job: one sqlite writer, on the machine that
# holds the store. They also wait for each other (aggregate, then log_efficiency, then log_grid_tables).
localrules:
    aggregate,
    log_efficiency,
    log_grid_tables,


def one_of(names):
    """A regex matching exactly these names, so a typo never matches a rule; (?!) matches nothing."""
    return "|".join(re.escape(str(name)) for name in names) or "(?!)"


wildcard_constraints:
    dataset=one_of(config["datasets"]),
    model=one_of(config["models"]),
    method=one_of(config["methods"]),
    attribute=one_of(sorted({a for d in config["datasets"] for a in attribute_names(config, d)})),
    seed=r"\d+",


CELL_DIR = grid_path("cells/{dataset}/{model}/{attribute}/{method}/seed{seed}")


def cell_file(name):
    """A file of one grid cell, as a pattern over the cell's wildcards."""
    return f"{CELL_DIR}/{name}"


CELLS = grid_cells(config)


def cell_path(pattern, cell):
    return pattern.format(dataset=cell.dataset, model=cell.model, attribute=cell.attribute, method=cell.method, seed=cell.seed)


def method_class(method):
    return get_method_class(config["methods"][method]["method"])


def resolved_method(wildcards):
    """The grid method's spec with every parameter resolved over the method's defaults, so that a changed default
    reruns the cells it changes (Snakemake's params trigger), not only a changed config."""
    spec = config["methods"][wildcards.method]
    return {**spec, "params": method_class(wildcards.method).resolve_params(spec.get("params", {}))}


# Models whose baseline-1 is the user's own weights (`checkpoint:`, rule import_baseline), and those trained here.
USER_CHECKPOINT_MODELS = [name for name, spec in config["models"].items() if spec.get("checkpoint")]
TRAINED_MODELS = [name for name in config["models"] if name not in USER_CHECKPOINT_MODELS]

# ---------------------------------------------------------------- what the grid builds, decided here only
# These functions name other rules' outputs (`rules.x.output.y`) and run when the DAG is built, after every rule
# file is read, so no rule file depends on another's include order. Rule files refer to a rule of another file
# the same way, through a lambda (`data=lambda w: rules.prepare.output.data`; Snakemake fills in the job's wildcards).


def _starting_point(method):
    """(checkpoint, prepared data) patterns a method starts from, by UnlearningMethod.starts_from."""
    starts_from = method_class(method).starts_from
    if starts_from == "baseline":
        return rules.train_baseline.output.model, rules.prepare.output.data
    if starts_from == "masked_baseline":  # baseline-2: retrained on, and evaluated on, the Grad-CAM masked images
        return rules.train_masked_baseline.output.model, rules.mask_dataset.output.data
    raise WorkflowError(f"methods.{method}: no rule builds the starting point {starts_from!r}")


def start_checkpoint(wildcards):
    """The model a cell's method starts from (baseline-1 for most methods)."""
    return _starting_point(wildcards.method)[0]


def cell_data(wildcards):
    """The prepared dataset a cell is unlearned and evaluated on."""
    return _starting_point(wildcards.method)[1]


def recovery_drawn(cell):
    # The recovery figure is a picture, not a statistic: drawn for the grid's first seed only, which keeps the grid's time.
    return method_class(cell.method).name == "detachment" and cell.seed == config["grid"]["seeds"][0]


def cell_artifacts():
    """Cell.path -> the files attached to that cell's MLflow run besides its metrics: Grad-CAM figure, recovery figure."""
    artifacts = {}
    for cell in CELLS:
        files = []
        if method_class(cell.method).starts_from == "masked_baseline":
            files.append(cell_path(rules.gradcam_figure.output.figure, cell))
        if recovery_drawn(cell):
            files += [cell_path(rules.image_recovery.output.figure, cell), cell_path(rules.image_recovery.output.metrics, cell)]
        if files:
            artifacts[cell.path] = files
    return artifacts


def final_targets():
    """What the default target `all` builds: the tables, every figure and report page, and the MLflow records."""
    datasets = config["grid"]["datasets"]
    tables = rules.aggregate.output
    targets = [tables.cells, tables.attacks, tables.summary]
    targets += [path for paths in cell_artifacts().values() for path in paths]
    targets += expand(list(rules.summary_figures.output), dataset=datasets)
    targets += list(rules.report_tables.output)
    if SWEEP_HEATMAP:
        targets.append(rules.sweep_heatmap.output.heatmap)
    if LEARNING_CURVE:
        targets += expand(rules.learning_curve_figure.output.curve, dataset=datasets)
    if EFFICIENCY:
        targets += [rules.efficiency_table.output.table, rules.efficiency_table_html.output.efficiency, rules.log_efficiency.output.runs]
    targets.append(rules.log_grid_tables.output.run)
    return targets


# ---------------------------------------------------------------- inputs that depend on the config
def attribute_model(wildcards):
    # Keyed by epoch count, not by grid method: methods differing only in CAM settings share it.
    return rules.train_attribute_model.output.model.format(epochs=gradcam_params(wildcards)["attribute_epochs"], **wildcards)


def previous_measurement(wildcards):
    """The efficiency measurement run just before this one (each model in turn, through every mode); none for the first."""
    order = [(model, mode) for model in EFFICIENCY.models for mode in EFFICIENCY_MODES]
    position = order.index((wildcards.model, wildcards.mode))
    if position == 0:
        return []
    model, mode = order[position - 1]
    return rules.measure_efficiency.output.measurement.format(model=model, mode=mode)


# ---------------------------------------------------------------- params: the part of the config a job reads
# A script reads the config only through its rule's params, so Snakemake's params check reruns exactly the jobs
# whose settings changed (and, through their outputs, what depends on them).
def task_of(wildcards):
    return config["datasets"][wildcards.dataset]["task"]


def recipe_of(wildcards):
    return training_recipe(config, wildcards.dataset)


def model_of(wildcards):
    return config["models"][wildcards.model]


# What the MLflow writers (aggregate, log_efficiency, log_grid_tables) take as params.
MLFLOW = {
    "tracking_uri": config["mlflow"]["tracking_uri"],
    "experiment": experiment_name(config),
    "grid": config["name"],
    "artifact_root": grid_path("mlflow-artifacts"),
}


def gradcam_params(wildcards):
    """A baseline-2 cell's masking settings with the defaults spelled out (mask_dataset.masking_params)."""
    return masking_params(config, wildcards.method, wildcards.dataset, wildcards.model)
