"""Train an attacker on (h, z) pairs from attacker-train and score it on attacker-test."""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from attrunlearn_core.attackers import get_attacker_builder
from attrunlearn_core.metrics import majority_rate


@dataclass
class AttackerRecipe:
    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 1e-4
    hidden: int = 512
    validation_fraction: float = 0.15
    patience: int = 8


def _standardise(train: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    mean = train.mean(0, keepdim=True)
    std = train.std(0, keepdim=True).clamp_min(1e-6)
    return [(t - mean) / std for t in (train, *others)]


@torch.no_grad()
def _accuracy(model: nn.Module, features: torch.Tensor, targets: torch.Tensor, device, batch_size: int = 1024) -> float:
    model.eval()
    correct = 0
    for i in range(0, len(features), batch_size):
        correct += (model(features[i : i + batch_size].to(device)).argmax(1).cpu() == targets[i : i + batch_size]).sum().item()
    return correct / max(len(features), 1)


def fit_attacker(name: str, train_x: torch.Tensor, train_z: torch.Tensor, test_x: torch.Tensor, test_z: torch.Tensor,
                 num_classes: int, recipe: AttackerRecipe, generator: torch.Generator, device: torch.device) -> dict:
    """Early-stopped on a held-out slice of attacker-train; returns test accuracy and chance."""
    train_x, test_x = _standardise(train_x.float(), test_x.float())
    order = torch.randperm(len(train_x), generator=generator)
    n_val = max(1, int(len(order) * recipe.validation_fraction))
    val_idx, fit_idx = order[:n_val], order[n_val:]
    model = get_attacker_builder(name)(tuple(train_x.shape[1:]), num_classes, recipe.hidden).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    best_acc, best_state, best_epoch, stale = -1.0, None, 0, 0
    for epoch in range(recipe.epochs):
        model.train()
        shuffled = fit_idx[torch.randperm(len(fit_idx), generator=generator)]
        for start in range(0, len(shuffled), recipe.batch_size):
            index = shuffled[start : start + recipe.batch_size]
            if len(index) < 2:
                continue
            loss = nn.functional.cross_entropy(model(train_x[index].to(device)), train_z[index].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        val_acc = _accuracy(model, train_x[val_idx], train_z[val_idx], device)
        if val_acc > best_acc:
            best_acc, best_state, best_epoch, stale = val_acc, copy.deepcopy(model.state_dict()), epoch + 1, 0
        else:
            stale += 1
            if stale >= recipe.patience:
                break
    model.load_state_dict(best_state)
    return {
        "attacker": name,
        "accuracy": _accuracy(model, test_x, test_z, device),
        "chance": majority_rate(test_z),
        "validation_accuracy": best_acc,
        "best_epoch": best_epoch,
        "num_train": len(fit_idx),
        "num_test": len(test_x),
    }
