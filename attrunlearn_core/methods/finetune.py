"""The fine-tune control: baseline-1 trained further on the task alone, with detachment's budget and optimiser.

Same epochs, batches, learning rates, weight decay and schedule as detachment (the extractor's rate cosine-decayed to
zero over the steps, the classifier's constant), and no unlearning term. Whatever this row gains in fidelity, or
loses in leakage, over baseline-1 is extra training, not unlearning: a method's row is read against this one.
"""

from __future__ import annotations

import logging
import math

import torch
from torch import nn

from attrunlearn_core.detachment.batch_plan import plan_epochs, step_images
from attrunlearn_core.divergence import check_finite
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
        p, device = self.params, context.device
        images, task = context.train_images(), context.train_task_labels()
        optimizer = torch.optim.AdamW(
            [{"params": model.extractor.parameters(), "lr": p["lr"]}, {"params": model.classifier.parameters(), "lr": p["classifier_lr"]}],
            weight_decay=p["weight_decay"],
            fused=True,  # as detachment's optimisers
        )
        plan = plan_epochs(len(images), p["batch_size"] or context.recipe.batch_size, int(p["epochs"]), context.recipe.hflip, context.generator)
        total = max(1, sum(len(steps) for steps in plan))
        cosine = lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total))  # noqa: E731
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, [cosine, lambda _: 1.0])
        model.to(device).train()
        loss_mean = float("nan")
        for epoch, steps in enumerate(plan):
            losses = []
            for number, step in enumerate(steps):
                loss = nn.functional.cross_entropy(model(to_input(step_images(images, step), device)), task[step.index].to(device))
                check_finite(loss, f"finetune epoch {epoch + 1} step {number + 1}")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                losses.append(loss.item())
            loss_mean = sum(losses) / max(1, len(losses))
            log.info("epoch %d/%d task loss %.4f", epoch + 1, len(plan), loss_mean)
        return MethodResult(model.eval(), {"task_loss": loss_mean})
