"""The layout of a module's output, and the adapters that show every layout as a feature map [N, C, H, W].

Convolutional networks hand a stage's output on as [N, C, H, W]. Transformers do not: a ViT encoder
layer outputs tokens [N, T, D] (class token first), a Swin stage a channels-last map [N, H, W, C].
The split model turns h into [N, C, H, W] at the end of the extractor and back at the start of the
classifier (a pure re-layout, so extractor∘classifier is still the unsplit model), and everything that
reads h (attackers, auxiliary heads, decoders) sees one layout. Grad-CAM needs the same view of a
target layer's output, with the class token dropped so the patch tokens form the image grid.
"""

from __future__ import annotations

import math

import torch
from torch import fx, nn

CHANNELS_FIRST, CHANNELS_LAST, TOKENS, VECTOR = "channels_first", "channels_last", "tokens", "vector"


def _permute_dims(node: fx.Node) -> tuple[int, ...] | None:
    if node.op == "call_function" and node.target in (torch.permute,) and len(node.args) > 1:
        return tuple(node.args[1])
    if node.op == "call_method" and node.target == "permute":
        dims = node.args[1:]
        return tuple(dims[0]) if len(dims) == 1 and isinstance(dims[0], (list, tuple)) else tuple(dims)
    return None


def layout_of(ndim: int, later_nodes: list[fx.Node]) -> str:
    """A 4-d output is channels-last when the first permute that runs after it is [0, 3, 1, 2]: Swin's
    final Permute. ConvNeXt blocks permute [0, 2, 3, 1] first, so a ConvNeXt stage stays channels-first."""
    if ndim == 2:
        return VECTOR
    if ndim == 3:
        return TOKENS
    for node in later_nodes:
        dims = _permute_dims(node)
        if dims is not None:
            return CHANNELS_LAST if dims == (0, 3, 1, 2) else CHANNELS_FIRST
    return CHANNELS_FIRST


class AsFeatureMap(nn.Module):
    """tokens [N, T, D] -> [N, D, T, 1]; channels-last [N, H, W, C] -> [N, C, H, W]; [N, D] -> [N, D, 1, 1]."""

    def __init__(self, layout: str):
        super().__init__()
        self.layout = layout

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.layout == TOKENS:
            return h.transpose(1, 2).unsqueeze(-1).contiguous()
        if self.layout == CHANNELS_LAST:
            return h.permute(0, 3, 1, 2).contiguous()
        if self.layout == VECTOR:
            return h[:, :, None, None]
        return h

    def extra_repr(self) -> str:
        return self.layout


class FromFeatureMap(nn.Module):
    """The inverse of AsFeatureMap: what the rest of the network expects."""

    def __init__(self, layout: str):
        super().__init__()
        self.layout = layout

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        if self.layout == TOKENS:
            return h.squeeze(-1).transpose(1, 2).contiguous()
        if self.layout == CHANNELS_LAST:
            return h.permute(0, 2, 3, 1).contiguous()
        if self.layout == VECTOR:
            return h.flatten(1)
        return h

    def extra_repr(self) -> str:
        return self.layout


def cam_reshape_transform(layout: str):
    """pytorch_grad_cam's reshape_transform for a target layer with this output layout (None: already [N, C, H, W])."""
    if layout == CHANNELS_LAST:
        return lambda a: a.permute(0, 3, 1, 2)
    if layout == TOKENS:
        return tokens_to_grid
    return None


def tokens_to_grid(tokens: torch.Tensor) -> torch.Tensor:
    """[N, T, D] patch tokens -> [N, D, g, g]; a leading class token (T = 1 + g²) is dropped."""
    count = tokens.shape[1]
    side = math.isqrt(count)
    if side * side != count:
        side = math.isqrt(count - 1)
        if side * side != count - 1:
            raise ValueError(f"{count} tokens are neither a square grid nor a class token and a square grid")
        tokens = tokens[:, 1:]
    return tokens.reshape(tokens.shape[0], side, side, tokens.shape[2]).permute(0, 3, 1, 2)


def spatial_view(h: torch.Tensor) -> torch.Tensor:
    """h as AsFeatureMap gives it, with tokens ([N, D, T, 1]) laid back out on their patch grid [N, D, g, g] (class
    token dropped), for what reads h as an image (the recovery decoder). Other maps are already spatial."""
    if h.ndim == 4 and h.shape[-1] == 1 and h.shape[-2] > 1:
        try:
            return tokens_to_grid(h.squeeze(-1).transpose(1, 2)).contiguous()
        except ValueError:  # not a square grid of patches: the decoder reads the token column as it is
            return h
    return h
