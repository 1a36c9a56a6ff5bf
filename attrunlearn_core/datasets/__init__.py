"""Dataset loaders by name. Add one: a module in this package with a function decorated `@register_dataset("name")`.

Loader signature: (root: Path | None, image_size: int, max_samples: int | None, rng: numpy.random.Generator,
options: dict) -> LabelledImages, from files on disk (or a generator). A loader whose optional package is not
installed is reported when asked for and never breaks the others.
"""

from __future__ import annotations

from collections.abc import Callable

from attrunlearn_core.datasets.base import LabelledImages
from attrunlearn_core.registry import Registry

DATASET_LOADERS: Registry[Callable[..., LabelledImages]] = Registry("dataset loader", __name__)
register_dataset = DATASET_LOADERS.register
list_datasets = DATASET_LOADERS.names
get_dataset_loader = DATASET_LOADERS.get

__all__ = ["DATASET_LOADERS", "LabelledImages", "get_dataset_loader", "list_datasets", "register_dataset"]
