"""The divergence guard every training loop calls: a non-finite loss stops the job with one line.

The job that is running (rule and cell) is set once by the workflow job (`set_job`), so a loop only says
where inside itself it is (epoch, step) and the message still names the cell.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from attrunlearn_core.errors import DivergenceError

_job = ""


def set_job(name: str) -> None:
    global _job
    _job = name


def check_finite(loss, where: str) -> None:
    """Raise DivergenceError when `loss` (a float or a one-element tensor) is NaN or infinite."""
    value = float(loss.detach()) if hasattr(loss, "detach") else float(loss)
    if not math.isfinite(value):
        job = f"{_job}: " if _job else ""
        raise DivergenceError(f"{job}training diverged: loss is {value} at {where}; lower the learning rate (nothing of this job was written)")


def check_finite_steps(losses, where: str) -> None:
    """The same for a loop that keeps its steps' losses (a 1-D tensor) and reads them once per epoch: the first
    non-finite one is reported with its step."""
    import torch

    bad = (~torch.isfinite(losses)).nonzero()
    if len(bad):
        step = int(bad[0])
        check_finite(losses[step], f"{where} step {step + 1}")


def check_finite_stats(stats: Mapping[str, float], where: str) -> None:
    """The same for every number of an epoch's statistics (loops that sync once per epoch, not per step)."""
    for name, value in stats.items():
        check_finite(value, f"{where} ({name}, mean over the epoch's steps)")
