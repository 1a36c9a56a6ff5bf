"""Shared helpers for loaders that read image files from a directory or a tar archive.

A dataset root is either a directory or a `.tar` / `.tar.gz` / `.tgz` archive holding the same
layout. Names are POSIX paths relative to the dataset root; wrapper folders around the layout
(e.g. `cifar10-jpeg/` in `cifar10-jpeg/train/cat/0001.jpg`) are detected and stripped.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
import zlib
from collections.abc import Collection, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from attrunlearn_core.errors import ConfigError, DatasetError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz")


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


def _is_image_name(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    # Hidden files and macOS resource forks (`._x.jpg`, `__MACOSX/`) are not images.
    if base.startswith(".") or "__MACOSX/" in name:
        return False
    return base.lower().endswith(IMAGE_EXTENSIONS)


def _strip_wrapper_folders(names: list[str], layout_dirs: Collection[str]) -> str:
    """Longest prefix of single top-level folders shared by all names, stopping at a layout folder."""
    prefix = ""
    rest = names
    while rest and all("/" in n for n in rest):
        tops = {n.split("/", 1)[0] for n in rest}
        if len(tops) != 1 or next(iter(tops)) in layout_dirs:
            break
        top = tops.pop()
        prefix += top + "/"
        rest = [n[len(top) + 1 :] for n in rest]
    return prefix


@dataclass
class ImageFiles:
    """The image files of one dataset root: `names` (sorted, relative to the layout) and how to read them."""

    root: Path
    archive: bool
    prefix: str  # stripped wrapper folders; the stored name is prefix + name
    names: list[str]

    def display(self, name: str) -> str:
        """How error messages name a file: a path, or `archive.tar.gz:member/path.jpg`."""
        if self.archive:
            return f"{self.root}:{self.prefix}{name}"
        return str(self.root / (self.prefix + name))

    def read(self, names: list[str], image_size: int) -> torch.Tensor:
        """Decode `names` (in that order) to a uint8 tensor [N, 3, image_size, image_size]."""
        if not self.archive:
            return decode_files([self.root / (self.prefix + n) for n in names], image_size)
        out = np.empty((len(names), image_size, image_size, 3), dtype=np.uint8)
        if not names:
            return _to_tensor(out)
        slots = {self.prefix + n: i for i, n in enumerate(names)}
        if len(slots) != len(names):
            raise ValueError("duplicate names requested")
        # One sequential pass over the archive; members land in their requested slot. `slots` doubles
        # as the wanted set, so a duplicate member is read once, and the pass ends when all are read.
        with closing(_iter_archive(self.root, slots)) as members:
            for member, data in members:
                out[slots.pop(member)] = decode_image(data, image_size, f"{self.root}:{member}")
                if not slots:
                    break
        if slots:
            missing = next(iter(slots))
            raise DatasetError(f"archive {self.root} changed while reading: member {missing} not found")
        return _to_tensor(out)


def list_image_files(root: Path, layout_dirs: Collection[str] = ()) -> ImageFiles:
    """List the image files under a directory or inside a tar archive, sorted by name.

    Single top-level folders shared by every image are stripped unless they are one of
    `layout_dirs` (e.g. {"train", "test"}), so `x.tar.gz:wrapper/train/cat/1.jpg` becomes `train/cat/1.jpg`.
    """
    root = Path(root)
    if root.is_dir():
        names = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel = Path(dirpath).relative_to(root).as_posix()
            base = "" if rel == "." else rel + "/"
            names.extend(base + f for f in filenames if _is_image_name(base + f))
        archive = False
    elif root.is_file() and is_archive(root):
        names = [name for name, _ in _iter_archive(root, None)]
        archive = True
    elif root.exists():
        raise DatasetError(f"{root} is neither a directory nor a .tar/.tar.gz/.tgz archive")
    else:
        raise DatasetError(f"dataset root {root} does not exist")
    names.sort()
    prefix = _strip_wrapper_folders(names, layout_dirs)
    return ImageFiles(root=root, archive=archive, prefix=prefix, names=[n[len(prefix) :] for n in names])


def _iter_archive(path: Path, wanted: Collection[str] | None) -> Iterator[tuple[str, bytes | None]]:
    """Yield (member name, bytes) for image members in archive order; bytes only for `wanted` names
    (None lists names only). One front-to-back pass, no seeking."""
    try:
        with path.open("rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            # tarfile's own stream mode ("r|gz") stops silently at a truncated gzip; GzipFile raises
            # EOFError there and checks the CRC, so a cut download is an error, not a smaller dataset.
            with gzip.GzipFile(fileobj=raw) if gzipped else raw as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
                for member in tar:
                    if not member.isfile() or not _is_image_name(member.name):
                        continue
                    name = member.name.removeprefix("./")
                    if wanted is None:
                        yield name, None
                    elif name in wanted:
                        handle = tar.extractfile(member)
                        yield name, handle.read() if handle is not None else b""
                if not gzipped and tar.offset > path.stat().st_size:
                    raise tarfile.ReadError("unexpected end of data (truncated archive)")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise DatasetError(f"cannot read archive {path}: {_one_line(error)}") from error


def decode_image(data: bytes, image_size: int, name: str) -> np.ndarray:
    """Decode image bytes to RGB, centre-crop to square, resize (bilinear) to [S, S, 3] uint8."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image = image.convert("RGB")
    # PIL signals a broken file with many exception types (OSError, SyntaxError, struct.error, ...).
    except Exception as error:  # noqa: BLE001
        raise DatasetError(f"cannot decode image {name}: {_one_line(error)}") from error
    return square_resize(image, image_size)


def square_resize(image: Image.Image, image_size: int) -> np.ndarray:
    width, height = image.size
    if width != height:
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
    if image.size != (image_size, image_size):
        image = image.resize((image_size, image_size), Image.BILINEAR)
    return np.asarray(image, dtype=np.uint8)


def decode_files(paths: Iterable[Path], image_size: int) -> torch.Tensor:
    """Read and decode image files from disk, in order, to a uint8 tensor [N, 3, S, S]."""
    paths = list(paths)
    out = np.empty((len(paths), image_size, image_size, 3), dtype=np.uint8)
    for i, path in enumerate(paths):
        try:
            data = path.read_bytes()
        except OSError as error:
            raise DatasetError(f"cannot read image {path}: {_one_line(error)}") from error
        out[i] = decode_image(data, image_size, str(path))
    return _to_tensor(out)


def _to_tensor(hwc: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(hwc).permute(0, 3, 1, 2).contiguous()


def check_image_size(image_size: int) -> None:
    if not isinstance(image_size, int) or image_size < 1:
        raise ConfigError(f"image_size must be a positive integer, got {image_size!r}")


def subset_indices(total: int, max_samples: int | None, rng: np.random.Generator, groups: np.ndarray | None = None) -> np.ndarray:
    """Sorted indices of a seeded random subset of size min(max_samples, total).

    With `groups` (e.g. the train/test origin of each sample), each group keeps its share of
    the subset in proportion to its size (largest remainders get the leftover samples).
    """
    if max_samples is not None and (not isinstance(max_samples, int) or max_samples < 1):
        raise ConfigError(f"max_samples must be a positive integer or null, got {max_samples!r}")
    if max_samples is None or max_samples >= total:
        return np.arange(total)
    if groups is None:
        return np.sort(rng.choice(total, size=max_samples, replace=False))
    keys, counts = np.unique(groups, return_counts=True)
    exact = counts * max_samples / total
    take = np.floor(exact).astype(int)
    for k in np.argsort(-(exact - take), kind="stable")[: max_samples - take.sum()]:
        take[k] += 1
    chosen = [rng.choice(np.flatnonzero(groups == key), size=n, replace=False) for key, n in zip(keys, take, strict=True)]
    return np.sort(np.concatenate(chosen))


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__
