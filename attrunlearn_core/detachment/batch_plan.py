"""Every step's sample indices and flips, drawn up front from the seeded generator.

Both training modes consume the same plan, and in local mode the two pipeline stages read it
in order, so thread scheduling can never change which batch a stage sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from attrunlearn_core.training import batches


@dataclass(frozen=True)
class Step:
    index: torch.Tensor  # int64 sample indices into the train split
    flip: torch.Tensor  # bool, which of them to mirror


def plan_epochs(num_samples: int, batch_size: int, epochs: int, hflip: bool, generator: torch.Generator) -> list[list[Step]]:
    plan = []
    for _ in range(epochs):
        steps = []
        for index in batches(num_samples, batch_size, generator):
            flip = torch.rand(len(index), generator=generator) < 0.5 if hflip else torch.zeros(len(index), dtype=torch.bool)
            if len(index) >= 2:  # BatchNorm and the contrastive loss need two samples
                steps.append(Step(index, flip))
        plan.append(steps)
    return plan


def full_batches_only(plan: list[list[Step]], batch_size: int) -> list[list[Step]]:
    """Each epoch without its last partial batch (unless that is all it has): every step of one shape, for a GPU.
    The plan is drawn first, so the generator's draws, and every other step, are the same as with it."""
    return [[step for step in steps if len(step.index) == batch_size] or steps for steps in plan]


def step_images(images: torch.Tensor, step: Step) -> torch.Tensor:
    batch = images[step.index]
    if step.flip.any():
        batch[step.flip] = batch[step.flip].flip(-1)
    return batch
