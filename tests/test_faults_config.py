"""Config faults: every semantic check at DAG build is one line naming the key, and nothing is written.

Each case asserts the exit (an error or a non-zero exit code), one line naming the file or config key, and that
nothing half-written appears while earlier results stay intact; `pytest -s` prints each line, prefixed `[battery]`.
"""

from __future__ import annotations

import copy

import pytest
from helpers import TINY_CONFIG, one_line, write_config

from attrunlearn_core.config import validate_config
from attrunlearn_core.errors import ConfigError

from workflow import snakemake

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


# ================================================================ config: semantic checks at DAG build


def _tiny() -> dict:
    return copy.deepcopy(TINY_CONFIG)


def _set(path: str, value):
    def change(config):
        *parents, last = path.split(".")
        node = config
        for key in parents:
            node = node[key]
        node[last] = value

    return change


def _add_gradcam(layer: str):
    def change(config):
        config["methods"]["baseline2"] = {"method": "gradcam_retrain", "params": {"target_layer": layer}}
        config["grid"]["methods"].append("baseline2")

    return change


def _cifar_too_big(config):
    config["datasets"]["embedded"] = {
        "loader": "cifar10",
        "root": "cifar",
        "image_size": 32,
        "task": "living",
        "attributes": ["class"],
        "splits": {"train": 50000, "test": 10000, "attacker_train": 5000, "attacker_test": 5000},
    }


CONFIG_CASES = {
    "attribute_is_the_task": (_set("datasets.embedded.attributes", ["shape"]), ["datasets.embedded.attributes", "'shape' is the task"]),
    "joint_attribute_contains_the_task": (
        _set("datasets.embedded.attributes", [["shape", "color"]]),
        ["datasets.embedded.attributes", "'shape+color' contains the task"],
    ),
    "splits_beyond_num_samples": (
        _set("datasets.embedded.options", {"num_samples": 200}),
        ["datasets.embedded.splits", "256 images", "options.num_samples allows only 200"],
    ),
    "splits_beyond_max_samples": (_set("datasets.embedded.max_samples", 100), ["datasets.embedded.splits", "max_samples allows only 100"]),
    "splits_beyond_cifar10": (_cifar_too_big, ["datasets.embedded.splits", "70000 images", "60000"]),
    "unknown_attribute_label": (
        _set("datasets.embedded.attributes", ["colour"]),
        ["datasets.embedded.attributes", "'colour' is not a label of loader embedded"],
    ),
    "unknown_task_label": (_set("datasets.embedded.task", "form"), ["datasets.embedded.task", "'form' is not a label"]),
    "label_twice_in_a_joint_attribute": (
        _set("datasets.embedded.attributes", [["color", "color"]]),
        ["datasets.embedded.attributes", "names a label twice"],
    ),
    "split_after_not_in_the_architecture": (_set("models.resnet18.split_after", "layer9"), ["models.resnet18.split_after", "no module 'layer9'"]),
    "gradcam_target_layer_not_in_the_architecture": (_add_gradcam("layer7"), ["methods.baseline2.params.target_layer", "no module 'layer7'"]),
}


UNSAFE_NAMES = {"dotdot": "..", "slash": "a/b", "leading_dot": ".hidden", "empty": ""}


def _rename(section: str, old: str, new: str):
    """Renames a dataset, model or method everywhere the grid refers to it."""

    def change(config):
        config[section][new] = config[section].pop(old)
        config["grid"][section] = [new if name == old else name for name in config["grid"][section]]

    return change


for _label, _name in UNSAFE_NAMES.items():
    CONFIG_CASES[f"dataset_named_{_label}"] = (_rename("datasets", "embedded", _name), [f"datasets.{_name}", "becomes a file name"])
    CONFIG_CASES[f"model_named_{_label}"] = (_rename("models", "resnet18", _name), [f"models.{_name}", "becomes a file name"])
    CONFIG_CASES[f"method_named_{_label}"] = (_rename("methods", "original", _name), [f"methods.{_name}", "becomes a file name"])
    CONFIG_CASES[f"attribute_named_{_label}"] = (
        _set("datasets.embedded.attributes", [_name]),
        ["datasets.embedded.attributes", f"name {_name!r} becomes a file name"],
    )
CONFIG_CASES["sweep_value_with_a_slash"] = (
    lambda config: config.update(sweep={"base": "original", "params": {"note": ["a/b"]}}),
    ["methods.original__note=a/b", "becomes a file name"],
)
CONFIG_CASES["seed_twice"] = (_set("grid.seeds", [0, 0]), ["grid.seeds", "0 is listed more than once"])
CONFIG_CASES["dataset_twice"] = (_set("grid.datasets", ["embedded", "embedded"]), ["grid.datasets", "'embedded' is listed more than once"])
CONFIG_CASES["model_twice"] = (_set("grid.models", ["resnet18", "resnet18"]), ["grid.models", "'resnet18' is listed more than once"])
CONFIG_CASES["method_twice"] = (_set("grid.methods", ["original", "original"]), ["grid.methods", "'original' is listed more than once"])
CONFIG_CASES["attribute_twice"] = (
    _set("datasets.embedded.attributes", ["color", "color"]),
    ["datasets.embedded.attributes", "'color' is listed more than once"],
)


@pytest.mark.parametrize("case", CONFIG_CASES, ids=list(CONFIG_CASES))
def test_config_fault_is_one_line_naming_the_key(case):
    change, fragments = CONFIG_CASES[case]
    config = _tiny()
    change(config)
    with pytest.raises(ConfigError) as error:
        validate_config(config, "tiny.yaml")
    one_line(f"attrunlearn: {error.value}", "tiny.yaml: ", *fragments)


def test_config_fault_stops_the_dag_build_with_exit_1_and_writes_nothing(tmp_path):
    config = _tiny()
    config["datasets"]["embedded"]["attributes"] = ["shape"]
    result = snakemake(tmp_path, write_config(config, tmp_path / "bad.yaml"), "--cores", "1")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("attrunlearn:")]
    assert len(errors) == 1
    one_line(errors[0], "datasets.embedded.attributes", "is the task")
    assert not (tmp_path / "results").exists()
