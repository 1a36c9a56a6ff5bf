"""One batch of the detachment objective.

The extractor minimises
    lambda_x * R(x|h) + lambda_y * L_y(h) + |lambda_z| * KL(u || p(z|h)) + lambda_means * G_z(h)
    + lambda_club * CLUB(h, z) + lambda_mmd * MMD_z|y(h):
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

from attrunlearn_core.detachment.aux_networks import AuxiliaryNetworks, EstimatorHead, reset_attribute_head
from attrunlearn_core.detachment.losses import (
    class_mean_gap,
    club_upper_bound,
    conditional_class_mean_gap,
    conditional_mmd,
    frozen_call,
    reconstruction_bce,
    supcon_loss,
    uniform_kl,
)


@dataclass(frozen=True)
class DetachmentWeights:
    lambda_x: float
    lambda_y: float
    lambda_z: float
    temperature: float
    head_steps: int = 1
    lambda_means: float = 0.0
    means_given_task: bool = False  # G_z within each task class (conditional_class_mean_gap)
    lambda_club: float = 0.0
    lambda_mmd: float = 0.0
    mmd_projection: int = 0  # random directions h is projected on for the MMD each step (0: all of h)
    head_reset_steps: int = 0  # every this many head fits, one attribute head is re-initialised in turn (0: never)


def head_loss(head: EstimatorHead, h: torch.Tensor, labels: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """A head's own loss (SupCon on its embedding + cross-entropy of its classifier) and its logits."""
    embedding, logits = head(h)
    return supcon_loss(embedding, labels, temperature) + F.cross_entropy(logits, labels), logits


def fit_attribute_heads(
    h: torch.Tensor,
    attribute_parts: list[tuple[torch.Tensor, int]],
    aux: AuxiliaryNetworks,
    optimizer: torch.optim.Optimizer,
    weights: DetachmentWeights,
) -> dict[str, torch.Tensor]:
    """The estimators' steps on detached h. Returns, from before the last step, I(h,z) estimated as
    sum over parts of log K - cross-entropy of the part's best head (nats; 0 at chance), and the best heads' accuracy."""
    if weights.head_reset_steps and aux.fitted_steps and aux.fitted_steps % weights.head_reset_steps == 0:
        turn = aux.fitted_steps // weights.head_reset_steps - 1
        reset_attribute_head(aux.attribute_heads[turn % len(aux.attribute_heads)], optimizer)
    aux.fitted_steps += 1
    detached = h.detach()
    for _ in range(max(1, weights.head_steps)):
        total = detached.new_zeros(())
        entropy = [detached.new_full((), float("inf")) for _ in attribute_parts]
        correct = [detached.new_zeros(()) for _ in attribute_parts]
        for head, part in zip(aux.attribute_heads, aux.head_parts, strict=True):
            labels, _ = attribute_parts[part]
            loss, logits = head_loss(head, detached, labels, weights.temperature)
            total = total + loss
            with torch.no_grad():
                entropy[part] = torch.minimum(entropy[part], F.cross_entropy(logits, labels))
                correct[part] = torch.maximum(correct[part], (logits.argmax(1) == labels).float().mean())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
    information = sum((math.log(classes) - e for (_, classes), e in zip(attribute_parts, entropy, strict=True)), detached.new_zeros(()))
    accuracy = sum(correct, detached.new_zeros(())) / len(attribute_parts)
    return {"attribute_information": information, "attribute_head_accuracy": accuracy}


def _over_heads(term, h: torch.Tensor, attribute_parts: list[tuple[torch.Tensor, int]], aux: AuxiliaryNetworks) -> torch.Tensor:
    """Sum over attribute parts of the term's mean over the part's adversaries (each called with frozen parameters)."""
    total = h.new_zeros(())
    for part, (labels, _) in enumerate(attribute_parts):
        heads = aux.heads_of_part(part)
        total = total + sum(term(frozen_call(head, h)[1], labels) for head in heads) / len(heads)
    return total


def extractor_loss(
    h: torch.Tensor,
    images_uint8: torch.Tensor,
    task_labels: torch.Tensor,
    attribute_parts: list[tuple[torch.Tensor, int]],
    aux: AuxiliaryNetworks,
    weights: DetachmentWeights,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """What the extractor, the decoder and the task head minimise; and detached scalars for logging."""
    reconstruction = reconstruction_bce(aux.decoder(h), images_uint8)
    task_term, _ = head_loss(aux.task_head, h, task_labels, weights.temperature)
    confusion = _over_heads(lambda logits, _: uniform_kl(logits), h, attribute_parts, aux) if weights.lambda_z else h.new_zeros(())
    if weights.means_given_task:
        gap = sum(
            (conditional_class_mean_gap(h, labels, classes, task_labels, aux.task_head.classify.out_features) for labels, classes in attribute_parts),
            h.new_zeros(()),
        )
    else:
        gap = sum((class_mean_gap(h, labels, classes) for labels, classes in attribute_parts), h.new_zeros(()))
    loss = weights.lambda_x * reconstruction + weights.lambda_y * task_term + abs(weights.lambda_z) * confusion + weights.lambda_means * gap
    stats = {
        "reconstruction_bce": reconstruction.detach(),
        "task_head_loss": task_term.detach(),
        "attribute_confusion": confusion.detach(),
        "attribute_mean_gap": gap.detach(),
    }
    if weights.lambda_club:
        club = _over_heads(club_upper_bound, h, attribute_parts, aux)
        loss = loss + weights.lambda_club * club
        stats["attribute_club"] = club.detach()
    if weights.lambda_mmd:
        projection = None
        if weights.mmd_projection:
            projection = (
                torch.randn(h[0].numel(), weights.mmd_projection, generator=aux.projection_generator).to(h.device) / weights.mmd_projection**0.5
            )
        mmd = sum((conditional_mmd(h, labels, classes, task_labels, projection) for labels, classes in attribute_parts), h.new_zeros(()))
        loss = loss + weights.lambda_mmd * mmd
        stats["attribute_mmd"] = mmd.detach()
    return loss, stats
