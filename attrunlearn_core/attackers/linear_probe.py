from __future__ import annotations

import math

from torch import nn


def build_linear_probe(feature_shape: tuple[int, ...], num_classes: int, hidden: int = 0) -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(feature_shape), num_classes))
