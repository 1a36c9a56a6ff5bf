"""Every class of every label the grid uses must be present in every partition the loader read.

A partition is the source's official one (`LabelledImages.origin`: e.g. CIFAR-10's train/ and test/ folders),
or the whole dataset when the source has none. A class folder missing from train/ would otherwise leave that
class with test images only, and nothing would say so. The check runs on everything the loader listed
(`LabelledImages.source_counts`), not on the seeded subset a small split draws from it: a subset too small to
hold every class is the config's choice, reported as a warning.
"""

from __future__ import annotations

import numpy as np

from attrunlearn_core.errors import DatasetError

Counts = dict[str, dict[str, dict[str, int]]]  # label -> partition -> class name -> images


def count_classes(labels: dict[str, np.ndarray], num_classes: dict[str, int], origin: np.ndarray | None) -> dict[str, dict[str, list[int]]]:
    """label -> partition ('all' without origin) -> images per class index."""
    origin = np.full(len(next(iter(labels.values()))), "all") if origin is None else np.asarray(origin)
    partitions = sorted(set(origin.tolist()))
    return {
        label: {str(p): np.bincount(np.asarray(values)[origin == p], minlength=num_classes[label]).tolist() for p in partitions}
        for label, values in labels.items()
    }


def named_counts(data, labels: list[str], source: bool) -> Counts:
    """Counts with class names, of everything the loader listed (`source`) or of the images it returned."""
    raw = (
        data.source_counts
        if source and data.source_counts is not None
        else count_classes({name: data.labels[name] for name in labels}, data.num_classes, data.origin)
    )
    names = lambda label, k: str(data.class_names[label][k]) if k < len(data.class_names.get(label, [])) else str(k)  # noqa: E731
    return {label: {p: {names(label, k): n for k, n in enumerate(raw[label][p])} for p in raw[label]} for label in labels}


def missing_classes(counts: Counts) -> list[tuple[str, str, list[str]]]:
    """(label, partition, class names with no image) for every gap."""
    return [
        (label, partition, [name for name, n in by_class.items() if n == 0])
        for label, by_partition in counts.items()
        for partition, by_class in by_partition.items()
        if any(n == 0 for n in by_class.values())
    ]


def describe_gap(label: str, partition: str, missing: list[str]) -> str:
    scope = "the dataset" if partition == "all" else f"partition {partition!r}"
    more = f" (nor of {len(missing) - 1} more)" if len(missing) > 1 else ""
    return f"{scope} has no image of class {missing[0]!r} of label {label!r}{more}"


def check_complete(counts: Counts, where: str) -> None:
    """One line naming the first class that has no image in some partition."""
    gaps = missing_classes(counts)
    if gaps:
        raise DatasetError(f"{where}: {describe_gap(*gaps[0])}; every class must be present in every partition")
