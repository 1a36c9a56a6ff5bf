import re
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from attrunlearn_core.config import SCHEMA_PATH, Cell, attribute_names, check_names, expand_sweep, grid_cells, training_recipe, validate_config
from attrunlearn_core.errors import ConfigError

try:
    validate(config, schema=str(SCHEMA_PATH))
    expand_sweep(config, "config")  # a sweep: block becomes ordinary grid methods before anything reads them
    check_names(config, "config")
except (WorkflowError, ConfigError) as error:
    if isinstance(error, WorkflowError):
        try:
            validate_config(config, "config")  # same schema; gives the one-line message naming the key
        except ConfigError as detailed:
            error = detailed
    sys.exit(f"attrunlearn: {str(error).splitlines()[0]}")

RESULTS = "results"
CELL_DIR = "results/cells/{dataset}/{model}/{attribute}/{method}/seed{seed}"


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
    site=_choice(["split", "penultimate"]),


def cell_of(wildcards):
    return Cell(wildcards.dataset, wildcards.model, wildcards.attribute, wildcards.method, int(wildcards.seed))


def cell_path(pattern, cell):
    return pattern.format(dataset=cell.dataset, model=cell.model, attribute=cell.attribute, method=cell.method, seed=cell.seed)


# Rule files that add outputs beyond the tables (figures, benchmark tables) append their targets here.
EXTRA_TARGETS = []
# Files a rule file attaches to a cell's MLflow run: Cell.path -> [paths] (e.g. baseline-2's Grad-CAM figure).
CELL_ARTIFACTS = {}


def final_targets():
    return ["results/tables/cells.parquet", "results/tables/attacks.parquet"] + EXTRA_TARGETS


def method_class(method):
    from attrunlearn_core.methods import get_method_class

    return get_method_class(config["methods"][method]["method"])


# Where a method starts from (UnlearningMethod.starts_from) -> the checkpoint path pattern that provides it.
START_CHECKPOINTS = {"baseline": "results/models/{dataset}/{model}/seed{seed}/baseline.pt"}


# The prepared dataset a cell trains and is evaluated on, by the same key (baseline-2 uses masked images).
CELL_DATA = {"baseline": "results/prepared/{dataset}.pt"}


def cell_data(wildcards):
    return CELL_DATA[method_class(wildcards.method).starts_from].format(**wildcards)


def start_checkpoint(wildcards):
    start = method_class(wildcards.method).starts_from
    return START_CHECKPOINTS[start].format(**wildcards)
