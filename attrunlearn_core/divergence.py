"""Stop a training loop at the first non-finite loss instead of writing a model or a table row from it."""
from __future__ import annotations

import math

from attrunlearn_core.errors import AttrUnlearnError


class DivergenceError(AttrUnlearnError):
    pass


def check_finite(loss, where: str) -> None:
    value = float(loss.detach()) if hasattr(loss, "detach") else float(loss)
    if not math.isfinite(value):
        raise DivergenceError(f"{where}: loss is {value} (training diverged; lower the learning rate)")
