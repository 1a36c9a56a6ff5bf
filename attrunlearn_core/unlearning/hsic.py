"""The Hilbert-Schmidt independence criterion (Gretton et al., 2005) between a representation and a label.

With a characteristic kernel on h, HSIC is zero only when h and z are independent, so driving it to zero leaves
nothing for any attacker, linear or not. Normalised by both kernels' own HSIC (kernel CKA), it lies in [0, 1], so a
penalty weight means the same whatever the width of h.
"""

from __future__ import annotations

import torch
from torch import nn

from attrunlearn_core.detachment.losses import gaussian_kernel


def _centre(kernel: torch.Tensor) -> torch.Tensor:
    return kernel - kernel.mean(0, keepdim=True) - kernel.mean(1, keepdim=True) + kernel.mean()


def normalised_hsic(h: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """HSIC(h, z) / sqrt(HSIC(h, h) HSIC(z, z)) over a batch: a sum of Gaussian kernels on h, each element of h
    standardised over the batch (rescaling an element cannot hide z), and the delta kernel on z."""
    flat = h.flatten(1)
    flat = (flat - flat.mean(0, keepdim=True)) / flat.std(0, keepdim=True).clamp_min(1e-6)
    one_hot = nn.functional.one_hot(labels, num_classes).to(flat.dtype)
    k, l = _centre(gaussian_kernel(flat)), _centre(one_hot @ one_hot.T)  # noqa: E741
    scale = k.norm() * l.norm()
    if scale <= 1e-12:  # one z value in the batch, or h constant: nothing to measure
        return h.sum() * 0.0
    return (k * l).sum() / scale


def hsic_given(h: torch.Tensor, labels: torch.Tensor, num_classes: int, given: torch.Tensor) -> torch.Tensor:
    """normalised_hsic within each group of `given` (the task class), weighted by the group's share of the batch:
    removes what z says beyond the task, and keeps z's part that the task itself carries."""
    total = h.sum() * 0.0
    for group in torch.unique(given):
        members = given == group
        if members.sum() > 2:
            total = total + normalised_hsic(h[members], labels[members], num_classes) * members.float().mean()
    return total
