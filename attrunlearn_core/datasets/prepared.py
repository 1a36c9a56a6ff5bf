"""The prepared cache: resized uint8 images, labels and disjoint splits, decoded once per dataset."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from attrunlearn_core.artifacts import load_artifact
from attrunlearn_core.atomic import save_torch
from attrunlearn_core.datasets.base import LabelledImages
from attrunlearn_core.errors import ConfigError, DatasetError

SPLITS = ("train", "test", "attacker_train", "attacker_test")
FORMAT_VERSION = 1


@dataclass
class PreparedDataset:
    images: torch.Tensor  # uint8 [N, 3, S, S]
    labels: dict[str, torch.Tensor]  # int64 [N]
    num_classes: dict[str, int]
    splits: dict[str, torch.Tensor]  # int64 indices, disjoint
    class_names: dict[str, list[str]] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def split_images(self, split: str) -> torch.Tensor:
        return self.images[self.splits[split]]

    def split_labels(self, split: str, name: str) -> torch.Tensor:
        return self.labels[name][self.splits[split]]

    def save(self, path: str | Path) -> None:
        save_torch({"format_version": FORMAT_VERSION, **self.__dict__}, path)

    @classmethod
    def load(cls, path: str | Path) -> PreparedDataset:
        state = load_artifact(path, "prepared dataset")
        if not isinstance(state, dict) or state.pop("format_version", None) != FORMAT_VERSION:
            raise DatasetError(f"{path}: not a prepared dataset of format {FORMAT_VERSION}; delete it and re-run prepare")
        return cls(**state)


def make_splits(n: int, sizes: dict[str, int], rng: np.random.Generator) -> dict[str, torch.Tensor]:
    """Disjoint random index sets of the requested sizes."""
    wanted = sum(sizes[s] for s in SPLITS)
    if wanted > n:
        detail = ", ".join(f"{s}={sizes[s]}" for s in SPLITS)
        raise ConfigError(f"splits ask for {wanted} samples ({detail}) but the dataset has only {n}")
    order = rng.permutation(n)
    splits, start = {}, 0
    for name in SPLITS:
        splits[name] = torch.from_numpy(np.sort(order[start : start + sizes[name]]).astype(np.int64))
        start += sizes[name]
    return splits


def prepare(data: LabelledImages, sizes: dict[str, int], required_labels: list[str], rng: np.random.Generator, meta: dict) -> PreparedDataset:
    missing = [name for name in required_labels if name not in data.labels]
    if missing:
        raise ConfigError(f"label(s) {', '.join(missing)} not in the dataset; it has: {', '.join(sorted(data.labels))}")
    return PreparedDataset(
        images=data.images.contiguous(),
        labels={name: torch.as_tensor(values, dtype=torch.int64) for name, values in data.labels.items()},
        num_classes=dict(data.num_classes),
        splits=make_splits(len(data), sizes, rng),
        class_names=dict(data.class_names),
        meta={**meta, "skipped": data.skipped, "num_samples": len(data)},
    )


def attribute_parts(attribute: str) -> list[str]:
    """A grid attribute is one label name or several joined by '+', e.g. 'race+age_group'."""
    return attribute.split("+")


def joint_labels(prepared: PreparedDataset, attribute: str) -> tuple[torch.Tensor, int]:
    """Labels of a (possibly composite) attribute as one class index: the tuple of its parts, mixed-radix."""
    joint = torch.zeros_like(next(iter(prepared.labels.values())))
    classes = 1
    for part in attribute_parts(attribute):
        if part not in prepared.labels:
            raise ConfigError(f"attribute {part!r} is not a label of this dataset; it has: {', '.join(sorted(prepared.labels))}")
        joint = joint * prepared.num_classes[part] + prepared.labels[part]
        classes *= prepared.num_classes[part]
    return joint, classes
