"""Unlearning methods by name. Add a method: one file in this package with a registered subclass."""

from __future__ import annotations

from attrunlearn_core.errors import ConfigError
from attrunlearn_core.methods.base import MethodResult, UnlearningContext, UnlearningMethod

_REGISTRY: dict[str, type[UnlearningMethod]] = {}
_MISSING_PACKAGE: dict[str, str] = {}  # method module -> the optional package it needs and that is not installed


def register_method(cls: type[UnlearningMethod]) -> type[UnlearningMethod]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in _REGISTRY:
        raise ValueError(f"method {cls.name!r} is registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def list_methods() -> list[str]:
    return sorted(_REGISTRY)


def get_method_class(name: str) -> type[UnlearningMethod]:
    if name not in _REGISTRY and name in _MISSING_PACKAGE:
        raise ConfigError(f"method {name!r} needs the package {_MISSING_PACKAGE[name]!r}, which is not installed")
    if name not in _REGISTRY:
        raise ConfigError(f"unknown method {name!r}; known: {', '.join(list_methods())}")
    return _REGISTRY[name]


def _import_all_methods() -> None:
    """Each module in this package registers its method on import; no list to keep in sync."""
    import importlib
    import pkgutil

    for module in pkgutil.iter_modules(__path__):
        if module.name not in {"base"} and not module.name.startswith("_"):
            try:
                importlib.import_module(f"{__name__}.{module.name}")
            except ModuleNotFoundError as error:  # a method's optional package (e.g. concept-erasure) must not break the others
                if not error.name or error.name.split(".")[0] == "attrunlearn_core":
                    raise
                _MISSING_PACKAGE[module.name] = error.name


_import_all_methods()

__all__ = ["MethodResult", "UnlearningContext", "UnlearningMethod", "get_method_class", "list_methods", "register_method"]
