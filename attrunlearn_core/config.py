"""Reading, validating and querying the grid config (used by the Snakefile and by tests).

jsonschema is imported only where a config is validated: efficiency/gpu_efficiency.py queries configs on a
machine without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from attrunlearn_core.errors import ConfigError

if TYPE_CHECKING:
    import jsonschema

SCHEMA_PATH = Path(str(files("attrunlearn_core") / "config.schema.yaml"))


@dataclass(frozen=True)
class Cell:
    """One grid cell: the unit of the results table and of MLflow runs."""

    dataset: str
    model: str
    attribute: str  # one label, or several joined by '+'
    method: str
    seed: int

    @property
    def path(self) -> str:
        return f"{self.dataset}/{self.model}/{self.attribute}/{self.method}/seed{self.seed}"


def _fill_defaults(validator_class):
    import jsonschema

    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = sub["default"]
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


def _where(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


# What a pattern-checked key accepts, in words.
PATTERN_WORDS = {"device": "auto, cpu, cuda or cuda:N"}
# Top-level keys of earlier releases, and what a config says instead.
RENAMED_KEYS = {"benchmark": "the efficiency measurement is `efficiency:` now, and its `recovery:` a top-level `recovery:`"}


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "pattern" and _where(error) in PATTERN_WORDS:
        return f"{error.instance!r} is not one of {PATTERN_WORDS[_where(error)]}"
    if error.validator == "additionalProperties" and not error.absolute_path:
        renamed = [key for key in RENAMED_KEYS if key in error.instance]
        if renamed:
            return f"{renamed[0]!r} is not a key any more: {RENAMED_KEYS[renamed[0]]}"
    if error.validator == "uniqueItems":
        seen = []
        twice = next(item for item in error.instance if item in seen or seen.append(item))
        return f"{twice!r} is listed more than once (each entry makes its own cells, so a repeat would count twice)"
    return error.message


def validate_config(config: dict, source: str = "config") -> dict:
    """Schema check (filling defaults in place), then names that must exist elsewhere."""
    import jsonschema

    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    validator = _fill_defaults(jsonschema.Draft202012Validator)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        if error.validator == "anyOf":  # say what is wrong inside the form the value has, not that no form fits
            inside = [e for e in error.context if not (e.validator == "type" and not e.relative_path)]
            error = max(inside or error.context, key=lambda e: len(e.absolute_path))
        raise ConfigError(f"{source}: {_where(error)}: {_message(error)}")
    expand_sweep(config, source)
    check_names(config, source)
    return config


SWEEP_SEPARATOR = "__"


def sweep_method_name(base: str, values: dict) -> str:
    """`base__lambda_x=0.1__lambda_y=1`: a sweep point's grid method name, from which its values can be read back."""
    return SWEEP_SEPARATOR.join([base, *(f"{key}={_format_value(value)}" for key, value in values.items())])


def sweep_point(name: str) -> tuple[str, dict]:
    """(base method, {param: value}) of a name made by sweep_method_name; ({}) for an ordinary method name."""
    base, *pairs = name.split(SWEEP_SEPARATOR)
    values = {}
    for pair in pairs:
        key, _, text = pair.partition("=")
        values[key] = _parse_value(text)
    return base, values


def _format_value(value) -> str:
    return format(value, "g") if isinstance(value, float) else str(value).lower() if isinstance(value, bool) else str(value)


def _parse_value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, text)


# The paper's three weights (lambda_1 keep x, lambda_2 keep y, lambda_3 remove z): a sweep over all three gets a heat map.
SWEEP_LAMBDAS = ("lambda_x", "lambda_y", "lambda_z")


def sweep_blocks(config: dict) -> list[dict]:
    """The config's `sweep:` as a list of {base, params} blocks (one block may be written without the list)."""
    sweep = config.get("sweep") or []
    return [sweep] if isinstance(sweep, dict) else list(sweep)


def expand_sweep(config: dict, source: str = "config") -> None:
    """A `sweep:` block becomes ordinary grid methods, one per point of the product of its value lists, in place.

    `sweep: {base: detachment_local, params: {lambda_x: [0.1, 1], lambda_z: [0.1, 1]}}` defines
    `detachment_local__lambda_x=0.1__lambda_z=0.1` ... under `methods:` (the base's spec with the point's
    values over its params) and appends them to `grid.methods`. A list of blocks sweeps each base in turn (e.g. one
    strength knob per method, for trade-off fronts). Idempotent: a second call changes nothing.
    """
    blocks = sweep_blocks(config)
    for number, sweep in enumerate(blocks):
        base = sweep["base"]
        where = "sweep" if isinstance(config["sweep"], dict) else f"sweep.{number}"
        if base not in config["methods"]:
            raise ConfigError(f"{source}: {where}.base: {base!r} is not defined under methods: (known: {', '.join(config['methods'])})")
        keys = list(sweep["params"])
        for values in product(*(sweep["params"][key] for key in keys)):
            point = dict(zip(keys, values, strict=True))
            name = sweep_method_name(base, point)
            spec = config["methods"][base]
            config["methods"][name] = {**spec, "params": {**spec.get("params", {}), **point}}
            if name not in config["grid"]["methods"]:
                config["grid"]["methods"].append(name)


def sweeps_all_lambdas(config: dict) -> bool:
    """Whether some block of the sweep covers the paper's three weights (then the grid gets its heat map)."""
    return any(set(SWEEP_LAMBDAS) <= set(block["params"]) for block in sweep_blocks(config))


# Dataset, model, method and attribute names become file and folder names under results/<name>/.
PATH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=+-]*$")


def check_path_names(config: dict, source: str = "config") -> None:
    """Every name that becomes a path component matches PATH_NAME: no separator, no leading dot, not empty."""
    named = [(f"{section}.{name}", name) for section in ("datasets", "models", "methods") for name in config[section]]
    for dataset, spec in config["datasets"].items():
        for attribute in spec["attributes"]:
            parts = attribute if isinstance(attribute, list) else [attribute]
            named += [(f"datasets.{dataset}.attributes", part) for part in parts]
    for where, name in named:
        if not PATH_NAME.match(name):
            raise ConfigError(
                f"{source}: {where}: name {name!r} becomes a file name: use letters, digits and _ . = + -, starting with a letter or digit"
            )


def check_names(config: dict, source: str = "config") -> None:
    check_path_names(config, source)
    from attrunlearn_core.attackers import ATTACKERS, list_attackers
    from attrunlearn_core.datasets import list_datasets
    from attrunlearn_core.methods import METHODS, get_method_class, list_methods
    from attrunlearn_core.models import list_models

    grid = config["grid"]
    for axis, section in (("datasets", "datasets"), ("models", "models"), ("methods", "methods")):
        for name in grid[axis]:
            if name not in config[section]:
                raise ConfigError(f"{source}: grid.{axis}: {name!r} is not defined under {section}: (known: {', '.join(config[section])})")
    for name, spec in config["datasets"].items():
        if spec["loader"] not in list_datasets():
            raise ConfigError(f"{source}: datasets.{name}.loader: unknown loader {spec['loader']!r} (known: {', '.join(list_datasets())})")
    for name, spec in config["models"].items():
        if spec["arch"] not in list_models():
            raise ConfigError(f"{source}: models.{name}.arch: unknown torchvision model {spec['arch']!r}")
        if spec.get("kwargs"):
            check_model_kwargs(spec, f"{source}: models.{name}")
        if spec.get("checkpoint") and not Path(spec["checkpoint"]).is_file():
            raise ConfigError(
                f"{source}: models.{name}.checkpoint: no such file {spec['checkpoint']!r} (a relative path is read from the working directory)"
            )
    for attacker in config["attackers"]["names"]:
        if attacker not in ATTACKERS:  # not list_attackers(): that imports every attacker module
            raise ConfigError(f"{source}: attackers.names: unknown attacker {attacker!r} (known: {', '.join(list_attackers())})")
    for name, spec in config["methods"].items():
        if spec["method"] not in METHODS:
            raise ConfigError(f"{source}: methods.{name}.method: unknown method {spec['method']!r} (known: {', '.join(list_methods())})")
        method_class = get_method_class(spec["method"])
        try:
            method_class.resolve_params(spec.get("params", {}))
        except ConfigError as error:
            raise ConfigError(f"{source}: methods.{name}.params: {error}") from None
    for dataset in grid["datasets"]:
        for attribute in attribute_names(config, dataset):
            for method in grid["methods"]:
                method_class = get_method_class(config["methods"][method]["method"])
                if "+" in attribute and not method_class.supports_multi_attribute:
                    raise ConfigError(
                        f"{source}: methods.{method}: {method_class.name} cannot unlearn several attributes at once "
                        f"({attribute!r} in datasets.{dataset}.attributes)"
                    )
    from attrunlearn_core.config_semantics import check_semantics

    check_semantics(config, source)


def check_model_kwargs(spec: dict, where: str) -> None:
    """Build the model on the meta device (no memory, milliseconds), so bad kwargs stop the DAG build."""
    import torch

    from attrunlearn_core.models import build_model_from_spec

    try:
        with torch.device("meta"):
            build_model_from_spec(spec, 2)
    except ConfigError as error:
        raise ConfigError(f"{where}.{error}") from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML keeps the last of two equal keys in a mapping and says nothing; a config that does so is refused."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(f"line {key_node.start_mark.line + 1}: key {key!r} is given twice in one block (YAML would keep only the last)")
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_config_file(path: str | Path) -> dict:
    """The config file's mapping, read strictly: unreadable YAML, a non-mapping or a repeated key is one ConfigError."""
    path = Path(path)
    try:
        config = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read config ({error.__class__.__name__}: {str(error).splitlines()[0]})") from None
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys")
    return config


def load_config(path: str | Path) -> dict:
    from attrunlearn_core.config_base import resolve_base

    return validate_config(resolve_base(read_config_file(path), path), str(path))


def attribute_names(config: dict, dataset: str) -> list[str]:
    return ["+".join(a) if isinstance(a, list) else a for a in config["datasets"][dataset]["attributes"]]


def grid_cells(config: dict) -> list[Cell]:
    grid = config["grid"]
    return [
        Cell(dataset, model, attribute, method, seed)
        for dataset, model, method, seed in product(grid["datasets"], grid["models"], grid["methods"], grid["seeds"])
        for attribute in attribute_names(config, dataset)
    ]


def training_recipe(config: dict, dataset: str) -> dict:
    return {**config["training"], **config["datasets"][dataset].get("training", {})}


def dataset_spec(config: dict, dataset: str) -> dict:
    """A dataset's entry without its `training:` overrides: what preparing the dataset reads."""
    return {key: value for key, value in config["datasets"][dataset].items() if key != "training"}


def cell_run_params(config: dict, cell: Cell) -> dict:
    """The settings a cell's MLflow run records as params (nested; the tracking code flattens them)."""
    from attrunlearn_core.methods import get_method_class

    method_name, params = method_spec(config, cell.method)
    params = get_method_class(method_name).resolve_params(params)  # what ran, defaults included
    return {
        "method": {"name": method_name, **params},
        "dataset": dataset_spec(config, cell.dataset),
        "model": config["models"][cell.model],
        "training": training_recipe(config, cell.dataset),
        "attackers": config["attackers"],
        "data_seed": config["seed"],
    }


def method_spec(config: dict, method: str) -> tuple[str, dict]:
    spec = config["methods"][method]
    return spec["method"], spec.get("params", {})


def results_dir(config: dict) -> str:
    """Where this grid's outputs live, relative to the working directory: one folder per grid `name`."""
    return f"results/{config.get('name', 'default')}"


def experiment_name(config: dict) -> str:
    """The MLflow experiment of this grid: `mlflow.experiment`, by default attrunlearn-<name>."""
    return config.get("mlflow", {}).get("experiment") or f"attrunlearn-{config.get('name', 'default')}"
