"""Attackers recover the attribute from frozen features. Add one: a file in this package with a registered subclass."""

from __future__ import annotations

from attrunlearn_core.attackers.base import Attacker, AttackerRecipe
from attrunlearn_core.errors import ConfigError

_REGISTRY: dict[str, type[Attacker]] = {}


def register_attacker(cls: type[Attacker]) -> type[Attacker]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in _REGISTRY:
        raise ValueError(f"attacker {cls.name!r} is registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def list_attackers() -> list[str]:
    return sorted(_REGISTRY)


def get_attacker_class(name: str) -> type[Attacker]:
    if name not in _REGISTRY:
        raise ConfigError(f"unknown attacker {name!r}; known: {', '.join(list_attackers())}")
    return _REGISTRY[name]


def attackers_for(shape: tuple[int, ...], names: list[str]) -> list[str]:
    """The named attackers that apply to features of this shape (map attackers need [C, H, W])."""
    return [n for n in names if len(shape) == 3 or not get_attacker_class(n).needs_map]


def _import_all_attackers() -> None:
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if module.name not in {"base", "neural", "scikit", "pool"} and not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")


_import_all_attackers()

__all__ = ["Attacker", "AttackerRecipe", "attackers_for", "get_attacker_class", "list_attackers", "register_attacker"]
