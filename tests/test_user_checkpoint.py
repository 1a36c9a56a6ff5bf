"""Bring your own model: a user's state dict becomes baseline-1 (checked, never unpickled), end to end through Snakemake."""

import pyarrow.parquet as pq
import pytest
import torch
from helpers import write_config

from attrunlearn_core.checkpoints import load_model, load_state_dict_file
from attrunlearn_core.config import validate_config
from attrunlearn_core.errors import AttrUnlearnError, ConfigError
from attrunlearn_core.models import build_model
from attrunlearn_core.user_checkpoint import load_user_weights

from workflow import snakemake

SHAPES = 4  # the embedded data's task classes


def user_model(classes: int = SHAPES, arch: str = "resnet18", seed: int = 7) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(arch, classes).eval()


def test_a_state_dict_loads_and_common_wrappings_are_accepted(tmp_path):
    state = user_model().state_dict()
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "wrapped.pt")
    loaded = load_state_dict_file(tmp_path / "wrapped.pt")
    assert loaded.keys() == state.keys() and all(torch.equal(loaded[k], state[k]) for k in state)


def test_a_pickled_model_is_refused_with_how_to_export_a_state_dict(tmp_path):
    torch.save(user_model(), tmp_path / "whole_model.pt")
    with pytest.raises(AttrUnlearnError) as excinfo:
        load_state_dict_file(tmp_path / "whole_model.pt")
    message = str(excinfo.value)
    assert "whole_model.pt" in message and "torch.save(model.state_dict(), path)" in message and "\n" not in message


def test_a_file_that_is_not_a_state_dict_is_refused(tmp_path):
    (tmp_path / "notes.pt").write_text("not a tensor file")
    torch.save([torch.zeros(2)], tmp_path / "list.pt")
    for name in ("notes.pt", "list.pt"):
        with pytest.raises(AttrUnlearnError, match=name) as excinfo:
            load_state_dict_file(tmp_path / name)
        assert "\n" not in str(excinfo.value)


def test_wrong_number_of_task_classes_or_another_architecture_is_refused(tmp_path):
    with pytest.raises(AttrUnlearnError, match=r"user\.pt: trained for 10 classes .*task 'shape' has 4"):
        load_user_weights(build_model("resnet18", SHAPES), user_model(10).state_dict(), "user.pt", "resnet18", "shape")
    with pytest.raises(AttrUnlearnError, match=r"user\.pt: not a resnet18 state dict: unexpected layer1\.2"):
        load_user_weights(build_model("resnet18", SHAPES), user_model(arch="resnet34").state_dict(), "user.pt", "resnet18", "shape")
    with pytest.raises(AttrUnlearnError, match=r"user\.pt: not a resnet18 .*conv1\.weight is \(64, 3, 3, 3\)"):
        state = user_model().state_dict()
        state["layer1.0.conv1.weight"] = torch.zeros(64, 3, 3, 3)
        load_user_weights(build_model("resnet18", SHAPES), state, "user.pt", "resnet18", "shape")


def test_a_missing_checkpoint_stops_the_config_with_one_line(tiny_config, tmp_path):
    tiny_config["models"]["resnet18"]["checkpoint"] = str(tmp_path / "absent.pt")
    with pytest.raises(ConfigError, match=r"models\.resnet18\.checkpoint: no such file .*absent\.pt"):
        validate_config(tiny_config)


@pytest.fixture(scope="module")
def user_grid(tmp_path_factory):
    import copy

    from helpers import TINY_CONFIG

    workdir = tmp_path_factory.mktemp("user_checkpoint")
    model = user_model()
    torch.save(model.state_dict(), workdir / "my_resnet18.pt")
    config = copy.deepcopy(TINY_CONFIG)
    config["models"]["resnet18"]["checkpoint"] = str(workdir / "my_resnet18.pt")
    config["datasets"]["embedded"]["attributes"] = ["color"]  # one cell is enough to see the grid start from it
    config["attackers"].update(names=["linear"], sites=["split"])
    result = snakemake(workdir, write_config(config, workdir / "tiny.yaml"), "--cores", "2")
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir, model, result.stdout + result.stderr


def test_the_tiny_grid_starts_from_the_users_checkpoint_instead_of_training(user_grid):
    workdir, model, output = user_grid
    assert "import_baseline" in output and "rule train_baseline" not in output
    baseline = load_model(workdir / "results/default/models/embedded/resnet18/seed0/baseline.pt").eval()
    x = torch.randn(5, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(baseline(x), model(x))  # the user's weights, untouched by any training step
    cells = pq.read_table(workdir / "results/default/tables/cells.parquet").to_pylist()
    assert {row["attribute"] for row in cells} == {"color"}
    assert all(0.0 <= row["fidelity"] <= 1.0 for row in cells)


def test_a_checkpoint_for_another_task_stops_the_grid_with_one_line_and_no_baseline(tmp_path, tiny_config):
    torch.save(user_model(10).state_dict(), tmp_path / "cifar_resnet18.pt")
    tiny_config["models"]["resnet18"]["checkpoint"] = str(tmp_path / "cifar_resnet18.pt")
    result = snakemake(tmp_path, write_config(tiny_config, tmp_path / "tiny.yaml"), "--cores", "1")
    assert result.returncode != 0
    log = (tmp_path / "results/default/logs/import_baseline/embedded/resnet18/seed0.log").read_text().strip().splitlines()
    assert len(log) == 1 and "cifar_resnet18.pt: trained for 10 classes" in log[0] and "Traceback" not in log[0]
    assert not (tmp_path / "results/default/models/embedded/resnet18/seed0/baseline.pt").exists()
