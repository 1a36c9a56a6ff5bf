"""Every random choice flows from the config's seed through these helpers."""

from __future__ import annotations

import hashlib
import random

import numpy as np
import torch


def derive_seed(base_seed: int, *parts: object) -> int:
    """A stable 31-bit seed for one purpose, e.g. derive_seed(0, "split", "cifar10")."""
    text = "/".join([str(base_seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
