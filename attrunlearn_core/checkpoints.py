"""Model checkpoints: the whole module (methods may wrap the extractor), optimizer, epoch and config."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from attrunlearn_core.artifacts import check_origin, load_artifact
from attrunlearn_core.atomic import save_torch
from attrunlearn_core.errors import ArtifactError, AttrUnlearnError
from attrunlearn_core.models import SplitModel


def save_checkpoint(path: str | Path, model: SplitModel, optimizer=None, epoch: int = 0, config: dict | None = None, **extra) -> None:
    save_torch(
        {"model": model.cpu(), "optimizer": optimizer.state_dict() if optimizer else None, "epoch": epoch, "config": config or {}, **extra}, path
    )


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


EXPORT_HINT = "export the weights with torch.save(model.state_dict(), path)"


def load_state_dict_file(path: str | Path) -> dict:
    """A user's state dict, loaded with weights_only=True: a user's file is untrusted and is never unpickled.

    A state dict wrapped as {"state_dict": ...} or {"model": ...} and DataParallel's "module." prefixes are accepted.
    """
    import pickle

    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise AttrUnlearnError(
            f"{path}: holds pickled Python objects (e.g. a whole model), which a user's file is never trusted to unpickle; {EXPORT_HINT}"
        ) from None
    except (OSError, EOFError, RuntimeError, KeyError, ValueError) as error:
        raise AttrUnlearnError(
            f"{path}: not a PyTorch state dict file ({error.__class__.__name__}: {str(error).splitlines()[0] if str(error) else ''}); {EXPORT_HINT}"
        ) from None
    if isinstance(state, dict):
        for key in ("state_dict", "model"):
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not state or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise AttrUnlearnError(f"{path}: holds a {type(state).__name__} that is not a state dict (parameter name -> tensor); {EXPORT_HINT}")
    if all(key.startswith("module.") for key in state):
        state = {key.removeprefix("module."): value for key, value in state.items()}
    return state
