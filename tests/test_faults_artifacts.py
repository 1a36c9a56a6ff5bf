"""Checkpoint, cache and feature-file faults: truncated, empty, foreign or wrong-kind files named in one line.

Each case asserts the exit (an error or a non-zero exit code), one line naming the file or config key, and that
nothing half-written appears while earlier results stay intact; `pytest -s` prints each line, prefixed `[battery]`.
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest
import torch
from helpers import TINY_CONFIG, one_line, tiny_embedded_prepared

from attrunlearn_core.artifacts import load_artifact
from attrunlearn_core.atomic import load_torch, save_torch
from attrunlearn_core.checkpoints import load_checkpoint, save_checkpoint
from attrunlearn_core.config import Cell, training_recipe, validate_config
from attrunlearn_core.datasets.prepared import PreparedDataset
from attrunlearn_core.errors import AttrUnlearnError
from attrunlearn_core.jobs.train_baseline import train_baseline
from attrunlearn_core.jobs.unlearn import apply_method
from attrunlearn_core.models import build_split_model
from attrunlearn_core.training import TrainingRecipe, fit_classifier

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


# ================================================================ checkpoints, caches and feature files


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "baseline.pt"
    identity = {"dataset": "embedded", "model": {"arch": "resnet18", "split_after": "layer2"}, "seed": 0}
    save_checkpoint(path, build_split_model("resnet18", 4, "layer2"), config=identity)
    return path


def test_truncated_checkpoint(checkpoint, tmp_path):
    broken = tmp_path / "baseline.pt"
    broken.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    with pytest.raises(AttrUnlearnError) as error:
        load_checkpoint(broken)
    one_line(str(error.value), str(broken), "checkpoint is truncated or corrupt")


def test_zero_byte_checkpoint(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"")
    with pytest.raises(AttrUnlearnError) as error:
        load_checkpoint(tmp_path / "model.pt")
    one_line(str(error.value), "model.pt", "empty (0 bytes)")


def test_text_file_as_checkpoint(tmp_path):
    (tmp_path / "model.pt").write_text("<html>404 Not Found</html>\n")
    with pytest.raises(AttrUnlearnError) as error:
        load_checkpoint(tmp_path / "model.pt")
    one_line(str(error.value), "model.pt", "not a PyTorch file")


def test_prepared_cache_given_as_checkpoint(tmp_path):
    tiny_embedded_prepared(0).save(tmp_path / "embedded.pt")
    with pytest.raises(AttrUnlearnError) as error:
        load_checkpoint(tmp_path / "embedded.pt")
    one_line(str(error.value), "embedded.pt", "not a checkpoint (no model, config")


def test_checkpoint_given_as_prepared_cache(checkpoint):
    with pytest.raises(AttrUnlearnError) as error:
        PreparedDataset.load(checkpoint)
    one_line(str(error.value), str(checkpoint), "not a prepared dataset")


def test_checkpoint_of_another_architecture(checkpoint, tmp_path):
    foreign = tmp_path / "baseline.pt"
    save_checkpoint(
        foreign,
        load_checkpoint(checkpoint)["model"],
        config={"dataset": "embedded", "model": {"arch": "resnet34", "split_after": "layer2"}, "seed": 0},
    )
    tiny_embedded_prepared(0).save(tmp_path / "embedded.pt")
    config = validate_config(copy.deepcopy(TINY_CONFIG))
    cell = Cell("embedded", "resnet18", "color", "original", 0)
    out = tmp_path / "cell"
    with pytest.raises(AttrUnlearnError) as error:
        apply_method(
            cell,
            tmp_path / "embedded.pt",
            foreign,
            out / "model.pt",
            out / "method.json",
            method=config["methods"]["original"],
            task="shape",
            recipe=training_recipe(config, "embedded"),
            model_spec=config["models"]["resnet18"],
            device="cpu",
        )
    one_line(str(error.value), str(foreign), "written for model", "resnet34", "resnet18")
    assert not out.exists()


def test_checkpoint_pickled_by_other_code(tmp_path, monkeypatch):
    (tmp_path / "gone_module.py").write_text("class Gone:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import gone_module

    torch.save({"model": gone_module.Gone(), "config": {}}, tmp_path / "old.pt")
    del sys.modules["gone_module"]
    (tmp_path / "gone_module.py").unlink()
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
    with pytest.raises(AttrUnlearnError) as error:
        load_checkpoint(tmp_path / "old.pt")
    one_line(str(error.value), "old.pt", "written by other code", "gone_module")


def test_truncated_feature_file(tmp_path):
    save_torch({"attacker_train": {"split": torch.zeros(8, 4)}}, tmp_path / "features.pt")
    data = (tmp_path / "features.pt").read_bytes()
    (tmp_path / "features.pt").write_bytes(data[: len(data) - 200])
    with pytest.raises(AttrUnlearnError) as error:
        load_torch(tmp_path / "features.pt")
    one_line(str(error.value), "features.pt", "truncated or corrupt")


def test_corrupt_resume_state_restarts_training_instead_of_failing(tmp_path, caplog):
    prepared = tiny_embedded_prepared(0)
    resume = tmp_path / "baseline.pt.inprogress"
    resume.write_bytes(b"PK\x03\x04 cut short")
    with caplog.at_level("WARNING", logger="attrunlearn_core.training"):
        fit_classifier(
            build_split_model("resnet18", 4, "layer2"),
            prepared.split_images("train"),
            prepared.split_labels("train", "shape"),
            TrainingRecipe(epochs=1, batch_size=32),
            torch.Generator().manual_seed(0),
            torch.device("cpu"),
            resume,
            {"k": 1},
        )
    warning = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    one_line(warning[0], str(resume), "truncated or corrupt", "training starts at epoch 1")
    assert load_artifact(resume, "resume state")["epoch"] == 1


class Killed(Exception):
    pass


def test_a_killed_baselines_epochs_resume_on_the_same_data_only(tmp_path, caplog, monkeypatch):
    """Killed after epoch 1, then run again: on the same prepared bytes it resumes at epoch 1; on a prepared file rebuilt at
    the same path (the grid's splits changed in between) it starts over."""
    import attrunlearn_core.training as training

    config = validate_config(copy.deepcopy(TINY_CONFIG))
    config["training"]["epochs"] = 2
    prepared_path, output = tmp_path / "embedded.pt", tmp_path / "models" / "baseline.pt"
    settings = dict(task="shape", model_spec=config["models"]["resnet18"], recipe=training_recipe(config, "embedded"), device="cpu")
    tiny_embedded_prepared(0).save(prepared_path)
    one_epoch, calls = training.train_one_epoch, []

    def killed_in_epoch_2(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise Killed
        return one_epoch(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(training, "train_one_epoch", killed_in_epoch_2)
        with pytest.raises(Killed):
            train_baseline("embedded", "resnet18", 0, prepared_path, output, **settings)
    resume = Path(str(output) + ".inprogress")
    left_behind = resume.read_bytes()

    def rerun() -> list[str]:
        caplog.clear()
        output.unlink(missing_ok=True)
        resume.write_bytes(left_behind)
        with caplog.at_level("INFO", logger="attrunlearn_core.training"):
            train_baseline("embedded", "resnet18", 0, prepared_path, output, **settings)
        return [r.getMessage() for r in caplog.records if r.name == "attrunlearn_core.training"]

    same = rerun()
    assert any("resuming" in line and "epoch 1" in line for line in same) and sum(" loss " in line for line in same) == 1
    tiny_embedded_prepared(1).save(prepared_path)
    rebuilt = rerun()
    assert not any("resuming" in line for line in rebuilt) and sum(" loss " in line for line in rebuilt) == 2
    print(f"[battery] rerun after a kill in epoch 2: same data -> {same[0]!r}; rebuilt data -> trains epochs 1-2 afresh")
