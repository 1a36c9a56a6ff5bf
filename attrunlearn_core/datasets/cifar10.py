"""CIFAR-10 with labels `class` (10-way) and `living` (animal vs vehicle).

On disk, either of:
  (a) image folders `train/<class>/*.jpg` and `test/<class>/*.jpg` (PNG also accepted), as a directory
      or a .tar/.tar.gz/.tgz archive, possibly inside one wrapper folder (`cifar10-jpeg/train/...`);
  (b) the official pickled batches `cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}`;
      root may be that folder or the folder containing it. With options["download"] true and no
      data present, torchvision downloads (b) into root.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from attrunlearn_core.datasets import register_dataset
from attrunlearn_core.datasets.base import LabelledImages
from attrunlearn_core.datasets.completeness import count_classes
from attrunlearn_core.datasets.image_files import check_image_size, is_archive, list_image_files, square_resize, subset_indices
from attrunlearn_core.errors import DatasetError

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
LIVING = {"bird", "cat", "deer", "dog", "frog", "horse"}
PARTITIONS = ("train", "test")
BATCHES_DIR = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
EXPECTED_LAYOUT = f"train/<class>/*.jpg and test/<class>/*.jpg (folder or .tar.gz), or {BATCHES_DIR}/{{data_batch_1..5,test_batch,batches.meta}}"


@register_dataset("cifar10", labels=("class", "living"), capacity=lambda options: (60000, "the CIFAR-10 image count"))
def load_cifar10(root: Path | None, image_size: int, max_samples: int | None, rng: np.random.Generator, options: dict) -> LabelledImages:
    check_image_size(image_size)
    if root is None:
        raise DatasetError(f"cifar10 needs a data root holding {EXPECTED_LAYOUT}")
    root = Path(root)
    batches = _find_batches(root)
    if batches is None and options.get("download", False):
        _download(root)
        batches = _find_batches(root)
    if batches is not None:
        images, classes, origin, source = _load_batches(batches, image_size, max_samples, rng)
    else:
        if not root.exists():
            raise DatasetError(f"cifar10 root {root} does not exist (expected {EXPECTED_LAYOUT})")
        if not (root.is_dir() or is_archive(root)):
            raise DatasetError(f"cifar10 root {root} is not a folder or archive (expected {EXPECTED_LAYOUT})")
        images, classes, origin, source = _load_folders(root, image_size, max_samples, rng)
    return LabelledImages(
        images=images,
        labels={"class": classes, "living": _living(classes)},
        num_classes={"class": len(CLASSES), "living": 2},
        class_names={"class": list(CLASSES), "living": ["non-living", "living"]},
        origin=origin,
        source_counts=source,
    )


def _living(classes: np.ndarray) -> np.ndarray:
    return np.array([CLASSES[c] in LIVING for c in classes], dtype=np.int64)


def _source_counts(classes: np.ndarray, origin: np.ndarray) -> dict:
    return count_classes({"class": classes, "living": _living(classes)}, {"class": len(CLASSES), "living": 2}, origin)


def _load_folders(root: Path, image_size: int, max_samples: int | None, rng: np.random.Generator) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    files = list_image_files(root, layout_dirs=PARTITIONS)
    names, classes, origin = [], [], []
    for name in files.names:
        parts = name.split("/")
        if len(parts) != 3 or parts[0] not in PARTITIONS:
            continue  # stray files outside train/<class>/ and test/<class>/
        if parts[1] not in CLASSES:
            raise DatasetError(f"unknown CIFAR-10 class folder {files.display(parts[0] + '/' + parts[1])}; expected one of {' '.join(CLASSES)}")
        names.append(name)
        classes.append(CLASSES.index(parts[1]))
        origin.append(parts[0])
    if not names:
        raise DatasetError(f"no CIFAR-10 data in {root}: expected {EXPECTED_LAYOUT}")
    origin_array = np.array(origin)
    keep = subset_indices(len(names), max_samples, rng, groups=origin_array)
    images = files.read([names[i] for i in keep], image_size)
    classes_array = np.array(classes, dtype=np.int64)
    return images, classes_array[keep], origin_array[keep], _source_counts(classes_array, origin_array)


def _find_batches(root: Path) -> Path | None:
    for folder in (root, root / BATCHES_DIR):
        if folder.is_dir() and ((folder / "batches.meta").is_file() or (folder / "test_batch").is_file()):
            return folder
    return None


def _download(root: Path) -> None:
    import torchvision  # only needed for downloading

    try:
        for train in (True, False):
            torchvision.datasets.CIFAR10(str(root), train=train, download=True)
    except Exception as error:  # noqa: BLE001  (network / integrity failures of any kind)
        raise DatasetError(f"downloading CIFAR-10 into {root} failed: {' '.join(str(error).split())}") from error


def _read_pickle(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return pickle.load(handle, encoding="latin1")
    except FileNotFoundError:
        raise DatasetError(f"missing CIFAR-10 batch {path} (expected {EXPECTED_LAYOUT})") from None
    except Exception as error:  # noqa: BLE001  (any unpickling failure means a broken file)
        raise DatasetError(f"cannot read CIFAR-10 batch {path}: {' '.join(str(error).split())}") from error


def _load_batches(folder: Path, image_size: int, max_samples: int | None, rng: np.random.Generator) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    meta = _read_pickle(folder / "batches.meta")
    label_names = list(meta.get("label_names", []))
    if sorted(label_names) != sorted(CLASSES):
        raise DatasetError(f"{folder / 'batches.meta'}: label_names {label_names} are not the 10 CIFAR-10 classes")
    # Map the file's label order onto ours, so `class` indices never depend on the file.
    to_ours = np.array([CLASSES.index(n) for n in label_names], dtype=np.int64)
    data, labels, origin = [], [], []
    for partition, batch_names in (("train", TRAIN_BATCHES), ("test", ["test_batch"])):
        for batch_name in batch_names:
            path = folder / batch_name
            batch = _read_pickle(path)
            try:
                pixels = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
                batch_labels = np.asarray(batch["labels"], dtype=np.int64)
            except (KeyError, ValueError) as error:
                raise DatasetError(f"{path}: not a CIFAR-10 batch (need 'data' [N,3072] uint8 and 'labels')") from error
            if len(batch_labels) != len(pixels) or not np.all((batch_labels >= 0) & (batch_labels < 10)):
                raise DatasetError(f"{path}: labels must be N values in 0..9 for N={len(pixels)} images")
            data.append(pixels)
            labels.append(to_ours[batch_labels])
            origin.append(np.full(len(pixels), partition))
    origin_array = np.concatenate(origin)
    keep = subset_indices(len(origin_array), max_samples, rng, groups=origin_array)
    pixels = np.concatenate(data)[keep]
    if image_size != 32:
        resized = [square_resize(Image.fromarray(p.transpose(1, 2, 0)), image_size) for p in pixels]
        pixels = np.stack(resized).transpose(0, 3, 1, 2)
    images = torch.from_numpy(np.ascontiguousarray(pixels))
    labels_array = np.concatenate(labels)
    return images, labels_array[keep], origin_array[keep], _source_counts(labels_array, origin_array)
