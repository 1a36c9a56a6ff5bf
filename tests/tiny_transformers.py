"""Tiny ViT and Swin (a few thousand parameters, 16 px) built through the same classes as vit_b_16 and swin_t."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.swin_transformer import SwinTransformer
from torchvision.models.vision_transformer import VisionTransformer

from attrunlearn_core.models import SplitModel, split_model

SIZE = 16
# Where each family is split: after the first of two encoder layers; after Swin's second stage (as ResNet's layer2).
SPLIT_AFTER = {"vit": "encoder.layers.encoder_layer_0", "swin": "features.3"}


def tiny_transformer(family: str, num_classes: int = 4) -> nn.Module:
    if family == "vit":  # 4x4 patches of 4 px + a class token: h is 17 tokens of 32 dims
        return VisionTransformer(image_size=SIZE, patch_size=4, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=num_classes)
    if family == "swin":  # 4x4 tokens after the patch embedding, 2x2 after the first merge: h is 2x2 (channels-last) x 32
        return SwinTransformer(
            patch_size=[4, 4], embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 2, 2, 2], window_size=[2, 2], num_classes=num_classes
        )
    raise ValueError(family)


def tiny_split_transformer(family: str, num_classes: int = 4, seed: int = 0) -> SplitModel:
    torch.manual_seed(seed)
    return split_model(tiny_transformer(family, num_classes), SPLIT_AFTER[family], SIZE).eval()
