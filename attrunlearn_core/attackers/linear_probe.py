"""A linear softmax probe on the flattened, standardised features, trained by SGD with early stopping."""

from __future__ import annotations

import math

from torch import nn

from attrunlearn_core.attackers import register_attacker
from attrunlearn_core.attackers.neural import NeuralAttacker


@register_attacker
class LinearProbe(NeuralAttacker):
    name = "linear"

    def build(self, feature_shape: tuple[int, ...], num_classes: int) -> nn.Module:
        return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(feature_shape), num_classes))
