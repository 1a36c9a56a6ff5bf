"""Bring your own model: a user's torchvision state dict checked against the config's architecture and task."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from attrunlearn_core.errors import AttrUnlearnError


def _head_weight(model: nn.Module) -> str | None:
    """State-dict key of the model's last Linear layer's weight: its rows are the task classes."""
    names = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    return f"{names[-1]}.weight" if names else None


def _first(keys: list[str], count: int = 3) -> str:
    return ", ".join(keys[:count]) + (f" (+{len(keys) - count} more)" if len(keys) > count else "")


def load_user_weights(model: nn.Module, state: dict, path: str | Path, arch: str, task: str) -> nn.Module:
    """Load `state` into `model` (built for `arch` and the task's classes), or one line saying why it does not fit."""
    expected = model.state_dict()
    head = _head_weight(model)
    if head in state and head in expected and state[head].shape[0] != expected[head].shape[0]:
        raise AttrUnlearnError(f"{path}: trained for {state[head].shape[0]} classes ({head}), but task {task!r} has {expected[head].shape[0]}")
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    if missing or unexpected:
        parts = ([f"missing {_first(missing)}"] if missing else []) + ([f"unexpected {_first(unexpected)}"] if unexpected else [])
        raise AttrUnlearnError(f"{path}: not a {arch} state dict: {'; '.join(parts)}")
    for key, value in expected.items():
        if state[key].shape != value.shape:
            raise AttrUnlearnError(
                f"{path}: not a {arch} state dict for this config: {key} is {tuple(state[key].shape)}, {arch} here has {tuple(value.shape)}"
            )
    model.load_state_dict(state)
    return model
