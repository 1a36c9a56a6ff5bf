"""Attackers recover the attribute from frozen features. Add one: a file in this package with a subclass decorated `@register_attacker`."""

from __future__ import annotations

from attrunlearn_core.attackers.base import Attacker, AttackerRecipe
from attrunlearn_core.registry import Registry

ATTACKERS: Registry[type[Attacker]] = Registry(
    "attacker",
    __name__,
    modules={
        "linear": "linear_probe",
        "mlp": "mlp_probe",
        "conv": "conv_attacker",
        "resnet": "resnet_attacker",
        "logreg": "logistic_regression",
        "knn": "nearest_neighbours",
    },
)
register_attacker = ATTACKERS.register
list_attackers = ATTACKERS.names
get_attacker_class = ATTACKERS.get


def attackers_for(shape: tuple[int, ...], names: list[str]) -> list[str]:
    """The named attackers that apply to features of this shape (map attackers need [C, H, W])."""
    return [n for n in names if len(shape) == 3 or not get_attacker_class(n).needs_map]


__all__ = ["ATTACKERS", "Attacker", "AttackerRecipe", "attackers_for", "get_attacker_class", "list_attackers", "register_attacker"]
