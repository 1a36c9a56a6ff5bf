"""Model checkpoints: the whole module (methods may wrap the extractor), optimizer, epoch and config."""
from __future__ import annotations

from pathlib import Path

from torch import nn

from attrunlearn_core.artifacts import check_origin, load_artifact
from attrunlearn_core.atomic import save_torch
from attrunlearn_core.errors import ArtifactError
from attrunlearn_core.models import SplitModel


def save_checkpoint(path: str | Path, model: SplitModel, optimizer=None, epoch: int = 0, config: dict | None = None, **extra) -> None:
    save_torch({"model": model.cpu(), "optimizer": optimizer.state_dict() if optimizer else None,
                "epoch": epoch, "config": config or {}, **extra}, path)


def load_checkpoint(path: str | Path, expected: dict | None = None) -> dict:
    """`expected`: entries of the checkpoint's recorded config it must match (e.g. the dataset and model spec)."""
    state = load_artifact(path, "checkpoint", keys=("model", "config"))
    if not isinstance(state["model"], nn.Module):
        raise ArtifactError(f"{path}: not an attrunlearn checkpoint ('model' holds a {type(state['model']).__name__}, not a module)")
    if expected:
        check_origin(path, "checkpoint", state["config"] or {}, expected)
    return state


def load_model(path: str | Path) -> SplitModel:
    return load_checkpoint(path)["model"]
