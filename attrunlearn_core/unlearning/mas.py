"""Memory Aware Synapses (Aljundi et al., 2018): which weights the model's output depends on, and a penalty on moving them.

A weight's importance is the mean absolute gradient of the squared L2 norm of the output with respect
to it; no labels are needed. The gradient is taken per mini-batch rather than per example (the usual
cheaper approximation).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn


def mas_importance(
    model: nn.Module, inputs: Iterable[torch.Tensor], forward: Callable[[torch.Tensor], torch.Tensor] | None = None
) -> dict[str, torch.Tensor]:
    """Importance per trainable parameter, averaged over the given input batches and scaled to mean 1 over all weights.

    The scaling makes the penalty's coefficient independent of the model's output scale and size.
    """
    forward = forward or model
    parameters = {name: p for name, p in model.named_parameters() if p.requires_grad}
    importance = {name: torch.zeros_like(p) for name, p in parameters.items()}
    for batch in inputs:
        output = forward(batch)
        squared_norm = output.pow(2).sum(dim=1).mean()
        gradients = torch.autograd.grad(squared_norm, list(parameters.values()), allow_unused=True)
        for name, gradient in zip(parameters, gradients, strict=True):
            if gradient is not None:
                importance[name] += gradient.abs() * len(batch)
    total = sum(v.sum() for v in importance.values())
    size = sum(v.numel() for v in importance.values())
    scale = size / total if total > 0 else 1.0
    return {name: v * scale for name, v in importance.items()}


class MASPenalty:
    """sum_i importance_i * (theta_i - anchor_i)^2, anchored at the weights it was built with."""

    def __init__(self, model: nn.Module, importance: dict[str, torch.Tensor]):
        self.importance = importance
        self.anchor = {name: p.detach().clone() for name, p in model.named_parameters() if name in importance}

    def value(self, model: nn.Module) -> torch.Tensor:
        terms = [(self.importance[name] * (p - self.anchor[name]).pow(2)).sum() for name, p in model.named_parameters() if name in self.importance]
        return torch.stack(terms).sum() if terms else torch.zeros(())

    @torch.no_grad()
    def add_gradient(self, model: nn.Module, weight: float) -> None:
        """Add weight * d(value)/d(theta) to each parameter's .grad: the same as back-propagating
        weight * value(model), without building a graph over every weight of the model."""
        for name, p in model.named_parameters():
            if name not in self.importance:
                continue
            gradient = self.importance[name] * (p - self.anchor[name]) * (2.0 * weight)
            if p.grad is None:
                p.grad = gradient
            else:
                p.grad.add_(gradient)
