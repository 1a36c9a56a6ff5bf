"""The interface every unlearning method implements: one class, one file, registered by name."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import ClassVar

import torch

from attrunlearn_core.datasets.prepared import PreparedDataset, joint_labels
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.models import SplitModel
from attrunlearn_core.training import TrainingRecipe


@dataclass
class UnlearningContext:
    """What a method may use: the prepared data (train split only, by convention), names and randomness."""

    prepared: PreparedDataset
    task: str
    attribute: str  # one label or several joined by '+'
    recipe: TrainingRecipe  # the baseline's training recipe
    device: torch.device
    generator: torch.Generator
    seed: int
    start_info: dict = field(default_factory=dict)  # what the starting checkpoint recorded (e.g. train_seconds)

    def train_images(self) -> torch.Tensor:
        return self.prepared.split_images("train")

    def train_task_labels(self) -> torch.Tensor:
        return self.prepared.split_labels("train", self.task)

    def train_attribute_labels(self) -> tuple[torch.Tensor, int]:
        """The joint attribute label of the train split and its number of classes."""
        labels, classes = joint_labels(self.prepared, self.attribute)
        return labels[self.prepared.splits["train"]], classes

    def attribute_parts(self) -> list[tuple[torch.Tensor, int]]:
        """Each part of a composite attribute as (train labels, num classes)."""
        parts = []
        for name in self.attribute.split("+"):
            parts.append((self.prepared.split_labels("train", name), self.prepared.num_classes[name]))
        return parts


@dataclass
class MethodResult:
    model: SplitModel
    metrics: dict = field(default_factory=dict)  # numbers the method measured itself (losses, times)
    extra_seconds: float = 0.0  # work done for this method before `unlearn` ran (e.g. baseline-2's retraining)


class UnlearningMethod:
    name: ClassVar[str] = ""
    DEFAULTS: ClassVar[dict] = {}
    supports_multi_attribute: ClassVar[bool] = True
    # "baseline": starts from the baseline-1 checkpoint. Other values name a different starting point
    # the workflow must build first (see _starting_point in rules/common.smk).
    starts_from: ClassVar[str] = "baseline"

    def __init__(self, params: dict | None = None):
        self.params = self.resolve_params(params or {})

    @classmethod
    def resolve_params(cls, params: dict) -> dict:
        unknown = sorted(set(params) - set(cls.DEFAULTS))
        if unknown:
            raise ConfigError(
                f"unknown parameter(s) {', '.join(unknown)} for method {cls.name!r} (known: {', '.join(sorted(cls.DEFAULTS)) or 'none'})"
            )
        return {**copy.deepcopy(cls.DEFAULTS), **params}

    def unlearn(self, model: SplitModel, context: UnlearningContext) -> MethodResult:
        raise NotImplementedError
