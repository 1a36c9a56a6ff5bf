"""The detachment training state and its steps: end-to-end; the local stages (extractor; attribute
heads + classifier); warm-up of the auxiliary networks; plain fine-tuning (the benchmark's reference).

Optimisers are split by who owns the parameters, so the two local stages never touch each
other's state: `extractor_optimizer` holds the extractor and the cooperative auxiliary networks
(decoder, task head) and belongs to stage 1; `estimator_optimizer` (the attribute heads) and
`classifier_optimizer` belong to stage 2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch.nn import functional as F

from attrunlearn_core.detachment.aux_networks import AuxiliaryNetworks
from attrunlearn_core.detachment.batch_plan import Step, step_images
from attrunlearn_core.detachment.objective import DetachmentWeights, extractor_loss, fit_attribute_heads
from attrunlearn_core.fast_steps import FastSteps
from attrunlearn_core.models import SplitModel
from attrunlearn_core.training import to_input


@dataclass
class StepBatch:
    images: torch.Tensor  # uint8, CPU
    task: torch.Tensor  # int64, CPU
    attribute_parts: list[tuple[torch.Tensor, int]]  # (labels, classes) per attribute part, CPU


@dataclass
class TrainSplit:
    images: torch.Tensor  # uint8 [N, 3, S, S], CPU
    task: torch.Tensor
    attribute_parts: list[tuple[torch.Tensor, int]]

    @classmethod
    def on_device(cls, images: torch.Tensor, task: torch.Tensor, attribute_parts: list[tuple[torch.Tensor, int]], device: torch.device) -> TrainSplit:
        """On a GPU the split (uint8) moves there once, so no step copies from the host (no host sync in the hot loop)."""
        if device.type != "cuda":
            return cls(images, task, attribute_parts)
        return cls(images.to(device), task.to(device), [(labels.to(device), classes) for labels, classes in attribute_parts])

    def batches(self, steps: list[Step]):
        """The planned steps' batches, assembled one at a time (an epoch of images is never copied at once)."""
        if self.images.is_cuda:
            yield from self._device_batches(steps)
            return
        for step in steps:
            yield StepBatch(
                step_images(self.images, step), self.task[step.index], [(labels[step.index], classes) for labels, classes in self.attribute_parts]
            )

    def _device_batches(self, steps: list[Step]):
        """As batches(), on the GPU: the steps' indices and flips go up in one copy, flips are a select (no sync)."""
        steps = list(steps)
        if not steps:
            return
        sizes = [len(step.index) for step in steps]
        device = self.images.device
        indices = torch.cat([step.index for step in steps]).to(device).split(sizes)
        flips = torch.cat([step.flip for step in steps]).to(device).split(sizes)
        for index, flip in zip(indices, flips, strict=True):
            images = self.images[index]
            images = torch.where(flip[:, None, None, None], images.flip(-1), images)
            yield StepBatch(images, self.task[index], [(labels[index], classes) for labels, classes in self.attribute_parts])


@dataclass
class DetachmentState:
    model: SplitModel
    aux: AuxiliaryNetworks
    weights: DetachmentWeights
    extractor_optimizer: torch.optim.Optimizer
    estimator_optimizer: torch.optim.Optimizer
    classifier_optimizer: torch.optim.Optimizer
    device: torch.device
    extractor_schedule: torch.optim.lr_scheduler.LRScheduler | None = None  # stepped after each extractor update (not in warm-up)
    stage_streams: tuple | None = None  # local mode on a GPU: the two stages' CUDA streams, made once (local_pipeline.stage_streams)
    # On a GPU the model runs under bf16 autocast in channels_last; the auxiliary networks and every loss take h in
    # float32 (the estimators' small kernels are launch-bound, not arithmetic-bound). On a CPU nothing changes.
    fast: FastSteps = field(default_factory=FastSteps)

    def _extract(self, x: torch.Tensor) -> torch.Tensor:
        with self.fast.autocast(self.device):
            h = self.model.extractor(self.fast.inputs(x))
        return h.float()

    def _classify(self, h: torch.Tensor) -> torch.Tensor:
        with self.fast.autocast(self.device):
            logits = self.model.classifier(h)
        return logits.float()

    def _step_extractor(self) -> None:
        self.extractor_optimizer.step()
        if self.extractor_schedule is not None:
            self.extractor_schedule.step()

    def _on_device(self, batch: StepBatch):
        task = batch.task.to(self.device, non_blocking=True)
        parts = [(labels.to(self.device, non_blocking=True), classes) for labels, classes in batch.attribute_parts]
        return to_input(batch.images, self.device), task, parts

    def _auxiliary(self, h: torch.Tensor, batch: StepBatch, task: torch.Tensor, parts) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        estimates = fit_attribute_heads(h, parts, self.aux, self.estimator_optimizer, self.weights)
        loss, stats = extractor_loss(h, batch.images, task, parts, self.aux, self.weights)
        return loss, {**stats, **estimates}

    def end_to_end_step(self, batch: StepBatch) -> dict[str, torch.Tensor]:
        """The attribute heads' steps, then one global backward of task loss + auxiliary loss through the whole network."""
        x, task, parts = self._on_device(batch)
        h = self._extract(x)
        auxiliary, stats = self._auxiliary(h, batch, task, parts)
        task_loss = F.cross_entropy(self._classify(h), task)
        self.extractor_optimizer.zero_grad(set_to_none=True)
        self.classifier_optimizer.zero_grad(set_to_none=True)
        (task_loss + auxiliary).backward()
        self._step_extractor()
        self.classifier_optimizer.step()
        return {**stats, "task_loss": task_loss.detach()}

    def extractor_step(self, batch: StepBatch, heads_ready: Callable[[], None] | None = None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Local mode, stage 1: the extractor learns from its auxiliary loss only. Returns h (detached copy) for stage 2.

        The attribute heads are fitted by stage 2 (`estimator_step`) on the previous batch's h;
        `heads_ready` blocks until that fit is done, right before the heads are needed.
        """
        x, task, parts = self._on_device(batch)
        h = self._extract(x)
        if heads_ready is not None:
            heads_ready()
        auxiliary, stats = extractor_loss(h, batch.images, task, parts, self.aux, self.weights)
        self.extractor_optimizer.zero_grad(set_to_none=True)
        auxiliary.backward()
        self._step_extractor()
        return h.detach().clone(), stats

    def estimator_step(self, h: torch.Tensor, attribute_parts: list[tuple[torch.Tensor, int]]) -> dict[str, torch.Tensor]:
        """Local mode, stage 2: the attribute heads' steps on detached h (they need no gradient from the extractor)."""
        parts = [(labels.to(self.device, non_blocking=True), classes) for labels, classes in attribute_parts]
        return fit_attribute_heads(h, parts, self.aux, self.estimator_optimizer, self.weights)

    def classifier_step(self, h: torch.Tensor, task: torch.Tensor) -> dict[str, torch.Tensor]:
        """Local mode, stage 2: the classifier learns the task on detached h."""
        task_loss = F.cross_entropy(self._classify(h), task.to(self.device, non_blocking=True))
        self.classifier_optimizer.zero_grad(set_to_none=True)
        task_loss.backward()
        self.classifier_optimizer.step()
        return {"task_loss": task_loss.detach()}

    def fine_tune_step(self, batch: StepBatch) -> dict[str, torch.Tensor]:
        """Plain fine-tuning (task loss only, whole network): the reference for the method's overhead."""
        x, task, _ = self._on_device(batch)
        task_loss = F.cross_entropy(self._classify(self._extract(x)), task)
        self.extractor_optimizer.zero_grad(set_to_none=True)
        self.classifier_optimizer.zero_grad(set_to_none=True)
        task_loss.backward()
        self.extractor_optimizer.step()
        self.classifier_optimizer.step()
        return {"task_loss": task_loss.detach()}

    def warmup_step(self, batch: StepBatch) -> dict[str, torch.Tensor]:
        """Fit the auxiliary networks to the current h before the extractor moves (the estimates start meaningful)."""
        x, task, parts = self._on_device(batch)
        with torch.no_grad():
            h = self._extract(x)
        loss, stats = self._auxiliary(h, batch, task, parts)
        self.extractor_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.extractor_optimizer.step()  # the extractor has no gradient here; only the decoder and task head move
        return stats


class StatsMeter:
    """Running means of detached scalar tensors; converted to floats once per epoch (no per-step sync)."""

    def __init__(self):
        self.sums: dict[str, torch.Tensor] = {}
        self.count = 0

    def add(self, stats: dict[str, torch.Tensor]) -> None:
        for name, value in stats.items():
            self.sums[name] = self.sums[name] + value if name in self.sums else value.clone()
        self.count += 1

    def means(self) -> dict[str, float]:
        return {name: (total / max(self.count, 1)).item() for name, total in self.sums.items()}
