"""Model checkpoints: the whole module (methods may wrap the extractor), optimizer, epoch and config."""
from __future__ import annotations

from pathlib import Path

from torch import nn

from attrunlearn_core.atomic import load_torch, save_torch
from attrunlearn_core.errors import AttrUnlearnError
from attrunlearn_core.models import SplitModel


def save_checkpoint(path: str | Path, model: SplitModel, optimizer=None, epoch: int = 0, config: dict | None = None, **extra) -> None:
    save_torch({"model": model.cpu(), "optimizer": optimizer.state_dict() if optimizer else None,
                "epoch": epoch, "config": config or {}, **extra}, path)


def load_checkpoint(path: str | Path) -> dict:
    state = load_torch(path)
    if not isinstance(state, dict) or not isinstance(state.get("model"), nn.Module):
        raise AttrUnlearnError(f"{path}: not an attrunlearn checkpoint (no 'model' module)")
    return state


def load_model(path: str | Path) -> SplitModel:
    return load_checkpoint(path)["model"]
