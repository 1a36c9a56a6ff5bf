"""CelebA with its 40 binary attributes as labels (e.g. `Smiling`, `Male`), values 0/1.

On disk (a directory; the official aligned release):
  root/img_align_celeba/<filename>.jpg   (a doubled img_align_celeba/img_align_celeba/ is also accepted)
  root/list_attr_celeba.txt     line 1: image count; line 2: the 40 attribute names;
                                then `<filename> v1 ... v40` with values -1/1
  root/list_eval_partition.txt  `<filename> <p>`, p 0 train / 1 val / 2 test
origin: "train" for partition 0, "test" for 1 and 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from attrunlearn_core.datasets import register_dataset
from attrunlearn_core.datasets.base import LabelledImages
from attrunlearn_core.datasets.completeness import count_classes
from attrunlearn_core.datasets.image_files import check_image_size, decode_files, subset_indices
from attrunlearn_core.errors import DatasetError

IMAGES_DIR = "img_align_celeba"
ATTR_FILE = "list_attr_celeba.txt"
PARTITION_FILE = "list_eval_partition.txt"
EXPECTED_LAYOUT = f"{IMAGES_DIR}/, {ATTR_FILE} and {PARTITION_FILE}"


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        raise DatasetError(f"missing {path}: a CelebA root holds {EXPECTED_LAYOUT}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"cannot read {path}: {' '.join(str(error).split())}") from error


def _read_attributes(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(attribute names, file names, 0/1 matrix [N, 40])."""
    lines = _read_lines(path)
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise DatasetError(f"{path}: expected line 1 the image count and line 2 the attribute names")
    attributes = lines[1].split()
    files, values = [], []
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(attributes) + 1 or any(v not in ("1", "-1") for v in fields[1:]):
            raise DatasetError(f"{path} line {number}: expected a file name and {len(attributes)} values of -1/1")
        files.append(fields[0])
        values.append([v == "1" for v in fields[1:]])
    if len(files) != int(lines[0]):
        raise DatasetError(f"{path}: line 1 says {int(lines[0])} images but {len(files)} rows follow")
    if len(set(attributes)) != len(attributes) or not attributes:
        raise DatasetError(f"{path} line 2: attribute names must be unique and non-empty")
    return attributes, files, np.array(values, dtype=np.int64).reshape(len(files), len(attributes))


def _read_partition(path: Path) -> dict[str, int]:
    partition = {}
    for number, line in enumerate(_read_lines(path), start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise DatasetError(f"{path} line {number}: expected `<filename> <0|1|2>`")
        partition[fields[0]] = int(fields[1])
    return partition


# The 40 attributes of list_attr_celeba.txt's header, in its order.
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair Blond_Hair Blurry "
    "Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup High_Cheekbones Male "
    "Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks "
    "Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace "
    "Wearing_Necktie Young"
).split()


@register_dataset("celeba", labels=CELEBA_ATTRIBUTES)
def load_celeba(root: Path | None, image_size: int, max_samples: int | None, rng: np.random.Generator, options: dict) -> LabelledImages:
    check_image_size(image_size)
    if root is None:
        raise DatasetError(f"celeba needs a data root holding {EXPECTED_LAYOUT}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"celeba root {root} is not a directory (expected {EXPECTED_LAYOUT})")
    images_dir = root / IMAGES_DIR
    if (images_dir / IMAGES_DIR).is_dir():  # some mirrors unpack the zip into a folder of the same name
        images_dir = images_dir / IMAGES_DIR
    if not images_dir.is_dir():
        raise DatasetError(f"missing {images_dir}/: a CelebA root holds {EXPECTED_LAYOUT}")
    attributes, files, values = _read_attributes(root / ATTR_FILE)
    partition = _read_partition(root / PARTITION_FILE)
    missing = [f for f in files if f not in partition]
    if missing:
        raise DatasetError(f"{root / PARTITION_FILE} has no partition for {len(missing)} image(s), e.g. {missing[0]}")
    origin = np.array(["train" if partition[f] == 0 else "test" for f in files])
    keep = subset_indices(len(files), max_samples, rng, groups=origin)
    return LabelledImages(
        images=decode_files([images_dir / files[i] for i in keep], image_size),
        labels={name: values[keep, j] for j, name in enumerate(attributes)},
        num_classes={name: 2 for name in attributes},
        class_names={name: [f"not {name}", name] for name in attributes},
        origin=origin[keep],
        source_counts=count_classes({name: values[:, j] for j, name in enumerate(attributes)}, {name: 2 for name in attributes}, origin),
    )
