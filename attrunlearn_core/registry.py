"""Things found by name: methods, attackers, dataset loaders. One pattern for all of them.

A package holds one `Registry`; each of its modules registers what it defines with the registry's decorator.
Looking up one name imports only the module named like it (or as the registry's `modules` says), so a job
pays for the third-party packages of what it uses, not of every method. Listing the names, or a name that
module does not register, imports every non-private module of the package, so adding a file is all it takes.
Helper modules (base classes, shared code) are imported too and simply register nothing. A module whose
optional third-party package is not installed is recorded instead of breaking the others, and asking for it
by name says which package to install.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

from attrunlearn_core.errors import ConfigError

T = TypeVar("T", bound=Callable[..., Any])


class Registry(Generic[T]):
    def __init__(self, kind: str, package: str, modules: dict[str, str] | None = None):
        self.kind = kind  # "method", "attacker", "dataset loader": the word in error messages
        self.package = package  # the package whose modules register into this registry
        self.modules = modules or {}  # entry name -> the module defining it, where the two differ
        self._entries: dict[str, T] = {}
        self._missing: dict[str, str] = {}  # module name -> the optional package it needs and that is not installed
        self._discovered = False

    @overload
    def register(self, target: str) -> Callable[[T], T]: ...
    @overload
    def register(self, target: T) -> T: ...
    def register(self, target: str | T) -> Callable[[T], T] | T:
        """`@registry.register` takes the name from the class's `name`; `@registry.register("x")` names it explicitly."""
        if isinstance(target, str):
            return lambda obj: self._add(target, obj)
        name = getattr(target, "name", None)
        if not isinstance(name, str) or not name:
            raise ValueError(f"{target.__name__} has no name; give one: @register('name')")
        return self._add(name, target)

    def _add(self, name: str, obj: T) -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = obj
        return obj

    def names(self) -> list[str]:
        self._discover()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        if name in self._entries or self._import_own_module(name):
            return True
        self._discover()
        return name in self._entries

    def get(self, name: str) -> T:
        if name in self._entries or self._import_own_module(name):
            return self._entries[name]
        self._discover()
        if name in self._entries:
            return self._entries[name]
        if name in self._missing:  # a module named like its entry (leace.py registers "leace")
            raise ConfigError(f"{self.kind} {name!r} needs the package {self._missing[name]!r}, which is not installed")
        message = f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}"
        if self._missing:
            skipped = ", ".join(f"{module} (needs {package!r})" for module, package in sorted(self._missing.items()))
            message += f"; not loaded, their package is not installed: {skipped}"
        raise ConfigError(message)

    def _import_own_module(self, name: object) -> bool:
        """Import just the module that should define `name`; True when it registered it."""
        module = self.modules.get(name, name) if isinstance(name, str) else ""
        if self._discovered or not module.isidentifier() or module.startswith("_"):
            return False
        if importlib.util.find_spec(f"{self.package}.{module}") is None:
            return False
        self._import(module)
        return name in self._entries

    def _discover(self) -> None:
        """Import every non-private module of the package once; the imports register the entries."""
        if self._discovered:
            return
        self._discovered = True  # before importing: a module that looks names up while it loads must not recurse
        try:
            package = importlib.import_module(self.package)
            for module in pkgutil.iter_modules(package.__path__):
                if not module.name.startswith("_"):
                    self._import(module.name)
        except BaseException:
            self._discovered = False  # a real error in a module is raised again on the next lookup, not hidden
            raise

    def _import(self, module: str) -> None:
        try:
            importlib.import_module(f"{self.package}.{module}")
        except ModuleNotFoundError as error:
            if not error.name or error.name.split(".")[0] == self.package.split(".")[0]:
                raise  # our own module is missing: a bug, not an optional package
            self._missing[module] = error.name

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.package!r}, {len(self._entries)} registered)"
