"""Every class of every label the grid uses must be present in every partition the loader read.

A partition is the source's official one (`LabelledImages.origin`: e.g. CIFAR-10's train/ and test/ folders),
or the whole dataset when the source has none. A class folder missing from train/ would otherwise leave that
class with test images only, and nothing would say so.
"""
from __future__ import annotations

import numpy as np

from attrunlearn_core.datasets.base import LabelledImages
from attrunlearn_core.errors import DatasetError


def partitions(data: LabelledImages) -> dict[str, np.ndarray]:
    """Partition name -> boolean mask over the samples."""
    if data.origin is None:
        return {"all": np.ones(len(data), dtype=bool)}
    origin = np.asarray(data.origin)
    return {str(name): origin == name for name in sorted(set(origin.tolist()))}


def class_name(data: LabelledImages, label: str, value: int) -> str:
    names = data.class_names.get(label)
    return str(names[value]) if names and value < len(names) else str(value)


def class_counts(data: LabelledImages, labels: list[str]) -> dict[str, dict[str, dict[str, int]]]:
    """label -> partition -> class name -> number of images."""
    counts = {}
    for label in labels:
        values = np.asarray(data.labels[label])
        counts[label] = {
            partition: {class_name(data, label, k): int(n) for k, n in enumerate(np.bincount(values[mask], minlength=data.num_classes[label]))}
            for partition, mask in partitions(data).items()
        }
    return counts


def check_complete(counts: dict[str, dict[str, dict[str, int]]], where: str) -> None:
    """One line naming the first class that has no image in some partition."""
    for label, by_partition in counts.items():
        for partition, by_class in by_partition.items():
            missing = [name for name, n in by_class.items() if n == 0]
            if missing:
                scope = "the dataset" if partition == "all" else f"partition {partition!r}"
                raise DatasetError(f"{where}: {scope} has no image of class {missing[0]!r} of label {label!r}"
                                   f"{f' (nor of {len(missing) - 1} more)' if len(missing) > 1 else ''}; every class must be present in every partition")
