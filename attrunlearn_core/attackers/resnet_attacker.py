"""The paper's attacker: a ResNet18 backbone that takes the feature map h as its input image."""
from __future__ import annotations

import torchvision
from torch import nn


def build_resnet_attacker(feature_shape: tuple[int, ...], num_classes: int, hidden: int = 64) -> nn.Module:
    channels = feature_shape[0]
    network = torchvision.models.resnet18(weights=None, num_classes=num_classes)
    # h is already small (e.g. 128x4x4): keep its resolution instead of the 4x stem downsampling.
    network.conv1 = nn.Conv2d(channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
    network.maxpool = nn.Identity()
    return network
