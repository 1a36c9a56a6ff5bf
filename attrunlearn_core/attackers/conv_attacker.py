"""A small convolutional attacker on the h map: two 3x3 conv blocks at h's resolution, then a linear read-out.

It sees spatial structure as the ResNet18 attacker does, at a fraction of its cost on small maps (a 4x4 h
leaves ResNet18's last stages at 1x1, where their 3x3 convolutions mostly multiply padding).
"""

from __future__ import annotations

from torch import nn

from attrunlearn_core.attackers import register_attacker
from attrunlearn_core.attackers.neural import NeuralAttacker


@register_attacker
class ConvAttacker(NeuralAttacker):
    name = "conv"
    needs_map = True

    def build(self, feature_shape: tuple[int, ...], num_classes: int) -> nn.Module:
        channels, height, width = feature_shape
        width_out = max(16, self.recipe.hidden // 8)
        return nn.Sequential(
            nn.Conv2d(channels, width_out, kernel_size=3, padding=1),
            nn.BatchNorm2d(width_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(width_out, width_out, kernel_size=3, padding=1),
            nn.BatchNorm2d(width_out),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d((min(height, 4), min(width, 4))),
            nn.Flatten(),
            nn.Dropout(0.2),
            nn.Linear(width_out * min(height, 4) * min(width, 4), num_classes),
        )
