"""The gradient reversal layer (Ganin & Lempitsky, 2015): identity forward, gradient times -coefficient backward."""

from __future__ import annotations

import math

import torch


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, coefficient: float) -> torch.Tensor:
        ctx.coefficient = coefficient
        return x.view_as(x)

    @staticmethod
    def backward(ctx, gradient: torch.Tensor):
        return -ctx.coefficient * gradient, None


def reverse_gradient(x: torch.Tensor, coefficient: float = 1.0) -> torch.Tensor:
    return _ReverseGradient.apply(x, float(coefficient))


def dann_coefficient(progress: float, maximum: float) -> float:
    """Ganin et al.'s ramp 2 / (1 + exp(-10 p)) - 1 from 0 to `maximum` over training progress p in [0, 1]:
    the adversary gets to learn before the extractor is pushed hard against it."""
    progress = min(1.0, max(0.0, progress))
    return maximum * (2.0 / (1.0 + math.exp(-10.0 * progress)) - 1.0)
