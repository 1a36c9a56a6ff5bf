"""The one loader of every torch file the workflow wrote (checkpoints, prepared caches, features, resume states).

Whatever is wrong with the file becomes one line naming it: missing, empty, truncated, not a PyTorch file,
written by other code, or not the kind of file the job expected.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from attrunlearn_core.errors import ArtifactError

ZIP_MAGIC = b"PK\x03\x04"
ADVICE = "; delete it and re-run"


def file_digest(path: str | Path) -> str:
    """The first 16 hex digits of the file's SHA-256: which bytes a result was computed from."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def _first_sentence(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text.split(". ", 1)[0] if text else error.__class__.__name__


def _diagnose(path: Path, error: BaseException) -> str:
    head = path.read_bytes()[:4] if path.stat().st_size else b""
    if isinstance(error, (ModuleNotFoundError, AttributeError, ImportError)):
        return f"written by other code than this version of attrunlearn ({error.__class__.__name__}: {_first_sentence(error)})"
    if head == ZIP_MAGIC or "zip" in str(error).lower() or isinstance(error, (EOFError, zipfile.BadZipFile)):
        return f"truncated or corrupt ({_first_sentence(error)})"
    if isinstance(error, pickle.UnpicklingError):
        return "not a PyTorch file (no torch.save archive inside)"
    return f"unreadable ({error.__class__.__name__}: {_first_sentence(error)})"


def load_artifact(path: str | os.PathLike, kind: str, keys: Iterable[str] = ()) -> Any:
    """torch.load on the CPU, with every failure an ArtifactError `<path>: <kind> ...: <what is wrong>`.

    `keys`: the entries a dict of this kind must hold (a wrong file of the right format fails here, not later).
    """
    import torch  # here, not at the top: the JSON-only steps start without importing torch

    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: {kind} is missing")
    if path.stat().st_size == 0:
        raise ArtifactError(f"{path}: {kind} is empty (0 bytes){ADVICE}")
    try:
        # Our own checkpoints hold whole modules (methods may wrap the extractor), so not weights_only.
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # noqa: BLE001 - any unreadable file is one clear line
        raise ArtifactError(f"{path}: {kind} is {_diagnose(path, error)}{ADVICE}") from None
    keys = list(keys)
    if keys:
        if not isinstance(state, dict):
            raise ArtifactError(f"{path}: not a {kind} (holds a {type(state).__name__}, expected a dict with {', '.join(keys)})")
        missing = [k for k in keys if k not in state]
        if missing:
            raise ArtifactError(f"{path}: not a {kind} (no {', '.join(missing)}; it has {', '.join(map(str, state)) or 'nothing'})")
    return state


def check_origin(path: str | os.PathLike, kind: str, recorded: dict, expected: dict) -> None:
    """A file written for another dataset, model or architecture than the job's: one line naming the first difference."""
    for key, want in expected.items():
        have = recorded.get(key, want)  # files that do not record a key (e.g. brought-in checkpoints) are not refused for it
        if have != want:
            raise ArtifactError(f"{path}: {kind} was written for {key} {have!r}, this job needs {want!r}{ADVICE}")
