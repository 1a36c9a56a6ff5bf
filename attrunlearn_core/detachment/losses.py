"""Loss terms of representation detachment.

The attribute term is bounded, in parts:
- Each attribute head is an estimator of I(h, z) = H(z) - E[-log p(z|h)]: it keeps minimising its
  own loss (supervised-contrastive on its embedding plus cross-entropy of its classifier) on
  detached h. The extractor does not maximise that loss, which is unbounded (it grows without limit
  when the head is confidently wrong, which leaks z just as well). It minimises the KL divergence
  from the uniform distribution to the head's prediction p(z|h) (`uniform_kl`): >= 0, and 0 exactly
  when the prediction carries no information about z.
- A learned head can be dodged: the extractor moves z into directions the head has not learned yet.
  `class_mean_gap` measures z's mark on every element of h in h's own coordinates, in [0, 1], so
  moving information around does not lower it.
- Beyond the heads (optional, `lambda_club`, `lambda_mmd`): CLUB, an upper bound on I(h, z) through
  each head's q(z|h) that is meant to be minimised (`club_upper_bound`), and the class-conditional
  MMD between the h of different z values within each task class (`conditional_mmd`), which sees
  every difference of distribution, not only the class means.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def supcon_loss(embeddings: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """Supervised contrastive loss (Khosla et al. 2020): same-label samples pulled together, others pushed apart."""
    z = F.normalize(embeddings, dim=1)
    logits = z @ z.T / temperature
    self_mask = torch.eye(len(z), dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    counts = positives.sum(1)
    anchors = (counts > 0).to(log_prob.dtype)  # as weights, not a mask index: no host sync on a GPU; no anchor gives 0
    mean_log_prob = log_prob.masked_fill(~positives, 0.0).sum(1) / counts.clamp_min(1)
    return -(mean_log_prob * anchors).sum() / anchors.sum().clamp_min(1)


def uniform_kl(logits: torch.Tensor) -> torch.Tensor:
    """KL(uniform || softmax(logits)), averaged over the batch: >= 0, 0 iff every prediction is uniform."""
    log_p = torch.log_softmax(logits, dim=1)
    return -log_p.mean(1).mean() - math.log(logits.shape[1])


def reconstruction_bce(decoder_logits: torch.Tensor, images_uint8: torch.Tensor) -> torch.Tensor:
    """BCE against the image scaled to [0, 1], resized (area) to the decoder's resolution."""
    target = images_uint8.to(decoder_logits.device, non_blocking=True).float() / 255.0
    if target.shape[-2:] != decoder_logits.shape[-2:]:
        target = F.interpolate(target, size=decoder_logits.shape[-2:], mode="area")
    return F.binary_cross_entropy_with_logits(decoder_logits, target)


def frozen_call(module: nn.Module, inputs: torch.Tensor):
    """module(inputs) with its parameters treated as constants: gradients reach the inputs only."""
    params = {name: p.detach() for name, p in module.named_parameters()}
    return torch.func.functional_call(module, params, (inputs,))


def class_mean_gap(h: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Mean over the elements of h of sqrt(eta squared), their between-class share of variance: in [0, 1].

    0 exactly when every element has the same mean in every class, i.e. no linear read-out of h
    separates the classes' means (linear guardedness). Measured in h's own coordinates, so the
    extractor cannot lower it by moving information into other directions, as it can against a
    learned head. The square root keeps pushing on small residual gaps, where eta squared's
    gradient would vanish.
    """
    flat = h.flatten(1)
    centred = flat - flat.mean(0, keepdim=True)
    one_hot = F.one_hot(labels, num_classes).to(flat.dtype)
    counts = one_hot.sum(0).clamp_min(1)
    between = ((one_hot.T @ centred).pow(2) / counts[:, None]).sum(0)  # [d]
    total = centred.pow(2).sum(0).clamp_min(1e-12)
    return (between / total + 1e-8).sqrt().mean()


def conditional_class_mean_gap(
    h: torch.Tensor, labels: torch.Tensor, num_classes: int, given: torch.Tensor, num_groups: int | None = None
) -> torch.Tensor:
    """class_mean_gap within each group of `given` (the task label), weighted by group size: z's mark on h beyond what y carries.

    When z and y are dependent (CIFAR-10: the class decides living/non-living) the unconditional gap
    also pulls the task's class means together and so fights the task; within a task group it does
    not. When z is independent of y both estimate the same quantity. With `num_groups` known the
    groups are weights, not index masks, so a GPU never waits on the host for their sizes.
    """
    if num_groups is None:
        num_groups = int(given.max()) + 1
    total = h.new_zeros(())
    for group in range(num_groups):
        members = (given == group).to(h.dtype)
        size = members.sum()
        gap = _weighted_class_mean_gap(h, labels, num_classes, members)
        total = total + torch.where(size > 1, gap * size / len(given), 0.0)  # a group of 0 or 1 samples has no gap
    return total


def _weighted_class_mean_gap(h: torch.Tensor, labels: torch.Tensor, num_classes: int, weights: torch.Tensor) -> torch.Tensor:
    """class_mean_gap of the samples whose weight is 1 (weights 0 or 1)."""
    flat = h.flatten(1)
    mean = (weights[:, None] * flat).sum(0, keepdim=True) / weights.sum().clamp_min(1)
    centred = (flat - mean) * weights[:, None]
    one_hot = F.one_hot(labels, num_classes).to(flat.dtype) * weights[:, None]
    counts = one_hot.sum(0).clamp_min(1)
    between = ((one_hot.T @ centred).pow(2) / counts[:, None]).sum(0)
    total = centred.pow(2).sum(0).clamp_min(1e-12)
    return (between / total + 1e-8).sqrt().mean()


def club_upper_bound(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """CLUB (Cheng et al. 2020) for a discrete z with q(z|h) = softmax(logits):
    E_p(h,z)[log q(z|h)] - E_p(h)p(z)[log q(z|h)], the second expectation over the batch's marginal of z.

    An upper bound on I(h, z) while q is a good fit of p(z|h), built for minimisation: its gradient
    pulls log q(z|h) of the true z towards the average over z, unlike a head's cross-entropy, which
    an extractor can maximise without bound by making the head confidently wrong.
    """
    log_q = torch.log_softmax(logits, dim=1)
    marginal = torch.bincount(labels, minlength=logits.shape[1]).to(log_q.dtype) / len(labels)
    positive = log_q.gather(1, labels[:, None]).squeeze(1)
    negative = log_q @ marginal
    return (positive - negative).mean()


def gaussian_kernel(points: torch.Tensor, scales: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)) -> torch.Tensor:
    """Sum of Gaussian kernels at several bandwidths, the median pairwise squared distance times each scale.

    The kernel is characteristic: MMD = 0 iff the distributions are equal."""
    distances = torch.cdist(points, points).pow(2)
    median = distances.detach()[distances.detach() > 0].median() if (distances.detach() > 0).any() else distances.new_ones(())
    return sum(torch.exp(-distances / (median * scale)) for scale in scales)


def conditional_mmd(
    h: torch.Tensor, labels: torch.Tensor, num_classes: int, given: torch.Tensor, projection: torch.Tensor | None = None
) -> torch.Tensor:
    """Squared MMD between the h of each z value and the h of its whole group of `given` (the task class),
    weighted by the z value's share of the batch; 0 iff within every task class h's distribution does not depend on z.

    h is standardised per element over the batch (a rescaling cannot hide z) and, if `projection` is given,
    projected onto its random directions (drawn afresh every step, so no fixed blind spot).
    """
    flat = h.flatten(1)
    flat = (flat - flat.mean(0, keepdim=True)) / flat.std(0, keepdim=True).clamp_min(1e-6)
    if projection is not None:
        flat = flat @ projection
    kernel = gaussian_kernel(flat)
    columns, shares = [], []
    for group in torch.unique(given):
        members = (given == group).to(flat.dtype)
        group_counts = torch.bincount(labels[given == group], minlength=num_classes)
        for value in torch.nonzero(group_counts > 1).flatten():
            if group_counts[value] == members.sum():
                continue  # only one z value in this group: nothing to compare
            subset = members * (labels == value).to(flat.dtype)
            columns.append(subset / subset.sum() - members / members.sum())
            shares.append(subset.sum() / len(labels))
    if not columns:
        return h.sum() * 0.0
    weights = torch.stack(columns, 1)  # [N, pairs]
    mmd = ((kernel @ weights) * weights).sum(0).clamp_min(0)
    return (mmd * torch.stack(shares)).sum()
