import copy

import pytest
import yaml
from helpers import REPO, TINY_CONFIG

from attrunlearn_core.config import Cell, attribute_names, cell_run_params, grid_cells, load_config, validate_config
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.methods import get_method_class

SHIPPED = [REPO / "config.yaml", *sorted((REPO / "configs").glob("*.yaml"))]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    config = load_config(path)
    assert grid_cells(config)


def _error(mutate) -> str:
    config = copy.deepcopy(TINY_CONFIG)
    mutate(config)
    with pytest.raises(ConfigError) as error:
        validate_config(config, "my.yaml")
    message = str(error.value)
    assert "\n" not in message
    return message


def test_unknown_key_is_named():
    message = _error(lambda c: c["training"].update(epochz=3))
    assert "my.yaml" in message and "training" in message and "epochz" in message


def test_wrong_type_is_named():
    assert "datasets.embedded.image_size" in _error(lambda c: c["datasets"]["embedded"].update(image_size="big"))


@pytest.mark.parametrize("axis,section", [("datasets", "datasets"), ("models", "models"), ("methods", "methods")])
def test_grid_names_must_be_defined(axis, section):
    message = _error(lambda c: c["grid"][axis].append("nope"))
    assert f"grid.{axis}" in message and "'nope'" in message


def test_unknown_loader_model_attacker_and_method_are_named():
    assert "datasets.embedded.loader" in _error(lambda c: c["datasets"]["embedded"].update(loader="mnist"))
    assert "models.resnet18.arch" in _error(lambda c: c["models"]["resnet18"].update(arch="resnet19"))
    assert "attackers.names" in _error(lambda c: c["attackers"]["names"].append("oracle"))
    assert "methods.original.method" in _error(lambda c: c["methods"]["original"].update(method="magic"))
    assert "methods.original.params" in _error(lambda c: c["methods"]["original"].update(params={"lr": 1}))


def test_defaults_are_filled_and_composite_attributes_join_with_plus():
    config = validate_config(copy.deepcopy(TINY_CONFIG))
    assert config["models"]["resnet18"]["split_after"] == "layer2"
    assert config["mlflow"]["tracking_uri"].startswith("sqlite:///")
    assert attribute_names(config, "embedded") == ["color", "color+background"]
    assert len(grid_cells(config)) == 2


def test_unreadable_config_is_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("seed: [unclosed\n")
    with pytest.raises(ConfigError, match="bad.yaml"):
        load_config(path)
    path.write_text(yaml.safe_dump(["a", "list"]))
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)


def test_a_cells_recorded_params_are_what_ran_defaults_included():
    config = validate_config(copy.deepcopy(TINY_CONFIG), "config.yaml")
    config["methods"]["adversarial"] = {"method": "adversarial", "params": {"epochs": 2}}
    recorded = cell_run_params(config, Cell("embedded", "resnet18", "color", "adversarial", 0))["method"]
    defaults = get_method_class("adversarial").DEFAULTS
    assert recorded == {"name": "adversarial", **defaults, "epochs": 2}  # the config's value over every default


STUDY_CONFIGS = (
    "configs/levers.yaml",
    "configs/adversarial.yaml",
    "configs/sweep.yaml",
    "configs/hsic.yaml",
    "configs/fronts.yaml",
)  # where defaults are chosen
REPORTING_CONFIGS = (
    "config.yaml",
    "configs/shared-data.yaml",
    "configs/paper.yaml",
    "configs/learning_curve.yaml",
    "configs/independence.yaml",
)  # what the README reports


def test_study_grids_tune_on_another_draw_of_the_data_than_the_reporting_grids():
    def data_seed(path):
        return load_config(REPO / path)["seed"]  # a study overlay may inherit it from its base

    study, reporting = {data_seed(path) for path in STUDY_CONFIGS}, {data_seed(path) for path in REPORTING_CONFIGS}
    assert not study & reporting
    shipped = {str(path.relative_to(REPO)) for path in (REPO / "configs").glob("*.yaml")} | {"config.yaml"}
    assert shipped == set(STUDY_CONFIGS) | set(REPORTING_CONFIGS)  # a new shipped config is one or the other
