"""FairFace with labels `gender`, `race` (7) and `age` (9 groups).

On disk (a directory):
  root/fairface_label_train.csv, root/fairface_label_val.csv  columns file,age,gender,race[,service_test]
  the images at the csv's relative paths (`train/1.jpg`, `val/1.jpg`), under root itself or under one
  subfolder of root (e.g. `fairface-img-margin025-trainval/`).
origin: "train" for the train csv, "test" for the val csv.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from attrunlearn_core.datasets import register_dataset
from attrunlearn_core.datasets.base import LabelledImages
from attrunlearn_core.datasets.completeness import count_classes
from attrunlearn_core.datasets.image_files import check_image_size, decode_files, subset_indices
from attrunlearn_core.errors import DatasetError

GENDERS = ["Male", "Female"]
RACES = ["White", "Black", "Latino_Hispanic", "East Asian", "Southeast Asian", "Indian", "Middle Eastern"]
AGES = ["0-2", "3-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "more than 70"]
LABELS = {"gender": GENDERS, "race": RACES, "age": AGES}
CSV_FILES = {"train": "fairface_label_train.csv", "test": "fairface_label_val.csv"}
EXPECTED_LAYOUT = "fairface_label_train.csv, fairface_label_val.csv (file,age,gender,race) and the images they name"


def _read_csv(path: Path) -> tuple[list[str], list[list[int]]]:
    """(relative image paths, rows of [gender, race, age] indices)."""
    try:
        handle = path.open(newline="")
    except FileNotFoundError:
        raise DatasetError(f"missing {path}: a FairFace root holds {EXPECTED_LAYOUT}") from None
    files, rows = [], []
    with handle:
        reader = csv.DictReader(handle)
        columns = {"file", *LABELS}
        if reader.fieldnames is None or not columns <= set(reader.fieldnames):
            raise DatasetError(f"{path}: expected a header with columns {','.join(sorted(columns))}, got {reader.fieldnames}")
        for record in reader:
            row = []
            for label, names in LABELS.items():
                value = (record[label] or "").strip()
                if value not in names:
                    raise DatasetError(f"{path} line {reader.line_num}: unknown {label} {value!r}, expected one of {', '.join(names)}")
                row.append(names.index(value))
            files.append(record["file"].strip())
            rows.append(row)
    return files, rows


def _image_base(root: Path, example: str) -> Path:
    """root, or the one subfolder of root, under which the csv's relative paths exist."""
    for base in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
        if (base / example).is_file():
            return base
    raise DatasetError(f"cannot find image {example} (named in the FairFace csv) under {root} or its subfolders")


@register_dataset("fairface", labels=("gender", "race", "age"))
def load_fairface(root: Path | None, image_size: int, max_samples: int | None, rng: np.random.Generator, options: dict) -> LabelledImages:
    check_image_size(image_size)
    if root is None:
        raise DatasetError(f"fairface needs a data root holding {EXPECTED_LAYOUT}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"fairface root {root} is not a directory (expected {EXPECTED_LAYOUT})")
    files, rows, origin = [], [], []
    for partition, csv_name in CSV_FILES.items():
        part_files, part_rows = _read_csv(root / csv_name)
        files += part_files
        rows += part_rows
        origin += [partition] * len(part_files)
    if not files:
        raise DatasetError(f"the FairFace csvs in {root} list no images")
    base = _image_base(root, files[0])
    origin_array = np.array(origin)
    keep = subset_indices(len(files), max_samples, rng, groups=origin_array)
    full = np.array(rows, dtype=np.int64)
    table = full[keep]
    return LabelledImages(
        images=decode_files([base / files[i] for i in keep], image_size),
        labels={name: table[:, j] for j, name in enumerate(LABELS)},
        num_classes={name: len(names) for name, names in LABELS.items()},
        class_names={name: list(names) for name, names in LABELS.items()},
        origin=origin_array[keep],
        source_counts=count_classes(
            {name: full[:, j] for j, name in enumerate(LABELS)}, {name: len(names) for name, names in LABELS.items()}, origin_array
        ),
    )
