"""UTKFace with labels `gender`, `race` and `age_group`, parsed from the file names.

On disk: image files named `{age}_{gender}_{race}_{datetime}.jpg.chip.jpg` (or `....jpg`) anywhere under
root (e.g. `crop_part1/` or `UTKFace/`), root being a directory or a .tar/.tar.gz/.tgz archive.
gender: 0 male, 1 female; race: 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others.
Names that do not parse (wrong field count, non-integers, out-of-range values) are skipped and counted.
options["age_bins"]: increasing bin edges, group i = edges[i] <= age < edges[i+1] (default [0, 20, 40, 60, 200]).
"""

from __future__ import annotations

import logging
from itertools import pairwise
from pathlib import Path

import numpy as np

from attrunlearn_core.datasets import register_dataset
from attrunlearn_core.datasets.base import LabelledImages
from attrunlearn_core.datasets.completeness import count_classes
from attrunlearn_core.datasets.image_files import check_image_size, list_image_files, subset_indices
from attrunlearn_core.errors import ConfigError, DatasetError

log = logging.getLogger(__name__)

GENDERS = ["male", "female"]
RACES = ["White", "Black", "Asian", "Indian", "Others"]
DEFAULT_AGE_BINS = [0, 20, 40, 60, 200]


def parse_name(name: str, age_bins: list[int]) -> tuple[int, int, int] | None:
    """(age_group, gender, race) from a UTKFace file name, or None if it does not follow the scheme."""
    base = name.rsplit("/", 1)[-1]
    stem = base[: -len(".chip.jpg")] if base.lower().endswith(".chip.jpg") else base
    fields = stem.rsplit(".", 1)[0].split("_")
    if len(fields) != 4 or not fields[3]:
        return None
    try:
        age, gender, race = (int(f) for f in fields[:3])
    except ValueError:
        return None
    if gender not in (0, 1) or not 0 <= race < len(RACES):
        return None
    group = int(np.searchsorted(age_bins, age, side="right")) - 1
    if not 0 <= group < len(age_bins) - 1:
        return None
    return group, gender, race


def _age_bins(options: dict) -> list[int]:
    bins = options.get("age_bins", DEFAULT_AGE_BINS)
    if not isinstance(bins, (list, tuple)) or len(bins) < 2 or not all(isinstance(b, int) for b in bins) or any(a >= b for a, b in pairwise(bins)):
        raise ConfigError(f"utkface age_bins must be at least two increasing integers, got {bins!r}")
    return list(bins)


@register_dataset("utkface", labels=("gender", "race", "age_group"))
def load_utkface(root: Path | None, image_size: int, max_samples: int | None, rng: np.random.Generator, options: dict) -> LabelledImages:
    check_image_size(image_size)
    if root is None:
        raise DatasetError("utkface needs a data root: a folder or .tar.gz of {age}_{gender}_{race}_{datetime}.jpg files")
    bins = _age_bins(options)
    files = list_image_files(Path(root))
    names, rows, bad = [], [], []
    for name in files.names:
        parsed = parse_name(name, bins)
        if parsed is None:
            bad.append(name)
        else:
            names.append(name)
            rows.append(parsed)
    if bad:
        log.warning(
            "utkface: skipped %d file(s) in %s whose names are not {age}_{gender}_{race}_{datetime}.jpg "
            "with gender 0-1, race 0-4 and age within age_bins, e.g. %s",
            len(bad),
            root,
            ", ".join(bad[:3]),
        )
    if not names:
        raise DatasetError(
            f"no UTKFace images in {root}: expected files named {{age}}_{{gender}}_{{race}}_"
            f"{{datetime}}.jpg.chip.jpg ({len(bad)} image file(s) with other names)"
        )
    keep = subset_indices(len(names), max_samples, rng)
    full = np.array(rows, dtype=np.int64)
    table = full[keep]
    return LabelledImages(
        images=files.read([names[i] for i in keep], image_size),
        labels={"gender": table[:, 1], "race": table[:, 2], "age_group": table[:, 0]},
        num_classes={"gender": 2, "race": len(RACES), "age_group": len(bins) - 1},
        class_names={"gender": list(GENDERS), "race": list(RACES), "age_group": [f"{lo}-{hi - 1}" for lo, hi in pairwise(bins)]},
        origin=None,
        skipped=len(bad),
        source_counts=count_classes(
            {"gender": full[:, 1], "race": full[:, 2], "age_group": full[:, 0]}, {"gender": 2, "race": len(RACES), "age_group": len(bins) - 1}, None
        ),
    )
