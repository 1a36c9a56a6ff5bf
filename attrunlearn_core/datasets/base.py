"""What every dataset loader returns: decoded, resized images with integer labels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class LabelledImages:
    """Images as a uint8 tensor [N, 3, S, S] and named integer label columns of length N.

    `num_classes[name]` is the number of values label `name` can take (0..k-1);
    `class_names[name]` optionally names them. `origin` marks each sample's official
    partition where the source has one ("train"/"test"), else None.
    """

    images: torch.Tensor
    labels: dict[str, np.ndarray]
    num_classes: dict[str, int]
    class_names: dict[str, list[str]] = field(default_factory=dict)
    origin: np.ndarray | None = None
    skipped: int = 0
    # label -> partition -> images per class in everything the loader listed, before taking a subset of it
    # (`datasets.completeness.count_classes`); None when the images are the whole source.
    source_counts: dict[str, dict[str, list[int]]] | None = None

    def __post_init__(self) -> None:
        n = self.images.shape[0]
        if self.images.dtype != torch.uint8 or self.images.ndim != 4 or self.images.shape[1] != 3:
            raise ValueError(f"images must be uint8 [N,3,S,S], got {self.images.dtype} {tuple(self.images.shape)}")
        for name, values in self.labels.items():
            if len(values) != n:
                raise ValueError(f"label {name!r} has {len(values)} values for {n} images")
            if name not in self.num_classes:
                raise ValueError(f"label {name!r} has no num_classes entry")

    def __len__(self) -> int:
        return self.images.shape[0]
