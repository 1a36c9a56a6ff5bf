"""The paper's attacker: a ResNet18 backbone that takes the feature map h as its input image."""

from __future__ import annotations

import torchvision
from torch import nn

from attrunlearn_core.attackers import register_attacker
from attrunlearn_core.attackers.neural import NeuralAttacker


@register_attacker
class ResNetAttacker(NeuralAttacker):
    name = "resnet"
    needs_map = True

    def build(self, feature_shape: tuple[int, ...], num_classes: int) -> nn.Module:
        network = torchvision.models.resnet18(weights=None, num_classes=num_classes)
        # h is already small (e.g. 128x4x4): keep its resolution instead of the 4x stem downsampling.
        network.conv1 = nn.Conv2d(feature_shape[0], 64, kernel_size=3, stride=1, padding=1, bias=False)
        network.maxpool = nn.Identity()
        return network
