"""Dataset loaders by name. Each returns `LabelledImages` from files on disk (or a generator)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from attrunlearn_core.datasets.base import LabelledImages
from attrunlearn_core.errors import ConfigError

# name -> "module:function"; imported lazily so one loader's optional dependency never breaks another.
_LOADERS = {
    "embedded": "attrunlearn_core.datasets.embedded:load_embedded",
    "cifar10": "attrunlearn_core.datasets.cifar10:load_cifar10",
    "utkface": "attrunlearn_core.datasets.utkface:load_utkface",
    "celeba": "attrunlearn_core.datasets.celeba:load_celeba",
    "fairface": "attrunlearn_core.datasets.fairface:load_fairface",
}


def list_datasets() -> list[str]:
    return sorted(_LOADERS)


def get_dataset_loader(name: str) -> Callable[..., LabelledImages]:
    """Loader signature: (root: Path | None, image_size: int, max_samples: int | None,
    rng: numpy.random.Generator, options: dict) -> LabelledImages."""
    if name not in _LOADERS:
        raise ConfigError(f"unknown dataset loader {name!r}; known: {', '.join(list_datasets())}")
    module_name, function_name = _LOADERS[name].split(":")
    return getattr(importlib.import_module(module_name), function_name)
