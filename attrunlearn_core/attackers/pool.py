"""An attacker's training pool: the (h, z) pairs it owns, however obtained, and the slices it fits and selects on.

The pool is attacker-train plus, by default, the `train` split's h under the model being attacked; attacker-test
stays disjoint from it. Each attacker also fits on a fraction of the pool: when the full pool beats that clearly,
the efficacy is still climbing with data and is a lower bound.
"""

from __future__ import annotations

import torch

from attrunlearn_core.attackers.base import FitData


def pool_subset(
    x: torch.Tensor, z: torch.Tensor, fraction: float, validation_fraction: float, num_classes: int, generator: torch.Generator
) -> FitData:
    """A random `fraction` of the pool, its first `validation_fraction` held out for early stopping."""
    order = torch.randperm(len(x), generator=generator)[: max(2, int(round(len(x) * fraction)))]
    n_val = max(1, int(len(order) * validation_fraction))
    val, fit = order[:n_val], order[n_val:]
    return FitData(x[fit], z[fit], x[val], z[val], num_classes)
