"""Instance-wise unlearning (Cha et al., "Learning to Unlearn"): make the model misclassify given train instances.

Forget loss on each forget instance, from the pre-trained model and the forget instances only:
- `neg_ce`: ascend the cross-entropy of the instance's original prediction;
- `relabel`: descend the cross-entropy towards a fixed random other class.
Two terms keep the rest of the model's knowledge:
- adversarial examples: targeted L2 PGD examples of the pre-trained model, grown from forget instances
  towards random other classes and labelled with the pre-trained model's own predictions on them;
  cross-entropy on them holds the decision boundaries near the forget instances in place;
- MAS: a penalty on moving the weights the pre-trained output depends on (importance measured on forget instances).
Training stops after the pass over the forget set that brings its accuracy to `target_forget_accuracy`, or at `max_steps`.

Two uses in the grid:
- forget_set: attribute -- forget every train instance whose attribute value is in `forget_values` (for a
  composite attribute "a+b" the joint value, mixed radix: value = a * num_classes(b) + b). This is sample-level
  unlearning applied to an attribute, the contrast of the attribute-unlearning paper's Fig. 1a: the task
  knowledge of those samples goes too, and fidelity pays.
- forget_set: random -- forget `forget_size` random train instances, the setting of Cha et al.; the attribute
  plays no part.

Batch-norm statistics stay those of the pre-trained model (the model is kept in eval mode): forget-only
batches would otherwise rewrite them and damage every class for reasons unrelated to the method.

Reported: forget, retained-train (train minus forget) and test accuracy before and after. The test split is
read only for that report, never for training.
"""

from __future__ import annotations

import torch
from torch import nn

from attrunlearn_core.divergence import check_finite
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.methods import register_method
from attrunlearn_core.methods.base import MethodResult, UnlearningContext, UnlearningMethod
from attrunlearn_core.models import SplitModel
from attrunlearn_core.training import PIXEL_MEAN, PIXEL_STD, accuracy, batches, predict, to_input
from attrunlearn_core.unlearning.mas import MASPenalty, mas_importance
from attrunlearn_core.unlearning.params import require_bool, require_choice, require_number
from attrunlearn_core.unlearning.pgd import targeted_l2_pgd


def _normalise(pixels: torch.Tensor) -> torch.Tensor:
    """[0, 1] pixels -> model input, the same normalisation as training.to_input."""
    return (pixels - PIXEL_MEAN) / PIXEL_STD


def _other_class(classes: torch.Tensor, num_classes: int, generator: torch.Generator) -> torch.Tensor:
    """A uniformly random class different from each given one."""
    shift = torch.randint(1, num_classes, classes.shape, generator=generator)
    return (classes + shift) % num_classes


@register_method
class InstanceUnlearning(UnlearningMethod):
    name = "instance_unlearning"
    DEFAULTS = {
        "forget_set": "attribute",  # attribute | random
        "forget_values": [0],  # attribute values whose instances are forgotten (forget_set: attribute)
        "forget_size": 64,  # number of random train instances to forget (forget_set: random)
        "mode": "neg_ce",  # neg_ce | relabel
        "use_adversarial": True,
        "adversarial_per_instance": 1,  # PGD examples per anchor instance, each towards its own random class
        "pgd_steps": 5,
        "pgd_eps": 0.5,  # L2 radius in [0, 1] pixel units
        "use_mas": True,
        "mas_lambda": 10.0,
        "anchor_instances": 128,  # forget instances (at most) that seed the PGD examples and the MAS importance
        "target_forget_accuracy": 0.0,
        "max_steps": 60,
        "batch_size": 32,
        "lr": 1e-5,
    }

    @classmethod
    def resolve_params(cls, params: dict) -> dict:
        p = super().resolve_params(params)
        require_choice(cls.name, p, "forget_set", ("attribute", "random"))
        require_choice(cls.name, p, "mode", ("neg_ce", "relabel"))
        for key in ("use_adversarial", "use_mas"):
            require_bool(cls.name, p, key)
        for key in ("forget_size", "adversarial_per_instance", "anchor_instances", "max_steps", "batch_size"):
            require_number(cls.name, p, key, minimum=1, integer=True)
        require_number(cls.name, p, "pgd_steps", minimum=0, integer=True)
        for key in ("pgd_eps", "mas_lambda"):
            require_number(cls.name, p, key, minimum=0.0)
        require_number(cls.name, p, "lr", minimum=0.0, strict=True)
        require_number(cls.name, p, "target_forget_accuracy", minimum=0.0)
        values = p["forget_values"] if isinstance(p["forget_values"], list) else [p["forget_values"]]
        if not values or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
            raise ConfigError(
                f"forget_values: {p['forget_values']!r} must be a non-negative integer or a non-empty list of them (method {cls.name!r})"
            )
        p["forget_values"] = values
        return p

    def forget_indices(self, context: UnlearningContext) -> torch.Tensor:
        """Positions within the train split of the instances to forget."""
        if self.params["forget_set"] == "random":
            n = len(context.train_task_labels())
            if self.params["forget_size"] >= n:
                raise ConfigError(f"forget_size: {self.params['forget_size']} must be smaller than the train split ({n}) (method {self.name!r})")
            return torch.randperm(n, generator=context.generator)[: self.params["forget_size"]].sort().values
        joint, classes = context.train_attribute_labels()
        values = self.params["forget_values"]
        if max(values) >= classes:
            raise ConfigError(
                f"forget_values: {values} out of range for attribute {context.attribute!r} with {classes} values (method {self.name!r})"
            )
        index = torch.isin(joint, torch.tensor(values)).nonzero().flatten()
        if len(index) == 0 or len(index) == len(joint):
            raise ConfigError(
                f"forget_values: {values} select {len(index)} of {len(joint)} train instances of {context.attribute!r}; "
                f"need some but not all (method {self.name!r})"
            )
        return index

    def unlearn(self, model: SplitModel, context: UnlearningContext) -> MethodResult:
        p, device, generator = self.params, context.device, context.generator
        model.to(device).eval()
        images, labels = context.train_images(), context.train_task_labels()
        forget = self.forget_indices(context)
        retain = torch.ones(len(images), dtype=torch.bool)
        retain[forget] = False
        forget_images, forget_labels = images[forget], labels[forget]
        num_classes = context.prepared.num_classes[context.task]
        original = predict(model, forget_images, device)
        metrics = {"forget_size": float(len(forget)), "forget_accuracy_before": (original == forget_labels).float().mean().item()}
        targets = original if p["mode"] == "neg_ce" else _other_class(original, num_classes, generator)
        anchor = torch.randperm(len(forget), generator=generator)[: p["anchor_instances"]]
        adversarial = (
            self._adversarial_examples(model, forget_images[anchor], original[anchor], num_classes, generator, device)
            if p["use_adversarial"]
            else None
        )
        if adversarial is not None:
            metrics["adversarial_examples"] = float(len(adversarial[0]))
            metrics["adversarial_success"] = adversarial[2]
        penalty = None
        if p["use_mas"]:
            anchor_inputs = (to_input(forget_images[anchor[i : i + 64]], device) for i in range(0, len(anchor), 64))
            penalty = MASPenalty(model, mas_importance(model, anchor_inputs))

        optimizer = torch.optim.Adam(model.parameters(), lr=p["lr"])
        steps, forget_accuracy = 0, metrics["forget_accuracy_before"]
        while forget_accuracy > p["target_forget_accuracy"] and steps < p["max_steps"]:
            for index in batches(len(forget), p["batch_size"], generator):
                logits = model(to_input(forget_images[index], device))
                loss = nn.functional.cross_entropy(logits, targets[index].to(device))
                loss = -loss if p["mode"] == "neg_ce" else loss
                if adversarial is not None:
                    pick = torch.randint(0, len(adversarial[0]), (len(index),), generator=generator)
                    adversarial_logits = model(_normalise(adversarial[0][pick].to(device)))
                    loss = loss + nn.functional.cross_entropy(adversarial_logits, adversarial[1][pick].to(device))
                check_finite(loss, f"instance_unlearning step {steps + 1}")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if penalty is not None:
                    penalty.add_gradient(model, p["mas_lambda"])
                optimizer.step()
                steps += 1
                if steps >= p["max_steps"]:
                    break
            forget_accuracy = accuracy(model, forget_images, forget_labels, device)
        test_images, test_labels = context.prepared.split_images("test"), context.prepared.split_labels("test", context.task)
        metrics.update(
            {
                "forget_accuracy": forget_accuracy,
                "retain_accuracy": accuracy(model, images[retain], labels[retain], device),
                "test_accuracy": accuracy(model, test_images, test_labels, device),  # reported only; the test split never trains
                "steps": float(steps),
            }
        )
        return MethodResult(model, metrics)

    def _adversarial_examples(
        self,
        model: SplitModel,
        anchor_images: torch.Tensor,
        anchor_predictions: torch.Tensor,
        num_classes: int,
        generator: torch.Generator,
        device: torch.device,
    ) -> tuple[torch.Tensor, torch.Tensor, float]:
        """(pixels in [0, 1], the pre-trained model's labels for them, fraction that reached their PGD target)."""
        p = self.params
        copies = p["adversarial_per_instance"]
        sources = anchor_images.repeat(copies, 1, 1, 1)
        goals = _other_class(anchor_predictions.repeat(copies), num_classes, generator)
        examples, predicted = [], []
        for start in range(0, len(sources), 64):
            pixels = sources[start : start + 64].to(device).float() / 255.0
            adversarial = targeted_l2_pgd(lambda x: model(_normalise(x)), pixels, goals[start : start + 64].to(device), p["pgd_eps"], p["pgd_steps"])
            with torch.no_grad():
                predicted.append(model(_normalise(adversarial)).argmax(1).cpu())
            examples.append(adversarial.cpu())
        labels = torch.cat(predicted)
        return torch.cat(examples), labels, (labels == goals).float().mean().item()
