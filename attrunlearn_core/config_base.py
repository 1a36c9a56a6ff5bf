"""`base:` — a config that states only how it differs from another.

    base: ../config.yaml      # a path relative to this file
    name: hsic
    seed: 1
    efficiency: null          # null removes a key the base has

The base is read (itself possibly with a `base:`), then this file is merged over it: mappings key by key, anything
else (lists, numbers, strings) replaced whole, and a null value removes the key. A method under `methods:` is
replaced whole, never merged with the base's method of the same name (half of one method's parameters and half of
another's would be neither). So a study grid names its
methods, seeds and data draw, and inherits the datasets, model, training recipe and attackers of the grid it
studies instead of carrying a copy that drifts.
"""

from __future__ import annotations

import copy
from pathlib import Path

from attrunlearn_core.errors import ConfigError

# Mappings whose entries an overlay replaces whole instead of merging into.
WHOLE_ENTRIES = {"methods"}


def merge_over(base: dict, overlay: dict, whole_entries: bool = False) -> dict:
    """`overlay` merged over a copy of `base`: mappings recursively, other values replaced, None removes the key."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict) and not whole_entries:
            merged[key] = merge_over(merged[key], value, whole_entries=key in WHOLE_ENTRIES)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def resolve_base(config: dict, path: str | Path, _chain: tuple[Path, ...] = ()) -> dict:
    """The config read from `path` with its `base:` chain merged in (the key itself is gone)."""
    from attrunlearn_core.config import read_config_file

    if "base" not in config:
        return config
    here = Path(path).resolve()
    base = config["base"]
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{path}: base: {base!r} must be the path of another config file")
    target = (here.parent / base).resolve()
    if target in (*_chain, here):
        raise ConfigError(f"{path}: base: {base} leads back to {target.name}, a config that is already its base")
    if not target.is_file():
        raise ConfigError(f"{path}: base: {base} is not a file ({target})")
    parent = resolve_base(read_config_file(target), target, (*_chain, here))
    return merge_over(parent, {key: value for key, value in config.items() if key != "base"})
