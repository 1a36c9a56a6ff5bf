"""Write outputs atomically: a killed job never leaves a half-written file behind."""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from attrunlearn_core.errors import DiskFullError

# Below this much free space a failed write is reported as a full disk (torch's writer raises
# "basic_ios::clear: iostream error" without an errno).
NEARLY_FULL_BYTES = 16 * 2**20


def _disk_full(folder: Path, error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    try:
        return shutil.disk_usage(folder).free < NEARLY_FULL_BYTES
    except OSError:
        return False


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto `path` only on success."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        if _disk_full(target.parent, error):
            raise DiskFullError(f"{target}: the disk is full ({target.parent} cannot take a new file); free space and run again") from None
        raise
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except (OSError, RuntimeError) as error:
        if _disk_full(target.parent, error):
            free = shutil.disk_usage(target.parent).free
            raise DiskFullError(
                f"{target}: the disk is full ({free // 2**20} MiB free under {target.parent}); nothing was written, free space and run again"
            ) from None
        raise
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_torch(obj: Any, path: str | os.PathLike) -> None:
    import torch  # here, not at the top: the JSON-only steps start without importing torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_torch(path: str | os.PathLike, kind: str = "torch file") -> Any:
    from attrunlearn_core.artifacts import load_artifact

    return load_artifact(path, kind)


def save_json(obj: Any, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def load_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())
