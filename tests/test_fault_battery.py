"""Bad inputs and faults thrown at the suite (issue 11). Each case asserts the exit (an error or a non-zero exit code),
one line naming the file or config key, and that nothing half-written appears while earlier results stay intact.

Unit-level where the code path is a library function; Snakemake runs only on the tiny grid, shared by module-scoped
fixtures: one uninterrupted run with many cores, and one run killed with SIGKILL mid-training and run again.
Each case prints its line (`pytest -s` shows them, prefixed `[battery]`).
"""

from __future__ import annotations

import contextlib
import copy
import csv
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from helpers import REPO, TINY_CONFIG, tiny_embedded_prepared, write_config
from mlflow.tracking import MlflowClient
from test_dataset_loaders import CELEBA_ATTRIBUTES, make_tar, write_cifar_batches, write_cifar_folders, write_image

from attrunlearn_core.artifacts import load_artifact
from attrunlearn_core.atomic import load_torch, save_json, save_torch
from attrunlearn_core.checkpoints import load_checkpoint, save_checkpoint
from attrunlearn_core.config import Cell, training_recipe, validate_config
from attrunlearn_core.datasets.prepared import PreparedDataset
from attrunlearn_core.errors import AttrUnlearnError, ConfigError, DivergenceError
from attrunlearn_core.methods import UnlearningContext, get_method_class
from attrunlearn_core.models import build_split_model
from attrunlearn_core.pipeline.apply_method import apply_method
from attrunlearn_core.pipeline.prepare_dataset import prepare_dataset
from attrunlearn_core.pipeline.train_baseline import train_baseline
from attrunlearn_core.stale_lock import clear_stale_lock, reads_only
from attrunlearn_core.tracking_store import check_tracking_store
from attrunlearn_core.training import TrainingRecipe, fit_classifier, pick_device

from workflow import snakemake

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


def one_line(message: str, *fragments: str) -> str:
    """The message is exactly one line and names every fragment; printed for the battery's record."""
    lines = message.strip().splitlines()
    assert len(lines) == 1, message
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    print(f"\n[battery] {lines[0]}")
    return lines[0]


def nothing_half_written(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name.endswith(".inprogress")], list(folder.rglob("*"))


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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


# ================================================================ data: every real format, prepared through prepare_dataset


def _prepare(tmp_path: Path, spec: dict) -> tuple[Path, str]:
    config = {"seed": 0, "datasets": {"d": {"image_size": 8, "options": {}, "max_samples": None, **spec}}}
    output = tmp_path / "results" / "default" / "prepared" / "d.pt"
    with pytest.raises(AttrUnlearnError) as error:
        prepare_dataset("d", config["datasets"]["d"], config["seed"], output)
    assert not output.exists()
    nothing_half_written(tmp_path / "results") if (tmp_path / "results").exists() else None
    return output, str(error.value)


def _splits(total: int) -> dict:
    quarter = total // 4
    return {"train": total - 3 * quarter, "test": quarter, "attacker_train": quarter, "attacker_test": quarter}


def test_cifar10_jpeg_folder_missing_a_train_class(tmp_path):
    root = write_cifar_folders(tmp_path / "cifar", {"train": 3, "test": 2}, ".jpg")
    shutil.rmtree(root / "train" / "cat")
    _, message = _prepare(tmp_path, {"loader": "cifar10", "root": str(root), "task": "living", "attributes": ["class"], "splits": _splits(47)})
    one_line(message, str(root), "partition 'train'", "class 'cat'", "label 'class'")


def test_cifar10_jpeg_tarball_missing_a_test_class(tmp_path):
    root = write_cifar_folders(tmp_path / "tree", {"train": 3, "test": 2}, ".jpg")
    shutil.rmtree(root / "test" / "ship")
    archive = make_tar(root, tmp_path / "cifar.tar.gz", "cifar10-jpeg")
    _, message = _prepare(tmp_path, {"loader": "cifar10", "root": str(archive), "task": "living", "attributes": ["class"], "splits": _splits(48)})
    one_line(message, "cifar.tar.gz", "partition 'test'", "class 'ship'")


def test_cifar10_pickled_test_batch_lacking_classes(tmp_path):
    write_cifar_batches(tmp_path / "cifar" / "cifar-10-batches-py", per_batch=3)  # test_batch holds 3 of the 10 classes, all living
    _, message = _prepare(
        tmp_path, {"loader": "cifar10", "root": str(tmp_path / "cifar"), "task": "living", "attributes": ["class"], "splits": _splits(18)}
    )
    one_line(message, str(tmp_path / "cifar"), "partition 'test'", "class 'non-living' of label 'living'")  # the task is checked first


def _utkface(root: Path, races: range, copies: int = 2) -> Path:
    for race in races:
        for gender in (0, 1):
            for k in range(copies):
                write_image(root / f"{20 + 20 * k}_{gender}_{race}_2017011617452{race}{gender}{k}.jpg.chip.jpg", (40 * race, 100 * gender, 0))
    return root


def test_utkface_without_one_race(tmp_path):
    root = _utkface(tmp_path / "UTKFace", range(4))  # race 4 ('Others') absent
    _, message = _prepare(tmp_path, {"loader": "utkface", "root": str(root), "task": "gender", "attributes": ["race"], "splits": _splits(16)})
    one_line(message, str(root), "the dataset has no image of class", "label 'race'")


def test_utkface_splits_larger_than_the_folder(tmp_path):
    root = _utkface(tmp_path / "UTKFace", range(5))
    _, message = _prepare(tmp_path, {"loader": "utkface", "root": str(root), "task": "gender", "attributes": ["race"], "splits": _splits(40)})
    one_line(message, "datasets.d.splits", "ask for 40 images", "has only 20")


def test_celeba_attribute_constant_in_the_test_partition(tmp_path):
    partitions = [0, 0, 0, 0, 1, 2]
    male = [1, -1, 1, -1, -1, -1]  # no male face outside the train partition
    smiling = [1, -1, -1, 1, 1, -1]
    lines = [str(len(partitions)), " ".join(CELEBA_ATTRIBUTES) + " "]
    for i in range(len(partitions)):
        values = {name: -1 for name in CELEBA_ATTRIBUTES} | {"Male": male[i], "Smiling": smiling[i]}
        write_image(tmp_path / "img_align_celeba" / f"{i + 1:06d}.jpg", (40 * i, 0, 0), size=(18, 22))
        lines.append(f"{i + 1:06d}.jpg " + " ".join(f"{values[name]:2d}" for name in CELEBA_ATTRIBUTES))
    (tmp_path / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "list_eval_partition.txt").write_text("".join(f"{i + 1:06d}.jpg {p}\n" for i, p in enumerate(partitions)))
    _, message = _prepare(tmp_path, {"loader": "celeba", "root": str(tmp_path), "task": "Smiling", "attributes": ["Male"], "splits": _splits(6)})
    one_line(message, "partition 'test'", "class 'Male'", "label 'Male'")


def test_fairface_val_csv_without_one_race(tmp_path):
    from attrunlearn_core.datasets.fairface import RACES

    for partition, races in {"train": RACES, "val": [r for r in RACES if r != "Indian"]}.items():
        with (tmp_path / f"fairface_label_{partition}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "age", "gender", "race", "service_test"])
            for k, race in enumerate(races):
                writer.writerow([f"{partition}/{k}.jpg", "20-29", ["Male", "Female"][k % 2], race, "True"])
                write_image(tmp_path / partition / f"{k}.jpg", (30 * k, 0, 0), size=(16, 16))
    _, message = _prepare(tmp_path, {"loader": "fairface", "root": str(tmp_path), "task": "gender", "attributes": ["race"], "splits": _splits(13)})
    one_line(message, str(tmp_path), "partition 'test'", "class 'Indian'", "label 'race'")


def test_a_complete_dataset_logs_counts_per_class_and_partition(tmp_path, caplog):
    root = write_cifar_folders(tmp_path / "cifar", {"train": 2, "test": 1}, ".jpg")
    output = tmp_path / "d.pt"
    config = {
        "seed": 0,
        "datasets": {
            "d": {
                "loader": "cifar10",
                "root": str(root),
                "image_size": 8,
                "task": "living",
                "attributes": ["class"],
                "splits": _splits(30),
                "options": {},
                "max_samples": None,
            }
        },
    }
    with caplog.at_level("INFO", logger="attrunlearn_core.pipeline.prepare_dataset"):
        prepare_dataset("d", config["datasets"]["d"], config["seed"], output)
    assert output.exists()
    assert "listed images, label class, partition train: airplane 2, automobile 2, bird 2" in caplog.text
    assert "drawn images, label living, partition test: non-living 4, living 6" in caplog.text


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
    config = validate_config(_tiny())
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

    config = validate_config(_tiny())
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


# ================================================================ divergence: every training loop stops on a non-finite loss


def _context(prepared, lr: float = 1e-3) -> UnlearningContext:
    generator = torch.Generator().manual_seed(0)
    return UnlearningContext(
        prepared=prepared,
        task="shape",
        attribute="color",
        recipe=TrainingRecipe(epochs=1, batch_size=32, lr=lr),
        device=torch.device("cpu"),
        generator=generator,
        seed=0,
    )


def test_baseline_diverging_writes_nothing(tmp_path):
    prepared_path = tmp_path / "embedded.pt"
    tiny_embedded_prepared(0).save(prepared_path)
    config = validate_config(_tiny())
    config["training"]["lr"] = 1e6
    config["training"]["epochs"] = 3
    output = tmp_path / "models" / "baseline.pt"
    with pytest.raises(DivergenceError) as error:
        train_baseline(
            "embedded",
            "resnet18",
            0,
            prepared_path,
            output,
            task="shape",
            model_spec=config["models"]["resnet18"],
            recipe=training_recipe(config, "embedded"),
            device="cpu",
        )
    one_line(str(error.value), "training diverged", "epoch", "step", "lower the learning rate")
    assert not output.exists() and not Path(str(output) + ".inprogress").exists()
    nothing_half_written(tmp_path)


@pytest.mark.parametrize(
    "method, params, where",
    [
        ("adversarial", {"lr": 1e30, "epochs": 2}, "adversarial epoch"),
        ("leace", {"lr": 1e30, "classifier_epochs": 3}, "leace classifier refit epoch"),
        (
            "instance_unlearning",
            {"lr": 1e12, "max_steps": 30, "forget_set": "random", "forget_size": 16, "target_forget_accuracy": 0.0},
            "instance_unlearning step",
        ),
        ("detachment", {"lr": 1e30, "epochs": 2, "mode": "end_to_end"}, "detachment"),
    ],
    ids=["adversarial", "leace", "instance_unlearning", "detachment"],
)
def test_method_diverging_stops_with_the_step(method, params, where):
    prepared = tiny_embedded_prepared(0)
    model = build_split_model("resnet18", 4, "layer2")
    method_object = get_method_class(method)(params)
    with pytest.raises(DivergenceError) as error:
        method_object.unlearn(model, _context(prepared))
    one_line(str(error.value), "training diverged", where)


def test_recovery_decoder_diverging():
    from attrunlearn_core.pipeline.image_recovery import RecoveryRecipe, fit_recovery_decoder

    h = torch.randn(64, 8, 4, 4)
    images = torch.randint(0, 256, (64, 3, 16, 16), dtype=torch.uint8)
    recipe = RecoveryRecipe(**{**{"epochs": 3, "batch_size": 16}, "lr": 1e9})
    with pytest.raises(DivergenceError) as error:
        fit_recovery_decoder(h, images, recipe, torch.Generator().manual_seed(0), torch.device("cpu"))
    one_line(str(error.value), "training diverged", "recovery decoder epoch")


# ================================================================ the workflow: many cores, divergence, concurrency, kill -9 and rerun

GRID = {**copy.deepcopy(TINY_CONFIG), "training": {"epochs": 2, "batch_size": 32, "lr": 0.001}}
GRID["datasets"]["embedded"]["attributes"] = ["color"]
GRID["attackers"] = {**GRID["attackers"], "names": ["linear"], "sites": ["split"]}
GRID["mlflow"] = {"experiment": "battery"}


def make_run_command(workdir: Path, configfile: Path) -> list[str]:
    """The design's plain `snakemake --cores ...` (what `make run` runs), against another working directory and config."""
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(configfile)] + [
        "--cores",
        "8",
    ]


def _run(workdir: Path, configfile: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(make_run_command(workdir, configfile), capture_output=True, text=True, env=env, timeout=600, **kwargs)


def comparable_tables(workdir: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for path in sorted((workdir / "results" / "default" / "tables").glob("*.parquet")):  # every table the grid writes
        name, frame = path.stem, pd.read_parquet(path)
        frame = frame[[c for c in frame.columns if "seconds" not in c]]
        if "name" in frame.columns:
            frame = frame[~frame["name"].str.contains("seconds")]
        tables[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return tables


def mlflow_runs(workdir: Path):
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir}/results/mlflow.db")
    return client.search_runs([client.get_experiment_by_name("battery").experiment_id], filter_string="tags.kind = 'cell'")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """The tiny grid with --cores 8 on this machine: more jobs than cores, aggregate the only MLflow writer."""
    workdir = tmp_path_factory.mktemp("uninterrupted")
    result = _run(workdir, write_config(GRID, workdir / "grid.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def _killed_in_training(tmp_path_factory, whole_group: bool) -> dict:
    """The grid under plain snakemake, killed with SIGKILL in the middle of training (the snakemake process alone, or
    its whole process group), then the same command again."""
    workdir = tmp_path_factory.mktemp("killed_group" if whole_group else "killed_snakemake")
    configfile = write_config(GRID, workdir / "grid.yaml")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    first = subprocess.Popen(
        make_run_command(workdir, configfile), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
    )
    epoch_saved = workdir / "results/default/models/embedded/resnet18/seed0/baseline.pt.inprogress"
    deadline = time.monotonic() + 300
    while not epoch_saved.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert first.poll() is None, "the run ended before it could be killed"
    if whole_group:
        os.killpg(first.pid, signal.SIGKILL)
    else:
        os.kill(first.pid, signal.SIGKILL)
    first.wait()
    state = {
        "locks": sorted(p.name for p in (workdir / ".snakemake/locks").glob("*.lock")),
        "had_baseline": (workdir / "results/default/models/embedded/resnet18/seed0/baseline.pt").exists(),
    }
    state["rerun"] = _run(workdir, configfile)
    state["workdir"] = workdir
    if not whole_group:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(first.pid, signal.SIGKILL)  # the killed run's orphaned job, if it still trains
    return state


@pytest.fixture(scope="module")
def killed(tmp_path_factory) -> dict:
    return _killed_in_training(tmp_path_factory, whole_group=True)


@pytest.fixture(scope="module")
def killed_snakemake_only(tmp_path_factory) -> dict:
    return _killed_in_training(tmp_path_factory, whole_group=False)


def test_many_cores_against_mlflow_one_run_per_cell(uninterrupted):
    runs = mlflow_runs(uninterrupted)
    assert len(runs) == 1 and runs[0].data.tags["method"] == "original"
    nothing_half_written(uninterrupted / "results")


def test_concurrent_run_is_refused_with_one_line(tmp_path):
    """A second run while a live snakemake holds the directory's lock (here a stand-in process named snakemake)."""
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("held")
    stand_in = tmp_path / "snakemake"
    stand_in.write_text("import time\ntime.sleep(300)\n")
    live = subprocess.Popen([sys.executable, str(stand_in)], cwd=tmp_path)
    try:
        result = _run(tmp_path, write_config(GRID, tmp_path / "grid.yaml"))
        dry_run = snakemake(tmp_path, tmp_path / "grid.yaml", "-n")  # takes no lock, so it may look while a grid runs
    finally:
        live.kill()
        live.wait()
    assert dry_run.returncode == 0, dry_run.stderr[-2000:]
    assert "another snakemake run" not in dry_run.stderr and (locks / "0.input.lock").exists()
    assert result.returncode == 1
    assert (locks / "0.input.lock").exists() and not (tmp_path / "results").exists()
    errors = [line for line in result.stderr.splitlines() if "Error" in line or line.startswith("attrunlearn:")]
    assert len(errors) == 1, result.stderr
    one_line(errors[0], "attrunlearn: ", ".snakemake/locks", "another snakemake run (pid", "wait for it to finish")


@pytest.mark.parametrize("kill", ["killed", "killed_snakemake_only"])
def test_kill_9_then_the_same_plain_snakemake_command_completes(kill, request):
    killed = request.getfixturevalue(kill)
    assert killed["locks"], "the killed run left no lock: the stale-lock case was not exercised"
    assert not killed["had_baseline"], "killed after training finished: the incomplete-job case was not exercised"
    rerun = killed["rerun"]
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    notice = [line for line in rerun.stderr.splitlines() if line.startswith("attrunlearn:")]
    one_line("\n".join(notice), "removed the stale lock of a killed run", "resuming")
    if kill == "killed":  # with the snakemake process alone killed, its orphaned job may finish first: then it is rerun whole
        assert "resuming" in (killed["workdir"] / "results/default/logs/train_baseline/embedded/resnet18/seed0.log").read_text()
    nothing_half_written(killed["workdir"] / "results")


@pytest.mark.parametrize("kill", ["killed", "killed_snakemake_only"])
def test_kill_9_and_rerun_gives_the_uninterrupted_tables(kill, request, uninterrupted):
    killed = request.getfixturevalue(kill)
    resumed, reference = comparable_tables(killed["workdir"]), comparable_tables(uninterrupted)
    assert {"cells", "attacks"} <= set(reference) and set(resumed) == set(reference)
    for name in reference:
        pd.testing.assert_frame_equal(resumed[name], reference[name])
    assert len(mlflow_runs(killed["workdir"])) == len(mlflow_runs(uninterrupted)) == 1


def test_stale_lock_alone_is_removed_and_a_live_one_kept(tmp_path):
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("x")
    assert clear_stale_lock(tmp_path) and not list(locks.glob("*.lock"))
    assert not clear_stale_lock(tmp_path)  # nothing to do


def test_divergence_in_the_workflow_leaves_earlier_tables_and_mlflow_intact(uninterrupted, tmp_path):
    workdir = tmp_path / "diverging"
    shutil.copytree(uninterrupted, workdir, ignore=shutil.ignore_patterns("grid.yaml"))
    earlier = {name: digest(workdir / "results" / name) for name in ("default/tables/cells.parquet", "default/tables/attacks.parquet", "mlflow.db")}
    runs_before = {r.info.run_id for r in mlflow_runs(workdir)}
    config = copy.deepcopy(GRID)
    config["training"]["lr"] = 1000000.0
    result = _run(workdir, write_config(config, tmp_path / "diverging.yaml"))
    assert result.returncode == 1
    log = (workdir / "results/default/logs/train_baseline/embedded/resnet18/seed0.log").read_text()
    errors = [line.split(" ERROR ", 1)[1] for line in log.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "Traceback" not in log
    one_line(errors[0], "train_baseline embedded/resnet18/0", "training diverged", "loss is nan at epoch", "step", "lower the learning rate")
    assert errors[0] in result.stderr  # on the console too
    baseline = workdir / "results/default/models/embedded/resnet18/seed0"
    assert not (baseline / "baseline.pt").exists() and not (baseline / "baseline.pt.inprogress").exists()
    assert {name: digest(workdir / "results" / name) for name in earlier} == earlier
    assert {r.info.run_id for r in mlflow_runs(workdir)} == runs_before
    nothing_half_written(workdir / "results")


def test_makefile_run_is_the_command_the_battery_kills():
    recipe = (REPO / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert recipe.splitlines()[-1].split() == ["$(BIN)/snakemake", "--cores", "all", "$(SNAKEMAKE_ARGS)"]
    profile = yaml.safe_load((REPO / "profiles/default/config.yaml").read_text())
    assert profile == {"rerun-incomplete": True}


# ================================================================ the machine: disk, tracking store, device, bugs


def test_full_disk_names_the_file_and_writes_nothing(tmp_path, monkeypatch):
    import shutil as shutil_module

    def torch_save_on_a_full_disk(obj, path):
        Path(path).write_bytes(b"partial")
        raise RuntimeError("basic_ios::clear: iostream error")  # what torch.save raises when the disk fills

    monkeypatch.setattr(torch, "save", torch_save_on_a_full_disk)
    monkeypatch.setattr(shutil_module, "disk_usage", lambda _: shutil_module._ntuple_diskusage(10**9, 10**9, 0))
    target = tmp_path / "models" / "baseline.pt"
    with pytest.raises(AttrUnlearnError) as error:
        save_torch({"weights": 1}, target)
    one_line(f"attrunlearn: {error.value}", str(target), "the disk is full", "nothing was written")
    assert not list(target.parent.iterdir())


def test_full_disk_with_an_errno_is_named_whatever_the_free_space(tmp_path, monkeypatch):
    import errno

    def write_on_a_full_disk(self, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", write_on_a_full_disk)
    target = tmp_path / "cells" / "report.json"
    with pytest.raises(AttrUnlearnError) as error:
        save_json({"a": 1}, target)
    one_line(f"attrunlearn: {error.value}", str(target), "the disk is full")
    assert not list(target.parent.iterdir())


def test_corrupt_tracking_store_stops_the_dag_build_with_one_line(tmp_path):
    store = tmp_path / "results" / "mlflow.db"
    store.parent.mkdir()
    store.write_bytes(b"this is not a database" * 100)
    before = digest(store)
    result = snakemake(tmp_path, write_config(GRID, tmp_path / "grid.yaml"), "--cores", "1")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("attrunlearn:")]
    assert len(errors) == 1, result.stderr
    one_line(errors[0], "mlflow.tracking_uri sqlite:///", "results/mlflow.db is not a usable MLflow store", "file is not a database")
    assert digest(store) == before and sorted(p.name for p in (tmp_path / "results").iterdir()) == ["mlflow.db"]


def test_tracking_server_that_does_not_answer_is_one_line():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(AttrUnlearnError) as error:
        check_tracking_store(f"http://127.0.0.1:{port}", "grid.yaml")
    one_line(f"attrunlearn: {error.value}", f"grid.yaml: mlflow.tracking_uri http://127.0.0.1:{port}", "does not answer", "refused")


@pytest.mark.parametrize("device", ["gpu", "cuda0", "CPU"])
def test_device_that_is_no_device_is_refused_at_dag_build(device):
    config = _tiny()
    config["device"] = device
    with pytest.raises(ConfigError) as error:
        validate_config(config, "tiny.yaml")
    one_line(f"attrunlearn: {error.value}", "tiny.yaml: device:", f"{device!r} is not one of auto, cpu, cuda or cuda:N")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without a GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_a_gpu_is_one_line_and_auto_falls_back(device):
    with pytest.raises(AttrUnlearnError) as error:
        pick_device(device)
    one_line(f"attrunlearn: {error.value}", f"device {device}", "no usable CUDA device", "use device: auto or cpu")
    assert pick_device("auto").type == "cpu"


def test_an_unexpected_error_reaches_the_jobs_log_with_its_traceback(tmp_path):
    log = tmp_path / "logs" / "job.log"
    job = (
        "from attrunlearn_core.runlog import run_logged\n"
        "def main():\n"
        "    import logging; logging.getLogger('job').info('started')\n"
        "    {}['missing key']\n"
        f"run_logged({str(log)!r}, main)\n"
    )
    result = subprocess.run([sys.executable, "-c", job], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "attrunlearn:" in line or "Traceback" in line]
    one_line("\n".join(errors), str(log), "unexpected KeyError: 'missing key'", "its traceback is in that log")
    text = log.read_text()
    assert "INFO started" in text and "Traceback (most recent call last)" in text and "KeyError: 'missing key'" in text


@pytest.mark.parametrize(
    "argv, reading",
    [
        (["snakemake", "-n"], True),
        (["snakemake", "-np", "--cores", "2"], True),
        (["snakemake", "--dry-run"], True),
        (["snakemake", "--lint"], True),
        (["snakemake", "--cores", "1", "--report", "r.html"], True),
        (["snakemake", "--list-rules"], True),
        (["snakemake", "--cores", "all"], False),
        (["snakemake", "-j", "2", "--configfile", "configs/fronts.yaml"], False),
    ],
)
def test_which_snakemake_command_lines_take_no_lock(argv, reading):
    assert reads_only(argv) is reading
