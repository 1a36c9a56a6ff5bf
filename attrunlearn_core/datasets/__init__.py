"""Dataset loaders by name. Add one: a module in this package with a function decorated
`@register_dataset("name", labels=(...), capacity=...)`: the labels it provides and, where known without reading the
data, how many images it can give. The config checks read that declaration, so a new loader is checked as the
shipped ones are and no loader name appears anywhere outside its own file.

Loader signature: (root: Path | None, image_size: int, max_samples: int | None, rng: numpy.random.Generator,
options: dict) -> LabelledImages, from files on disk (or a generator). A loader whose optional package is not
installed is reported when asked for and never breaks the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from attrunlearn_core.datasets.base import LabelledImages
from attrunlearn_core.registry import Registry

DATASET_LOADERS: Registry[Callable[..., LabelledImages]] = Registry("dataset loader", __name__)


def register_dataset(name: str, *, labels: Sequence[str] | None, capacity: Callable[[dict], tuple[int, str] | None] | None = None):
    """Register a loader with what it provides: `labels`, every label name it can give (None only where the data
    itself names them and no list is known); `capacity(options)`, the most images it can give and what says so
    (e.g. `(60000, "the CIFAR-10 image count")`), or None where only reading the data tells."""

    def declare(loader: Callable[..., LabelledImages]) -> Callable[..., LabelledImages]:
        loader.labels = tuple(labels) if labels is not None else None
        loader.capacity = capacity or (lambda options: None)
        return DATASET_LOADERS.register(name)(loader)

    return declare


list_datasets = DATASET_LOADERS.names
get_dataset_loader = DATASET_LOADERS.get

__all__ = ["DATASET_LOADERS", "LabelledImages", "get_dataset_loader", "list_datasets", "register_dataset"]
