import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from attrunlearn_core.config import (
    SCHEMA_PATH,
    Cell,
    attribute_names,
    check_names,
    expand_sweep,
    grid_cells,
    results_dir,
    training_recipe,
    validate_config,
)
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.job_resources import check_resource_rules, rule_resources


def declared_rules():
    # The config is checked before the rule files are read, so their rule names are taken from the text.
    declaration = re.compile(r"^\s*(?:rule|checkpoint)\s+(\w+)\s*:", re.MULTILINE)
    files = [Path(workflow.basedir, "Snakefile"), *Path(workflow.basedir, "rules").glob("*.smk")]
    return {name for path in files for name in declaration.findall(path.read_text())}


try:
    validate(config, schema=str(SCHEMA_PATH))
    expand_sweep(config, "config")  # a sweep: block becomes ordinary grid methods before anything reads them
    check_names(config, "config")
    check_resource_rules(config, declared_rules())
except (WorkflowError, ConfigError) as error:
    if isinstance(error, WorkflowError):
        try:
            validate_config(config, "config")  # same schema; gives the one-line message naming the key
        except ConfigError as detailed:
            error = detailed
    sys.exit(f"attrunlearn: {str(error).splitlines()[0]}")

# Everything a grid writes lives under results/<name>/, so two grids never overwrite each other; prepared data
# and models are kept per grid too (never reused across settings). Only the MLflow store results/mlflow.db is shared.
RESULTS = results_dir(config)


def grid_path(path):
    """A file of this grid: `path` under results/<name>/ (may hold wildcards)."""
    return f"{RESULTS}/{path}"


def job_threads(rule):
    return rule_resources(config, rule)["threads"]


def job_resources(rule):
    """mem_mb, runtime (minutes) and gpu of a rule from the config's `resources:`, as `resources: **job_resources(rule)`."""
    return {key: value for key, value in rule_resources(config, rule).items() if key != "threads"}


# The MLflow writers (aggregate; log_efficiency in rules/benchmark.smk) run where Snakemake runs, never as a
# cluster job: one sqlite writer, on the machine that holds the store.
localrules:
    aggregate,
    log_grid_tables,


CELL_DIR = grid_path("cells/{dataset}/{model}/{attribute}/{method}/seed{seed}")


def cell_file(name):
    """A file of one grid cell, as a pattern over the cell's wildcards."""
    return f"{CELL_DIR}/{name}"


CELLS = grid_cells(config)


def _choice(values):
    return "|".join(re.escape(str(v)) for v in values)


wildcard_constraints:
    dataset=_choice(config["datasets"]),
    model=_choice(config["models"]),
    method=_choice(config["methods"]),
    attribute=_choice(sorted({a for d in config["datasets"] for a in attribute_names(config, d)})),
    seed=r"\d+",


def cell_of(wildcards):
    return Cell(wildcards.dataset, wildcards.model, wildcards.attribute, wildcards.method, int(wildcards.seed))


def cell_path(pattern, cell):
    return pattern.format(dataset=cell.dataset, model=cell.model, attribute=cell.attribute, method=cell.method, seed=cell.seed)


# Rule files that add outputs beyond the tables (figures, benchmark tables) append their targets here.
EXTRA_TARGETS = []
# Files a rule file attaches to a cell's MLflow run: Cell.path -> [paths] (e.g. baseline-2's Grad-CAM figure).
CELL_ARTIFACTS = {}


def final_targets():
    return [grid_path("tables/cells.parquet"), grid_path("tables/attacks.parquet"), grid_path("tables/summary.parquet")] + EXTRA_TARGETS


def method_class(method):
    from attrunlearn_core.methods import get_method_class

    return get_method_class(config["methods"][method]["method"])


# Where a method starts from (UnlearningMethod.starts_from) -> the checkpoint path pattern that provides it.
START_CHECKPOINTS = {"baseline": grid_path("models/{dataset}/{model}/seed{seed}/baseline.pt")}


# The prepared dataset a cell trains and is evaluated on, by the same key (baseline-2 uses masked images).
CELL_DATA = {"baseline": grid_path("prepared/{dataset}.pt")}


def cell_data(wildcards):
    return CELL_DATA[method_class(wildcards.method).starts_from].format(**wildcards)


def start_checkpoint(wildcards):
    start = method_class(wildcards.method).starts_from
    return START_CHECKPOINTS[start].format(**wildcards)
