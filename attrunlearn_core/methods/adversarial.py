"""Adversarial removal with gradient reversal (Ganin & Lempitsky, 2015; Edwards & Storkey, 2016), fine-tuned from baseline-1.

An adversary head reads h and learns to predict z; between h and the head sits a gradient reversal
layer, so the same backward pass trains the head to find z and the extractor to hide it, while the task
loss keeps the classifier working. A composite attribute "a+b" gets one head per part. The reversal
coefficient ramps up over training (`schedule: dann`) or stays fixed (`constant`).

Levers to make it the strongest version of itself: an ensemble of adversaries per part (`adversaries`:
`mlp` on every element of h, `conv` a small conv net on h), extra adversary-only steps on detached h per
batch (`head_steps`, so the adversaries keep up with the extractor), and periodic re-initialisation of
one adversary in turn (`head_reset_steps`), so the extractor cannot settle into one head's blind spot.

The heads are discarded afterwards: fresh attackers, trained after the fact and possibly stronger than
the head, measure what the extractor still leaks.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from attrunlearn_core.divergence import check_finite_steps
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.fast_steps import FastSteps
from attrunlearn_core.methods import register_method
from attrunlearn_core.methods.base import MethodResult, UnlearningContext, UnlearningMethod
from attrunlearn_core.models import SplitModel
from attrunlearn_core.training import batches, random_hflip, to_input
from attrunlearn_core.unlearning.gradient_reversal import dann_coefficient, reverse_gradient
from attrunlearn_core.unlearning.params import require_bool, require_choice, require_number

ADVERSARY_KINDS = ("mlp", "conv")


def adversary_head(feature_shape: tuple[int, ...], num_classes: int, hidden: int, kind: str = "mlp") -> nn.Module:
    """`mlp`: an MLP on flattened h, as strong as the benchmark's MLP attacker; `conv`: two convolutions on h, pooled."""
    if kind == "conv" and len(feature_shape) == 3:  # a flat h has nothing to convolve: it gets the MLP
        channels = feature_shape[0]
        return nn.Sequential(
            nn.BatchNorm2d(channels, affine=False),
            nn.Conv2d(channels, 64, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, 64, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(256, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )
    size = 1
    for dim in feature_shape:
        size *= dim
    return nn.Sequential(nn.Flatten(), nn.BatchNorm1d(size, affine=False), nn.Linear(size, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


def reset_head(head: nn.Module, *optimizers: torch.optim.Optimizer) -> None:
    """Fresh weights and optimiser state for one adversary."""
    for module in head.modules():
        if module is not head and hasattr(module, "reset_parameters"):
            module.reset_parameters()
    for optimizer in optimizers:
        for parameter in head.parameters():
            optimizer.state.pop(parameter, None)


@register_method
class AdversarialRemoval(UnlearningMethod):
    name = "adversarial"
    # Tuned by configs/adversarial.yaml (embedded color, 3 seeds, five attackers): every lever at once (`adv_all`) was the
    # only variant that moved the worst attacker (0.969 vs 0.994-0.999) and the best on AUM; the earlier defaults (3
    # epochs, weight 1, one MLP adversary, no head steps or resets) are `adv_shipped` there.
    DEFAULTS = {
        "epochs": 10,
        "lr": 5e-4,  # extractor and classifier, cosine-decayed over the fine-tuning
        "head_lr": 1e-3,
        "batch_size": 128,
        # reversal coefficient (its maximum with schedule: dann). 1, not 3: on the study draw's front (configs/fronts.yaml)
        # the worst attacker is the same at 1, 3 and 10 (0.970-0.975) and fidelity falls with the weight (0.992, 0.971, 0.912)
        "adversary_weight": 1.0,
        "schedule": "dann",  # dann | constant
        "head_hidden": 256,
        "hflip": True,
        "adversaries": ["mlp", "conv"],  # heads per attribute part: mlp and/or conv
        "head_steps": 3,  # extra adversary-only steps on detached h per batch
        "head_reset_steps": 24,  # every this many batches one adversary is re-initialised, in turn (0: never)
    }

    @classmethod
    def resolve_params(cls, params: dict) -> dict:
        p = super().resolve_params(params)
        require_choice(cls.name, p, "schedule", ("dann", "constant"))
        for key in ("epochs", "batch_size", "head_hidden"):
            require_number(cls.name, p, key, minimum=1, integer=True)
        for key in ("head_steps", "head_reset_steps"):
            require_number(cls.name, p, key, minimum=0, integer=True)
        if not isinstance(p["adversaries"], list) or not p["adversaries"] or any(kind not in ADVERSARY_KINDS for kind in p["adversaries"]):
            raise ConfigError(f"{cls.name}: adversaries: {p['adversaries']!r} must be a non-empty list of {', '.join(ADVERSARY_KINDS)}")
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
        fast = FastSteps.for_device(device)
        fast.model(model.to(device))
        with torch.no_grad():
            model.eval()
            feature_shape = tuple(model.extractor(to_input(images[:1], device)).shape[1:])
        owners = [part for part in range(len(parts)) for _ in p["adversaries"]]
        heads = nn.ModuleList(
            [adversary_head(feature_shape, parts[part][1], p["head_hidden"], kind) for part in range(len(parts)) for kind in p["adversaries"]]
        ).to(device)
        optimizer = fast.adamw(
            [
                {"params": model.parameters(), "lr": p["lr"], "weight_decay": context.recipe.weight_decay},
                {"params": heads.parameters(), "lr": p["head_lr"], "weight_decay": 0.0},
            ]
        )
        head_optimizer = fast.adamw(heads.parameters(), lr=p["head_lr"], weight_decay=0.0)
        steps_per_epoch = -(-len(images) // p["batch_size"])
        total_steps = p["epochs"] * steps_per_epoch
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, [lambda s: 0.5 * (1 + math.cos(math.pi * s / total_steps)), lambda s: 1.0])
        step, coefficient = 0, 0.0
        model.train()
        heads.train()
        for epoch in range(p["epochs"]):
            # Every running sum stays on the device; the host reads them once per epoch (a GPU never waits inside one).
            task_loss, correct, seen, totals = torch.zeros((), dtype=torch.float64, device=device), [0] * len(parts), 0, []
            for index in batches(len(images), p["batch_size"], generator):
                coefficient = dann_coefficient(step / total_steps, p["adversary_weight"]) if p["schedule"] == "dann" else p["adversary_weight"]
                batch = random_hflip(images[index], generator) if p["hflip"] else images[index]
                with fast.autocast(device):
                    h = model.extractor(fast.inputs(to_input(batch, device)))
                    logits = model.classifier(h)
                h = h.float()  # the adversaries and every loss in float32
                loss = nn.functional.cross_entropy(logits.float(), task_labels[index].to(device))
                task_loss = task_loss + loss.detach().double() * len(index)
                zs = [labels[index].to(device) for labels, _ in parts]
                for _ in range(p["head_steps"]):  # the adversaries catch up on detached h before the joint step
                    head_loss = sum(nn.functional.cross_entropy(head(h.detach()), zs[part]) for head, part in zip(heads, owners, strict=True))
                    head_optimizer.zero_grad(set_to_none=True)
                    head_loss.backward()
                    head_optimizer.step()
                reversed_h = reverse_gradient(h, coefficient)
                for head, part in zip(heads, owners, strict=True):
                    logits = head(reversed_h)
                    loss = loss + nn.functional.cross_entropy(logits, zs[part]) / len(p["adversaries"])
                    correct[part] = correct[part] + (logits.argmax(1) == zs[part]).sum().double() / len(p["adversaries"])
                seen += len(index)
                totals.append(loss.detach().float())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                step += 1
                if p["head_reset_steps"] and step % p["head_reset_steps"] == 0:
                    reset_head(heads[(step // p["head_reset_steps"] - 1) % len(heads)], optimizer, head_optimizer)
            if totals:
                check_finite_steps(torch.stack(totals).cpu(), f"adversarial epoch {epoch + 1}")
        model.eval()
        metrics = {"task_loss": float(task_loss) / seen, "final_coefficient": coefficient}
        metrics.update({f"adversary_accuracy_{name}": float(c) / seen for name, c in zip(names, correct, strict=True)})
        return MethodResult(model, metrics)
