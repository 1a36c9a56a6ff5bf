"""The interface every attacker implements: fit on (h, z) pairs of its pool, predict z for new h."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch


@dataclass
class AttackerRecipe:
    """How attackers train. Neural attackers stop when validation accuracy stops improving, not at a fixed budget."""

    max_epochs: int = 200  # a ceiling that early stopping should reach first (best_epoch tells)
    patience: int = 8  # epochs without a better validation accuracy before stopping
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    hidden: int = 256
    validation_fraction: float = 0.15  # the slice of the pool that neural attackers select on
    cv_folds: int = 3  # cross-validation folds for the scikit-learn attackers' hyper-parameters
    max_components: int = 256  # PCA width for the scikit-learn attackers when h is wider


@dataclass
class FitData:
    """One attacker's training data: a fitting part and a validation slice, both from the pool (never attacker-test)."""

    fit_x: torch.Tensor
    fit_z: torch.Tensor
    val_x: torch.Tensor
    val_z: torch.Tensor
    num_classes: int

    def all_x(self) -> torch.Tensor:
        return torch.cat([self.fit_x, self.val_x])

    def all_z(self) -> torch.Tensor:
        return torch.cat([self.fit_z, self.val_z])


class Attacker:
    name: ClassVar[str] = ""
    needs_map: ClassVar[bool] = False  # needs h as a [C, H, W] map (not applicable to penultimate vectors)

    def __init__(self, recipe: AttackerRecipe, seed: int, device: torch.device):
        self.recipe, self.seed, self.device = recipe, seed, device
        self.validation_accuracy = float("nan")
        self.best_epoch = -1  # -1: not trained by epochs

    def fit(self, data: FitData) -> Attacker:
        raise NotImplementedError

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
