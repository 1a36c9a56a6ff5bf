from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from attrunlearn_core.datasets import get_dataset_loader
from attrunlearn_core.datasets.completeness import check_complete, describe_gap, missing_classes, named_counts
from attrunlearn_core.datasets.prepared import SPLITS, attribute_parts, prepare
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.seeding import derive_seed

log = logging.getLogger(__name__)


def prepare_dataset(dataset: str, spec: dict, data_seed: int, output: str | Path) -> None:
    """`spec`: the dataset's config entry (config.dataset_spec); `data_seed`: the config's `seed`, which draws the splits."""
    sizes = spec["splits"]
    wanted = sum(sizes[s] for s in SPLITS)
    max_samples = spec.get("max_samples") or wanted
    rng = np.random.default_rng(derive_seed(data_seed, "dataset", dataset))
    root = Path(spec["root"]).expanduser() if spec.get("root") else None
    loader = get_dataset_loader(spec["loader"])
    data = loader(root, spec["image_size"], max_samples, rng, dict(spec.get("options", {})))
    if data.skipped:
        log.warning("%s: skipped %d malformed samples", dataset, data.skipped)
    required = [spec["task"]] + [
        part for attribute in spec["attributes"] for part in (attribute if isinstance(attribute, list) else attribute_parts(attribute))
    ]
    required = list(dict.fromkeys(required))
    known = [name for name in required if name in data.labels]  # an unknown label is prepare()'s error below
    check_complete(named_counts(data, known, source=True), str(root) if root is not None else f"datasets.{dataset}")
    for kind, source in (("listed", True), ("drawn", False)) if data.source_counts is not None else (("drawn", False),):
        for label, by_partition in named_counts(data, known, source).items():
            for partition, by_class in by_partition.items():
                log.info(
                    "%s: %s images, label %s, partition %s: %s",
                    dataset,
                    kind,
                    label,
                    partition,
                    ", ".join(f"{name} {n}" for name, n in by_class.items()),
                )
    for gap in missing_classes(named_counts(data, known, source=False)):
        log.warning("%s: the %d images drawn for the splits: %s", dataset, len(data), describe_gap(*gap))
    if len(data) < wanted:
        detail = ", ".join(f"{s}={sizes[s]}" for s in SPLITS)
        raise ConfigError(
            f"datasets.{dataset}.splits: the splits ask for {wanted} images ({detail}) but {root or 'the dataset'} has only {len(data)}"
        )
    try:
        prepared = prepare(
            data, sizes, required, rng, meta={"dataset": dataset, "loader": spec["loader"], "image_size": spec["image_size"], "task": spec["task"]}
        )
    except ConfigError as error:
        raise ConfigError(f"datasets.{dataset}: {error}") from None
    prepared.save(output)
    log.info("%s: %d images of %s, splits %s", dataset, len(data), tuple(data.images.shape[1:]), {k: len(v) for k, v in prepared.splits.items()})
