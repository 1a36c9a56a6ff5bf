"""The fine-tune control: baseline-1 trained further on the task alone, with detachment's budget and optimiser.

Same epochs, batches, learning rates, weight decay and schedule as detachment (the extractor's rate cosine-decayed to
zero over the steps, the classifier's constant), and no unlearning term. Whatever this row gains in fidelity, or
loses in leakage, over baseline-1 is extra training, not unlearning: a method's row is read against this one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import torch
from torch import nn

from attrunlearn_core.detachment.batch_plan import full_batches_only, plan_epochs, step_images
from attrunlearn_core.divergence import check_finite_steps
from attrunlearn_core.fast_steps import FastSteps
from attrunlearn_core.methods import register_method
from attrunlearn_core.methods.base import MethodResult, UnlearningContext, UnlearningMethod
from attrunlearn_core.methods.detachment import Detachment
from attrunlearn_core.models import SplitModel
from attrunlearn_core.training import to_input
from attrunlearn_core.unlearning.params import require_number

log = logging.getLogger(__name__)

MATCHED = ("epochs", "batch_size", "lr", "classifier_lr", "weight_decay")  # taken from detachment's defaults


@register_method
class Finetune(UnlearningMethod):
    name = "finetune"
    DEFAULTS = {key: Detachment.DEFAULTS[key] for key in MATCHED}

    @classmethod
    def resolve_params(cls, params: dict) -> dict:
        p = super().resolve_params(params)
        require_number(cls.name, p, "epochs", minimum=1, integer=True)
        require_number(cls.name, p, "batch_size", minimum=0, integer=True)
        for key in ("lr", "classifier_lr", "weight_decay"):
            require_number(cls.name, p, key, minimum=0.0)
        return p

    def unlearn(self, model: SplitModel, context: UnlearningContext) -> MethodResult:
        return finetune_on_task(model, context, self.params, self.name)


def finetune_on_task(
    model: SplitModel,
    context: UnlearningContext,
    p: dict,
    name: str,
    penalty: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    weight: float = 0.0,
) -> MethodResult:
    """The fine-tune loop; `penalty(h, index)`, if given, is added to the task loss times `weight` at every step
    (h the extractor's output for the batch, index the batch's positions in the train split)."""
    device = context.device
    fast = FastSteps.for_device(device)
    images, task = context.train_images(), context.train_task_labels()
    if device.type == "cuda":  # the train split lives on the GPU, so no step waits on a copy from the host
        images, task = images.to(device), task.to(device)
    fast.model(model.to(device))
    optimizer = torch.optim.AdamW(
        [{"params": model.extractor.parameters(), "lr": p["lr"]}, {"params": model.classifier.parameters(), "lr": p["classifier_lr"]}],
        weight_decay=p["weight_decay"],
        fused=True,  # as detachment's optimisers (also on a CPU, where it is ~3x faster)
    )
    batch_size = p["batch_size"] or context.recipe.batch_size
    plan = plan_epochs(len(images), batch_size, int(p["epochs"]), context.recipe.hflip, context.generator)
    if fast.static_shapes:
        plan = full_batches_only(plan, batch_size)
    total = max(1, sum(len(steps) for steps in plan))
    cosine = lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total))  # noqa: E731
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, [cosine, lambda _: 1.0])
    model.to(device).train()
    task_mean = penalty_mean = float("nan")
    for epoch, steps in enumerate(plan):
        # Each step's losses stay on the device; the host reads them once, at the epoch's end (a GPU never waits
        # inside an epoch), and a non-finite total then stops training, naming its step.
        task_losses, penalties, totals = [], [], []
        for step in steps:
            with fast.autocast(device):
                h = model.extractor(fast.inputs(to_input(step_images(images, step), device)))
                loss = nn.functional.cross_entropy(model.classifier(h), task[step.index].to(device))
                task_losses.append(loss.detach().float())
                if penalty is not None:
                    term = penalty(h, step.index)
                    penalties.append(term.detach().float())
                    loss = loss + weight * term
            totals.append(loss.detach().float())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        if not steps:
            continue
        check_finite_steps(torch.stack(totals).cpu(), f"{name} epoch {epoch + 1}")
        task_mean = torch.stack(task_losses).mean().item()
        if penalty is None:
            log.info("epoch %d/%d task loss %.4f", epoch + 1, len(plan), task_mean)
        else:
            penalty_mean = torch.stack(penalties).mean().item()
            log.info("epoch %d/%d task loss %.4f penalty %.4f", epoch + 1, len(plan), task_mean, penalty_mean)
    metrics = {"task_loss": task_mean} if penalty is None else {"task_loss": task_mean, "penalty": penalty_mean}
    return MethodResult(model.eval(), metrics)
