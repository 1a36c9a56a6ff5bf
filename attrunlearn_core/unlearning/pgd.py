"""Targeted projected gradient descent under an L2 budget (Madry et al.), per example."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def project_l2(delta: torch.Tensor, eps: float) -> torch.Tensor:
    """Scale each example's perturbation back onto the L2 ball of radius eps if it left it."""
    norms = delta.flatten(1).norm(dim=1).clamp_min(1e-12)
    factor = (eps / norms).clamp(max=1.0)
    return delta * factor.view(-1, *[1] * (delta.dim() - 1))


def targeted_l2_pgd(
    forward: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    target: torch.Tensor,
    eps: float,
    steps: int,
    step_size: float | None = None,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> torch.Tensor:
    """Inputs within L2 distance eps of x (and inside `bounds`) that `forward` classifies more as `target`.

    Each step moves along the normalised gradient that lowers the cross-entropy towards the target,
    then projects back onto the ball and the valid input range. Gradients flow only to the input, so
    the model's parameter gradients are left untouched.
    """
    if steps <= 0 or eps <= 0:
        return x.detach().clone()
    step_size = step_size if step_size is not None else 2.5 * eps / steps
    x = x.detach()
    delta = torch.zeros_like(x)
    for _ in range(steps):
        delta.requires_grad_(True)
        loss = nn.functional.cross_entropy(forward(x + delta), target)
        (gradient,) = torch.autograd.grad(loss, delta)
        norms = gradient.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *[1] * (x.dim() - 1))
        delta = project_l2(delta.detach() - step_size * gradient / norms, eps)
        delta = (x + delta).clamp(*bounds) - x
    return (x + delta).detach()
