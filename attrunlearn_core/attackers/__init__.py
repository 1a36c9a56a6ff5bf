"""Attackers recover the attribute from frozen features; each is one file, registered by name."""
from __future__ import annotations

from typing import Callable

from torch import nn

from attrunlearn_core.attackers.linear_probe import build_linear_probe
from attrunlearn_core.attackers.mlp_probe import build_mlp_probe
from attrunlearn_core.attackers.resnet_attacker import build_resnet_attacker
from attrunlearn_core.errors import ConfigError

# name -> builder(feature_shape: tuple, num_classes: int, hidden: int) -> nn.Module
ATTACKERS: dict[str, Callable[..., nn.Module]] = {
    "linear": build_linear_probe,
    "mlp": build_mlp_probe,
    "resnet": build_resnet_attacker,
}

# The ResNet attacker needs a spatial map; on vectors (penultimate features) only the probes run.
SPATIAL_ONLY = {"resnet"}


def list_attackers() -> list[str]:
    return sorted(ATTACKERS)


def get_attacker_builder(name: str) -> Callable[..., nn.Module]:
    if name not in ATTACKERS:
        raise ConfigError(f"unknown attacker {name!r}; known: {', '.join(list_attackers())}")
    return ATTACKERS[name]


def attackers_for(shape: tuple[int, ...], names: list[str]) -> list[str]:
    return [n for n in names if len(shape) == 3 or n not in SPATIAL_ONLY]
