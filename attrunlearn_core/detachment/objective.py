"""One batch of the detachment objective.

The extractor minimises
    lambda_x * R(x|h) + lambda_y * L_y(h) + |lambda_z| * KL(u || p(z|h)) + lambda_means * G_z(h):
  - R is the decoder's BCE, an estimate of -I(h, x) up to a constant (keep what x carries);
  - L_y is the task head's loss (supervised-contrastive + cross-entropy), an estimate of
    -I(h, y) up to H(y) (keep the task);
  - KL(u || p(z|h)) and G_z (the class-mean gap) are the bounded attribute terms (losses.py); the
    KL goes through each attribute head with its parameters frozen, so it moves h only, never the head.
The decoder and the task head cooperate (they minimise the same loss). The attribute heads are
estimators: they take `head_steps` steps on their own loss on detached h (the inner maximisation
of the min-max): end-to-end on the current batch right before the extractor's update; in local
mode in stage 2, on the previous batch, so that stage 1 never waits on them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from attrunlearn_core.detachment.aux_networks import AuxiliaryNetworks, EstimatorHead
from attrunlearn_core.detachment.losses import class_mean_gap, conditional_class_mean_gap, frozen_call, reconstruction_bce, supcon_loss, uniform_kl


@dataclass(frozen=True)
class DetachmentWeights:
    lambda_x: float
    lambda_y: float
    lambda_z: float
    temperature: float
    head_steps: int = 1
    lambda_means: float = 0.0
    means_given_task: bool = False  # G_z within each task class (conditional_class_mean_gap)


def head_loss(head: EstimatorHead, h: torch.Tensor, labels: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """A head's own loss (SupCon on its embedding + cross-entropy of its classifier) and its logits."""
    embedding, logits = head(h)
    return supcon_loss(embedding, labels, temperature) + F.cross_entropy(logits, labels), logits


def fit_attribute_heads(h: torch.Tensor, attribute_parts: list[tuple[torch.Tensor, int]], aux: AuxiliaryNetworks,
                        optimizer: torch.optim.Optimizer, weights: DetachmentWeights) -> dict[str, torch.Tensor]:
    """The estimators' steps on detached h. Returns, from before the last step, I(h,z) estimated as
    sum over parts of log K - cross-entropy (nats; 0 when the head is at chance), and the heads' accuracy."""
    detached = h.detach()
    for _ in range(max(1, weights.head_steps)):
        total = detached.new_zeros(())
        information = detached.new_zeros(())
        accuracy = detached.new_zeros(())
        for head, (labels, classes) in zip(aux.attribute_heads, attribute_parts):
            loss, logits = head_loss(head, detached, labels, weights.temperature)
            total = total + loss
            with torch.no_grad():
                information += math.log(classes) - F.cross_entropy(logits, labels)
                accuracy += (logits.argmax(1) == labels).float().mean() / len(attribute_parts)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
    return {"attribute_information": information, "attribute_head_accuracy": accuracy}


def extractor_loss(h: torch.Tensor, images_uint8: torch.Tensor, task_labels: torch.Tensor, attribute_parts: list[tuple[torch.Tensor, int]],
                   aux: AuxiliaryNetworks, weights: DetachmentWeights) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """What the extractor, the decoder and the task head minimise; and detached scalars for logging."""
    reconstruction = reconstruction_bce(aux.decoder(h), images_uint8)
    task_term, _ = head_loss(aux.task_head, h, task_labels, weights.temperature)
    confusion = sum((uniform_kl(frozen_call(head, h)[1]) for head in aux.attribute_heads), h.new_zeros(()))
    if weights.means_given_task:
        gap = sum((conditional_class_mean_gap(h, labels, classes, task_labels, aux.task_head.classify.out_features) for labels, classes in attribute_parts), h.new_zeros(()))
    else:
        gap = sum((class_mean_gap(h, labels, classes) for labels, classes in attribute_parts), h.new_zeros(()))
    loss = weights.lambda_x * reconstruction + weights.lambda_y * task_term + abs(weights.lambda_z) * confusion + weights.lambda_means * gap
    return loss, {"reconstruction_bce": reconstruction.detach(), "task_head_loss": task_term.detach(), "attribute_confusion": confusion.detach(),
                  "attribute_mean_gap": gap.detach()}
