"""Adversarial removal with gradient reversal (Ganin & Lempitsky, 2015; Edwards & Storkey, 2016), fine-tuned from baseline-1.

An adversary head reads h and learns to predict z; between h and the head sits a gradient reversal
layer, so the same backward pass trains the head to find z and the extractor to hide it, while the task
loss keeps the classifier working. A composite attribute "a+b" gets one head per part. The reversal
coefficient ramps up over training (`schedule: dann`) or stays fixed (`constant`).

The heads are discarded afterwards: fresh attackers, trained after the fact and possibly stronger than
the head, measure what the extractor still leaks.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from attrunlearn_core.divergence import check_finite
from attrunlearn_core.methods import register_method
from attrunlearn_core.methods.base import MethodResult, UnlearningContext, UnlearningMethod
from attrunlearn_core.models import SplitModel
from attrunlearn_core.training import batches, random_hflip, to_input
from attrunlearn_core.unlearning.gradient_reversal import dann_coefficient, reverse_gradient
from attrunlearn_core.unlearning.params import require_bool, require_choice, require_number


def adversary_head(feature_shape: tuple[int, ...], num_classes: int, hidden: int) -> nn.Module:
    """An MLP on flattened h: as strong as the benchmark's MLP attacker, cheap next to the extractor."""
    size = 1
    for dim in feature_shape:
        size *= dim
    return nn.Sequential(nn.Flatten(), nn.BatchNorm1d(size, affine=False), nn.Linear(size, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


@register_method
class AdversarialRemoval(UnlearningMethod):
    name = "adversarial"
    DEFAULTS = {
        "epochs": 3,
        "lr": 5e-4,               # extractor and classifier, cosine-decayed over the fine-tuning
        "head_lr": 1e-3,
        "batch_size": 128,
        "adversary_weight": 1.0,  # reversal coefficient (its maximum with schedule: dann)
        "schedule": "dann",       # dann | constant
        "head_hidden": 256,
        "hflip": True,
    }

    @classmethod
    def resolve_params(cls, params: dict) -> dict:
        p = super().resolve_params(params)
        require_choice(cls.name, p, "schedule", ("dann", "constant"))
        for key in ("epochs", "batch_size", "head_hidden"):
            require_number(cls.name, p, key, minimum=1, integer=True)
        for key in ("lr", "head_lr"):
            require_number(cls.name, p, key, minimum=0.0, strict=True)
        require_number(cls.name, p, "adversary_weight", minimum=0.0)
        require_bool(cls.name, p, "hflip")
        return p

    def unlearn(self, model: SplitModel, context: UnlearningContext) -> MethodResult:
        p, device, generator = self.params, context.device, context.generator
        images, task_labels = context.train_images(), context.train_task_labels()
        parts = context.attribute_parts()
        names = context.attribute.split("+")
        model.to(device)
        with torch.no_grad():
            model.eval()
            feature_shape = tuple(model.extractor(to_input(images[:1], device)).shape[1:])
        heads = nn.ModuleList([adversary_head(feature_shape, classes, p["head_hidden"]) for _, classes in parts]).to(device)
        optimizer = torch.optim.AdamW([
            {"params": model.parameters(), "lr": p["lr"], "weight_decay": context.recipe.weight_decay},
            {"params": heads.parameters(), "lr": p["head_lr"], "weight_decay": 0.0},
        ])
        steps_per_epoch = -(-len(images) // p["batch_size"])
        total_steps = p["epochs"] * steps_per_epoch
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, [lambda s: 0.5 * (1 + math.cos(math.pi * s / total_steps)), lambda s: 1.0])
        step, coefficient = 0, 0.0
        model.train()
        heads.train()
        for _ in range(p["epochs"]):
            task_loss, correct, seen = 0.0, [0] * len(parts), 0
            for index in batches(len(images), p["batch_size"], generator):
                coefficient = dann_coefficient(step / total_steps, p["adversary_weight"]) if p["schedule"] == "dann" else p["adversary_weight"]
                batch = random_hflip(images[index], generator) if p["hflip"] else images[index]
                h = model.extractor(to_input(batch, device))
                loss = nn.functional.cross_entropy(model.classifier(h), task_labels[index].to(device))
                task_loss += loss.item() * len(index)
                reversed_h = reverse_gradient(h, coefficient)
                for i, (head, (labels, _)) in enumerate(zip(heads, parts)):
                    z = labels[index].to(device)
                    logits = head(reversed_h)
                    loss = loss + nn.functional.cross_entropy(logits, z)
                    correct[i] += (logits.argmax(1) == z).sum().item()
                seen += len(index)
                check_finite(loss, f"adversarial epoch {step // steps_per_epoch + 1} step {step % steps_per_epoch + 1}")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                step += 1
        model.eval()
        metrics = {"task_loss": task_loss / seen, "final_coefficient": coefficient}
        metrics.update({f"adversary_accuracy_{name}": c / seen for name, c in zip(names, correct)})
        return MethodResult(model, metrics)
