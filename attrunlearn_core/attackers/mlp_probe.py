from __future__ import annotations

import math

from torch import nn


def build_mlp_probe(feature_shape: tuple[int, ...], num_classes: int, hidden: int = 512) -> nn.Module:
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
