"""Efficacy, fidelity and their combinations.

AUM (the paper's eq. 5) is the harmonic mean of (1 - efficacy) and fidelity.
Its ceiling depends on the attribute's chance level: an attacker on a balanced binary
attribute is never below ~0.5, so AUM cannot exceed ~0.67 there while a 10-way attribute
allows ~0.95. The chance-normalised AUM removes that: leakage = (efficacy - floor) /
(1 - floor), where the floor is the larger of the attribute's chance and its chance given the task
(what an attacker reads from any model that keeps the task when z and y are dependent), and
utility = (fidelity - task_chance) / (1 - task_chance), both clipped to [0, 1], and
cn-AUM = harmonic_mean(1 - leakage, utility). It is 1 for a model at full task accuracy whose attribute an
attacker recovers only at chance, and 0 if either fails fully.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the metrics themselves need no torch import (the evaluate step runs without it)
    import torch


def majority_rate(labels: torch.Tensor) -> float:
    """Chance level: the accuracy of always predicting the most common value."""
    if len(labels) == 0:
        return float("nan")
    return labels.bincount().max().item() / len(labels)


def chance_given_task(attribute: torch.Tensor, task: torch.Tensor) -> float:
    """Accuracy of guessing the attribute from the task label alone: the majority attribute value within each task
    class, weighted by the class's size. Any model that keeps the task lets an attacker reach this much."""
    if len(attribute) == 0:
        return float("nan")
    correct = sum(attribute[task == y].bincount().max().item() for y in task.unique())
    return correct / len(attribute)


def harmonic_mean(a: float, b: float) -> float:
    return 0.0 if a + b <= 0 else 2 * a * b / (a + b)


def aum(efficacy: float, fidelity: float) -> float:
    return harmonic_mean(1.0 - efficacy, fidelity)


def _normalise(value: float, chance: float) -> float:
    if chance >= 1.0:
        return 0.0
    return min(1.0, max(0.0, (value - chance) / (1.0 - chance)))


def chance_normalised_aum(efficacy: float, attribute_chance: float, fidelity: float, task_chance: float) -> float:
    leakage = _normalise(efficacy, attribute_chance)
    utility = _normalise(fidelity, task_chance)
    return harmonic_mean(1.0 - leakage, utility)
