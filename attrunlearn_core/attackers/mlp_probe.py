"""A two-hidden-layer MLP on the flattened, standardised features."""

from __future__ import annotations

import math

from torch import nn

from attrunlearn_core.attackers import register_attacker
from attrunlearn_core.attackers.neural import NeuralAttacker


@register_attacker
class MLPProbe(NeuralAttacker):
    name = "mlp"

    def build(self, feature_shape: tuple[int, ...], num_classes: int) -> nn.Module:
        hidden = self.recipe.hidden
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(feature_shape), hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(0.2),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )
