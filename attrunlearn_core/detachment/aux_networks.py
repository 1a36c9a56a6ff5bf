"""Auxiliary networks on the split feature map h, sized from h's shape (any ResNet width).

- ReconstructionDecoder: h -> image logits; its BCE estimates I(h, x) (lower reconstruction error,
  more information). Output resolution and width are parameters: a half-resolution target keeps the
  estimator honest about what h retains while costing a quarter of the full-resolution decoder.
- EstimatorHead: h -> embedding (supervised-contrastive loss) -> classifier (cross-entropy); one
  for the task y and, per attribute part z, an ensemble of adversaries (`attribute_heads`: kinds
  `conv`, pooled like the paper's heads, and `mlp`, on every element of h like the MLP attacker),
  each re-initialised in turn during training (`reset_attribute_head`) so h cannot settle into a
  blind spot of one head.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


class ReconstructionDecoder(nn.Module):
    def __init__(self, in_channels: int, in_size: int, out_size: int, width: int):
        super().__init__()
        self.out_size = out_size
        stages = max(0, math.ceil(math.log2(max(out_size, 1) / max(in_size, 1))))
        layers: list[nn.Module] = [nn.Conv2d(in_channels, width, 1), nn.ReLU(inplace=True)]
        channels = width
        for _ in range(stages):
            out = max(16, channels // 2)
            layers += [
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(channels, out, 3, padding=1),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            channels = out
        layers.append(nn.Conv2d(channels, 3, 3, padding=1))
        self.layers = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        logits = self.layers(h)
        if logits.shape[-2:] != (self.out_size, self.out_size):  # e.g. a token column [T, 1], or a size not a power of 2 away
            logits = F.interpolate(logits, size=(self.out_size, self.out_size), mode="bilinear", align_corners=False)
        return logits


class BatchStandardise(nn.Module):
    """Each element of h standardised over the batch, as the attackers standardise their inputs.

    Without it the extractor could blind a head by rescaling or shifting h (e.g. shrinking its
    variation towards zero, or into the dead zone of the head's ReLUs) without removing any
    information a freshly trained attacker, which standardises with the same tiny floor, would find.
    """

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return (h - h.mean(0, keepdim=True)) / h.std(0, keepdim=True).clamp_min(1e-6)


class EstimatorHead(nn.Module):
    """Standardise -> conv -> pooled to at most 4x4 -> MLP -> embedding -> linear classifier.

    The embedding is trained with the supervised-contrastive loss, the classifier on it with
    cross-entropy; the classifier's prediction p(label | h) is the head's estimate. No BatchNorm
    (the head also runs with frozen parameters) and leaky ReLUs (no unit can be switched off for
    good by the extractor).
    """

    def __init__(self, in_channels: int, width: int, hidden: int, embedding_dim: int, num_classes: int, kind: str = "conv", in_elements: int = 0):
        super().__init__()
        if kind == "mlp":  # every element of h, no pooling: the capacity of the MLP attacker
            self.features = nn.Sequential(BatchStandardise(), nn.Flatten())
            self.embed = nn.Sequential(nn.Linear(in_elements, hidden or 256), nn.LeakyReLU(0.1), nn.Linear(hidden or 256, embedding_dim))
        elif hidden == 0:  # linear: standardised, pooled h straight to the embedding
            self.features = nn.Sequential(BatchStandardise(), nn.AdaptiveAvgPool2d(4), nn.Flatten())
            self.embed = nn.Linear(in_channels * 16, embedding_dim)
        else:
            self.features = nn.Sequential(
                BatchStandardise(), nn.Conv2d(in_channels, width, 3, padding=1), nn.LeakyReLU(0.1), nn.AdaptiveAvgPool2d(4), nn.Flatten()
            )
            self.embed = nn.Sequential(nn.Linear(width * 16, hidden), nn.LeakyReLU(0.1), nn.Linear(hidden, embedding_dim))
        self.classify = nn.Linear(embedding_dim, num_classes)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedding = self.embed(self.features(h))
        return embedding, self.classify(embedding)


class AuxiliaryNetworks(nn.Module):
    """decoder + task head (cooperate with the extractor) and attribute heads (estimators, adversaries)."""

    def __init__(
        self, decoder: ReconstructionDecoder, task_head: EstimatorHead, attribute_heads: list[EstimatorHead], head_parts: list[int] | None = None
    ):
        super().__init__()
        self.decoder = decoder
        self.task_head = task_head
        self.attribute_heads = nn.ModuleList(attribute_heads)
        self.head_parts = head_parts if head_parts is not None else list(range(len(attribute_heads)))  # attribute part each head estimates
        self.fitted_steps = 0  # attribute-head fits so far (drives the periodic re-initialisation)
        # random projections of the MMD term, drawn from the seeded global generator at construction
        self.projection_generator = torch.Generator().manual_seed(int(torch.randint(2**62, ())))

    def cooperative_parameters(self):
        return [*self.decoder.parameters(), *self.task_head.parameters()]

    def heads_of_part(self, part: int) -> list[EstimatorHead]:
        return [head for head, owner in zip(self.attribute_heads, self.head_parts, strict=True) if owner == part]


def reset_attribute_head(head: EstimatorHead, optimizer: torch.optim.Optimizer) -> None:
    """Fresh weights and a fresh optimiser state for one adversary (it relearns z from the current h)."""
    for module in head.modules():
        if hasattr(module, "reset_parameters") and module is not head:
            module.reset_parameters()
    for parameter in head.parameters():
        optimizer.state.pop(parameter, None)


def build_auxiliary_networks(
    h_shape: tuple[int, int, int], image_size: int, task_classes: int, attribute_classes: list[int], params: dict
) -> AuxiliaryNetworks:
    channels, height, _ = h_shape
    head_width = params["head_width"] or max(32, channels // 2)
    decoder_width = params["decoder_width"] or max(32, channels // 2)
    out_size = max(4, round(image_size * params["decoder_scale"]))

    def head(classes: int, kind: str = "conv") -> EstimatorHead:
        return EstimatorHead(channels, head_width, params["head_hidden"], params["embedding_dim"], classes, kind, channels * height * h_shape[2])

    kinds = params.get("adversaries", ["conv"])
    heads, owners = [], []
    for part, classes in enumerate(attribute_classes):
        for kind in kinds:
            heads.append(head(classes, kind))
            owners.append(part)
    return AuxiliaryNetworks(ReconstructionDecoder(channels, height, out_size, decoder_width), head(task_classes), heads, owners)
