"""Data faults: every real format, prepared through prepare_dataset, missing classes or too small, one line each.

Each case asserts the exit (an error or a non-zero exit code), one line naming the file or config key, and that
nothing half-written appears while earlier results stay intact; `pytest -s` prints each line, prefixed `[battery]`.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from helpers import nothing_half_written, one_line
from test_dataset_loaders import CELEBA_ATTRIBUTES, make_tar, write_cifar_batches, write_cifar_folders, write_image

from attrunlearn_core.errors import AttrUnlearnError
from attrunlearn_core.jobs.prepare import prepare_dataset

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


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
    with caplog.at_level("INFO", logger="attrunlearn_core.jobs.prepare"):
        prepare_dataset("d", config["datasets"]["d"], config["seed"], output)
    assert output.exists()
    assert "listed images, label class, partition train: airplane 2, automobile 2, bird 2" in caplog.text
    assert "drawn images, label living, partition test: non-living 4, living 6" in caplog.text
