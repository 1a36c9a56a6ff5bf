"""Dataset loaders on small files written in each dataset's real on-disk format."""

from __future__ import annotations

import copy
import csv
import logging
import pickle
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import REPO
from PIL import Image

from attrunlearn_core.config import validate_config
from attrunlearn_core.datasets import get_dataset_loader, image_files
from attrunlearn_core.datasets.celeba import load_celeba
from attrunlearn_core.datasets.cifar10 import CLASSES, load_cifar10
from attrunlearn_core.datasets.fairface import load_fairface
from attrunlearn_core.datasets.utkface import load_utkface
from attrunlearn_core.errors import ConfigError, DatasetError

LIVING = {"bird", "cat", "deer", "dog", "frog", "horse"}


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def write_image(path: Path, color: tuple[int, int, int], size: tuple[int, int] = (8, 8)) -> None:
    """A solid-colour image; the format follows the suffix (PNG is lossless, JPEG nearly so for flat colour)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)


def make_tar(source: Path, archive: Path, arcname: str) -> Path:
    with tarfile.open(archive, "w:gz" if archive.name.endswith(("gz", "tgz")) else "w") as tar:
        tar.add(source, arcname=arcname)
    return archive


def assert_one_line_error(excinfo: pytest.ExceptionInfo, *fragments: str) -> None:
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# ---------------------------------------------------------------- shared image-file helpers


def test_decode_centre_crops_non_square_images_before_resizing(tmp_path):
    image = Image.new("RGB", (30, 10), (255, 0, 0))  # red left and right thirds, green centre square
    image.paste((0, 255, 0), (10, 0, 20, 10))
    image.save(tmp_path / "wide.png")
    decoded = image_files.decode_files([tmp_path / "wide.png"], 4)
    assert decoded.shape == (1, 3, 4, 4) and decoded.dtype == torch.uint8
    assert decoded[0, 1].min() == 255 and decoded[0, 0].max() == 0


def test_wrapper_folders_are_stripped_until_a_layout_folder(tmp_path):
    for name in ["outer/inner/train/a/1.png", "outer/inner/test/a/2.png"]:
        write_image(tmp_path / "tree" / name, (0, 0, 0))
    files = image_files.list_image_files(tmp_path / "tree", layout_dirs={"train", "test"})
    assert files.prefix == "outer/inner/"
    assert files.names == ["test/a/2.png", "train/a/1.png"]
    only_train = image_files.list_image_files(tmp_path / "tree" / "outer" / "inner" / "train", {"train"})
    assert only_train.prefix == "a/" and only_train.names == ["1.png"]
    # a lone layout folder is kept even though it is the only top-level folder
    (tmp_path / "tree" / "outer" / "inner" / "test" / "a" / "2.png").unlink()
    assert image_files.list_image_files(tmp_path / "tree", {"train", "test"}).names == ["train/a/1.png"]


@pytest.mark.parametrize("archive_name", ["imgs.tar", "imgs.tgz"])
def test_archive_reads_requested_members_in_requested_order(tmp_path, archive_name):
    colors = {"b.png": (10, 0, 0), "a.png": (20, 0, 0), "c.png": (30, 0, 0)}
    for name, color in colors.items():
        write_image(tmp_path / "src" / name, color)
    (tmp_path / "src" / "._a.png").write_bytes(b"macOS resource fork, not an image")
    files = image_files.list_image_files(make_tar(tmp_path / "src", tmp_path / archive_name, "wrap"))
    assert files.archive and files.prefix == "wrap/" and files.names == ["a.png", "b.png", "c.png"]
    images = files.read(["c.png", "a.png"], 8)
    assert images[:, 0, 0, 0].tolist() == [30, 20]
    assert files.display("a.png") == f"{tmp_path / archive_name}:wrap/a.png"


def test_subset_keeps_group_proportions_and_is_seeded():
    groups = np.array(["train"] * 80 + ["test"] * 20)
    first = image_files.subset_indices(100, 10, rng(3), groups)
    assert len(first) == 10 and len(set(first.tolist())) == 10 and np.all(np.diff(first) > 0)
    assert (groups[first] == "train").sum() == 8
    assert first.tolist() == image_files.subset_indices(100, 10, rng(3), groups).tolist()
    assert first.tolist() != image_files.subset_indices(100, 10, rng(4), groups).tolist()
    assert image_files.subset_indices(5, None, rng()).tolist() == [0, 1, 2, 3, 4]
    assert image_files.subset_indices(5, 50, rng()).tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(ConfigError):
        image_files.subset_indices(5, 0, rng())


def test_registry_returns_these_loaders():
    assert get_dataset_loader("cifar10") is load_cifar10
    assert get_dataset_loader("utkface") is load_utkface
    assert get_dataset_loader("celeba") is load_celeba
    assert get_dataset_loader("fairface") is load_fairface


# ---------------------------------------------------------------- CIFAR-10


def cifar_color(class_index: int, partition: str) -> tuple[int, int, int]:
    return (20 * class_index + 10, 200 if partition == "train" else 50, 0)


def write_cifar_folders(root: Path, per_class: dict[str, int], suffix: str = ".png") -> Path:
    # Classes are written in reverse so the label order cannot come from creation order.
    for partition, count in per_class.items():
        for c in reversed(range(10)):
            for k in range(count):
                write_image(root / partition / CLASSES[c] / f"{k:04d}{suffix}", cifar_color(c, partition))
    return root


def test_cifar_folders_labels_origin_and_pixels(tmp_path):
    data = load_cifar10(write_cifar_folders(tmp_path / "c", {"train": 2, "test": 1}), 8, None, rng(), {})
    assert data.images.shape == (30, 3, 8, 8) and data.images.dtype == torch.uint8
    assert data.num_classes == {"class": 10, "living": 2}
    assert data.class_names["class"] == CLASSES
    assert data.labels["class"].dtype == np.int64
    assert np.bincount(data.labels["class"]).tolist() == [3] * 10
    assert sorted(data.origin.tolist()) == ["test"] * 10 + ["train"] * 20
    for i in range(30):  # each image's colour encodes the class and partition it was written under
        c, partition = int(data.labels["class"][i]), data.origin[i]
        assert tuple(data.images[i, :, 3, 3].tolist()) == cifar_color(c, partition)
        assert data.labels["living"][i] == (CLASSES[c] in LIVING)
    assert data.skipped == 0


def test_cifar_archive_with_wrapper_folder_matches_folder(tmp_path):
    source = write_cifar_folders(tmp_path / "cifar10-jpeg", {"train": 2, "test": 1}, suffix=".jpg")
    archive = make_tar(source, tmp_path / "cifar10-jpeg.tar.gz", "cifar10-jpeg")
    from_dir = load_cifar10(tmp_path, 16, None, rng(), {})  # tmp_path holds the wrapper folder (and the archive)
    from_tar = load_cifar10(archive, 16, None, rng(), {})
    assert from_tar.images.shape == (30, 3, 16, 16)
    assert torch.equal(from_dir.images, from_tar.images)
    assert from_dir.labels["class"].tolist() == from_tar.labels["class"].tolist()
    assert from_dir.origin.tolist() == from_tar.origin.tolist()
    red = from_tar.images[:, 0, 8, 8].int()  # JPEG keeps flat colours within a few levels
    assert torch.all((red - torch.from_numpy(20 * from_tar.labels["class"] + 10).int()).abs() <= 4)


def test_cifar_subset_is_seeded_proportional_and_chosen_before_decoding(tmp_path, monkeypatch):
    root = write_cifar_folders(tmp_path / "c", {"train": 2, "test": 1})
    decoded = []
    real_decode = image_files.decode_image
    monkeypatch.setattr(image_files, "decode_image", lambda data, size, name: decoded.append(name) or real_decode(data, size, name))
    first = load_cifar10(root, 8, 10, rng(7), {})
    assert len(decoded) == 10  # only the chosen images are decoded
    again = load_cifar10(root, 8, 10, rng(7), {})
    other = load_cifar10(root, 8, 10, rng(8), {})
    assert len(first) == 10 and first.images.shape == (10, 3, 8, 8)
    assert sorted(first.origin.tolist()) == ["test"] * 3 + ["train"] * 7  # 20:10 split kept
    assert torch.equal(first.images, again.images)
    assert first.labels["class"].tolist() == again.labels["class"].tolist()
    assert (first.labels["class"].tolist(), first.origin.tolist()) != (other.labels["class"].tolist(), other.origin.tolist())


def write_cifar_batches(folder: Path, per_batch: int = 3) -> dict[str, np.ndarray]:
    """The official pickled format: dicts with 'data' [N, 3072] uint8 (R, G, B planes) and 'labels'."""
    folder.mkdir(parents=True)
    with (folder / "batches.meta").open("wb") as handle:
        pickle.dump({"num_cases_per_batch": per_batch, "label_names": list(CLASSES), "num_vis": 3072}, handle)
    written = {}
    for b, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        labels = [(b * per_batch + k) % 10 for k in range(per_batch)]
        planes = np.zeros((per_batch, 3, 32, 32), dtype=np.uint8)
        planes[:, 0] = np.array(labels, dtype=np.uint8)[:, None, None] * 20
        planes[:, 1] = b * 10
        planes[:, 2, 0, 1] = 255  # marks row 0, column 1: checks the row-major H, W layout
        with (folder / name).open("wb") as handle:
            pickle.dump(
                {
                    "batch_label": name,
                    "labels": labels,
                    "data": planes.reshape(per_batch, 3072),
                    "filenames": [f"{name}_{k}.png" for k in range(per_batch)],
                },
                handle,
            )
        written[name] = planes
    return written


def test_cifar_pickled_batches(tmp_path, monkeypatch):
    written = write_cifar_batches(tmp_path / "cifar-10-batches-py")
    data = load_cifar10(tmp_path, 32, None, rng(), {})
    assert data.images.shape == (18, 3, 32, 32) and data.images.dtype == torch.uint8
    assert data.origin.tolist() == ["train"] * 15 + ["test"] * 3
    expected = np.concatenate([written[f"data_batch_{i}"] for i in range(1, 6)] + [written["test_batch"]])
    assert np.array_equal(data.images.numpy(), expected)
    assert np.array_equal(data.labels["class"], expected[:, 0, 0, 0] // 20)
    assert data.labels["living"].tolist() == [CLASSES[c] in LIVING for c in data.labels["class"]]
    # the root may also be the batches folder itself
    assert torch.equal(load_cifar10(tmp_path / "cifar-10-batches-py", 32, None, rng(), {}).images, data.images)
    # torchvision reads the same files the same way (its md5 check only knows the official files)
    import torchvision.datasets.cifar

    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda *args, **kwargs: True)
    reference = torchvision.datasets.CIFAR10(str(tmp_path), train=True, download=False)
    assert np.array_equal(reference.data, data.images[:15].permute(0, 2, 3, 1).numpy())
    assert reference.targets == data.labels["class"][:15].tolist()


def test_cifar_pickled_batches_resized_and_subset(tmp_path):
    write_cifar_batches(tmp_path / "cifar-10-batches-py", per_batch=4)
    data = load_cifar10(tmp_path, 16, 6, rng(1), {})
    assert data.images.shape == (6, 3, 16, 16)
    assert sorted(data.origin.tolist()) == ["test"] + ["train"] * 5  # 20:4 split of 24 kept
    assert np.array_equal(data.images[:, 0, 8, 8].numpy(), data.labels["class"] * 20)
    again = load_cifar10(tmp_path, 16, 6, rng(1), {})
    assert torch.equal(data.images, again.images)


def test_cifar_missing_layout_names_root_and_both_layouts(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError) as excinfo:
        load_cifar10(tmp_path / "empty", 32, None, rng(), {})
    assert_one_line_error(excinfo, str(tmp_path / "empty"), "train/<class>/", "cifar-10-batches-py")
    with pytest.raises(DatasetError) as excinfo:
        load_cifar10(tmp_path / "absent", 32, None, rng(), {})
    assert_one_line_error(excinfo, str(tmp_path / "absent"), "does not exist")


def test_cifar_missing_batch_and_unknown_class_folder(tmp_path):
    write_cifar_batches(tmp_path / "p" / "cifar-10-batches-py")
    (tmp_path / "p" / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetError) as excinfo:
        load_cifar10(tmp_path / "p", 32, None, rng(), {})
    assert_one_line_error(excinfo, "data_batch_3")
    write_image(tmp_path / "f" / "train" / "kitten" / "0.png", (0, 0, 0))
    with pytest.raises(DatasetError) as excinfo:
        load_cifar10(tmp_path / "f", 32, None, rng(), {})
    assert_one_line_error(excinfo, "train/kitten")


def test_cifar_corrupt_image_is_named_in_folder_and_archive(tmp_path):
    root = write_cifar_folders(tmp_path / "cifar10-jpeg", {"train": 1, "test": 1}, suffix=".jpg")
    (root / "train" / "cat" / "0000.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(DatasetError) as excinfo:
        load_cifar10(root, 8, None, rng(), {})
    assert_one_line_error(excinfo, str(root / "train" / "cat" / "0000.jpg"))
    archive = make_tar(root, tmp_path / "cifar10-jpeg.tar.gz", "cifar10-jpeg")
    with pytest.raises(DatasetError) as excinfo:
        load_cifar10(archive, 8, None, rng(), {})
    assert_one_line_error(excinfo, "cifar10-jpeg.tar.gz:cifar10-jpeg/train/cat/0000.jpg")


@pytest.mark.parametrize("archive_name", ["c.tar.gz", "c.tar"])
def test_cifar_truncated_archive_is_a_dataset_error(tmp_path, archive_name):
    archive = make_tar(write_cifar_folders(tmp_path / "c", {"train": 1}), tmp_path / archive_name, "c")
    if archive_name.endswith(".gz"):
        cut = archive.stat().st_size // 2
    else:  # cut inside the last image's data (a plain tar is padded with zero blocks at the end)
        with tarfile.open(archive) as tar:
            cut = max(m.offset_data for m in tar.getmembers() if m.isfile()) + 10
    (tmp_path / f"cut-{archive_name}").write_bytes(archive.read_bytes()[:cut])
    with pytest.raises(DatasetError) as excinfo:
        load_cifar10(tmp_path / f"cut-{archive_name}", 8, None, rng(), {})
    assert_one_line_error(excinfo, f"cut-{archive_name}")


# ---------------------------------------------------------------- UTKFace

UTK_VALID = {  # name -> (gender, race, age_group with the default bins 0/20/40/60/200)
    "25_0_0_20170116174525125.jpg.chip.jpg": (0, 0, 1),
    "5_1_2_20161219203650636.jpg.chip.jpg": (1, 2, 0),
    "45_1_3_20170119180014474.jpg": (1, 3, 2),
    "70_0_4_20170117194932394.jpg.chip.jpg": (0, 4, 3),
    "19_0_1_20170116231011155.jpg.chip.jpg": (0, 1, 0),
    "40_1_0_20170104165523512.jpg.chip.jpg": (1, 0, 2),
}
UTK_MALFORMED = [
    "61_1_20170109142408075.jpg.chip.jpg",  # no race field (a real file of the dataset)
    "a_0_0_20170116174525125.jpg.chip.jpg",  # age not an integer
    "30_2_0_20170116174525125.jpg.chip.jpg",  # gender out of range
    "30_0_5_20170116174525125.jpg.chip.jpg",  # race out of range
]


def utk_color(name: str) -> tuple[int, int, int]:
    gender, race, group = UTK_VALID.get(name, (0, 0, 0))
    return (100 * gender + 20, 40 * race + 20, 50 * group + 20)


def write_utkface(root: Path) -> Path:
    for name in [*UTK_VALID, *UTK_MALFORMED]:
        write_image(root / "UTKFace" / name, utk_color(name), size=(20, 24))
    return root


def check_utk_labels(data) -> None:
    for i in range(len(data)):  # the colour of each image encodes the labels of its file name
        expected = (data.labels["gender"][i], data.labels["race"][i], data.labels["age_group"][i])
        gender, race, group = expected
        color = (100 * gender + 20, 40 * race + 20, 50 * group + 20)
        assert np.all(np.abs(data.images[i, :, 4, 4].int().numpy() - color) <= 4), (i, expected)


def test_utkface_labels_skipped_names_and_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="attrunlearn_core.datasets.utkface"):
        data = load_utkface(write_utkface(tmp_path / "utk"), 12, None, rng(), {})
    assert data.images.shape == (6, 3, 12, 12) and data.images.dtype == torch.uint8
    assert data.skipped == 4
    assert data.num_classes == {"gender": 2, "race": 5, "age_group": 4}
    assert data.class_names["race"] == ["White", "Black", "Asian", "Indian", "Others"]
    assert data.origin is None
    expected = sorted(UTK_VALID.values())
    got = sorted(zip(data.labels["gender"].tolist(), data.labels["race"].tolist(), data.labels["age_group"].tolist(), strict=True))
    assert got == expected
    check_utk_labels(data)
    assert all(v.dtype == np.int64 for v in data.labels.values())
    assert "skipped 4" in caplog.text and "61_1_20170109142408075.jpg.chip.jpg" in caplog.text


def test_utkface_archive_custom_bins_and_subset(tmp_path):
    source = write_utkface(tmp_path / "utk")
    archive = make_tar(source / "UTKFace", tmp_path / "utk.tar.gz", "utkface/crop_part1")
    data = load_utkface(archive, 12, None, rng(), {"age_bins": [0, 30, 200]})
    assert len(data) == 6 and data.skipped == 4
    assert data.num_classes["age_group"] == 2 and data.class_names["age_group"] == ["0-29", "30-199"]
    assert sorted(data.labels["age_group"].tolist()) == [0, 0, 0, 1, 1, 1]  # ages 5 19 25 | 40 45 70
    subset = load_utkface(archive, 12, 3, rng(5), {})
    assert len(subset) == 3 and subset.skipped == 4  # skipped counts the whole listing
    check_utk_labels(subset)
    assert torch.equal(subset.images, load_utkface(archive, 12, 3, rng(5), {}).images)


def test_utkface_errors(tmp_path):
    write_image(tmp_path / "bad_names" / "61_1_20170109142408075.jpg.chip.jpg", (0, 0, 0))
    with pytest.raises(DatasetError) as excinfo:
        load_utkface(tmp_path / "bad_names", 8, None, rng(), {})
    assert_one_line_error(excinfo, str(tmp_path / "bad_names"), "{age}_{gender}_{race}")
    root = write_utkface(tmp_path / "utk")
    corrupt = root / "UTKFace" / "5_1_2_20161219203650636.jpg.chip.jpg"
    corrupt.write_bytes(b"")
    with pytest.raises(DatasetError) as excinfo:
        load_utkface(root, 8, None, rng(), {})
    assert_one_line_error(excinfo, str(corrupt))
    with pytest.raises(ConfigError):
        load_utkface(root, 8, None, rng(), {"age_bins": [40, 20]})


# ---------------------------------------------------------------- CelebA

CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()
CELEBA_PARTITIONS = [0, 0, 0, 1, 2, 0]


def write_celeba(root: Path) -> np.ndarray:
    values = np.random.default_rng(11).integers(0, 2, size=(len(CELEBA_PARTITIONS), 40))
    lines = [str(len(values)), " ".join(CELEBA_ATTRIBUTES) + " "]  # the official header ends with a space
    partition_lines = []
    for i, row in enumerate(values):
        name = f"{i + 1:06d}.jpg"
        write_image(root / "img_align_celeba" / name, (40 * i, 0, 0), size=(18, 22))
        lines.append(name + " " + " ".join(f"{1 if v else -1:2d}" for v in row))  # values padded as in the file
        partition_lines.append(f"{name} {CELEBA_PARTITIONS[i]}")
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (root / "list_eval_partition.txt").write_text("\n".join(partition_lines) + "\n")
    return values


def test_celeba_attributes_and_origin(tmp_path):
    values = write_celeba(tmp_path)
    data = load_celeba(tmp_path, 16, None, rng(), {})
    assert data.images.shape == (6, 3, 16, 16) and data.images.dtype == torch.uint8
    assert list(data.labels) == CELEBA_ATTRIBUTES
    assert data.num_classes["Smiling"] == 2 and data.num_classes["Male"] == 2 and len(data.num_classes) == 40
    for j, name in enumerate(CELEBA_ATTRIBUTES):
        assert data.labels[name].tolist() == values[:, j].tolist()
    assert data.origin.tolist() == ["train", "train", "train", "test", "test", "train"]
    assert np.all(np.abs(data.images[:, 0, 8, 8].int().numpy() - 40 * np.arange(6)) <= 4)


def test_celeba_subset_is_seeded(tmp_path):
    values = write_celeba(tmp_path)
    first = load_celeba(tmp_path, 8, 3, rng(2), {})
    assert len(first) == 3 and sorted(first.origin.tolist()) == ["test", "train", "train"]
    again = load_celeba(tmp_path, 8, 3, rng(2), {})
    assert torch.equal(first.images, again.images)
    rows = (first.images[:, 0, 4, 4].int().numpy() + 20) // 40  # the red level encodes the row
    assert first.labels["Male"].tolist() == values[rows, CELEBA_ATTRIBUTES.index("Male")].tolist()


def test_celeba_errors(tmp_path):
    write_celeba(tmp_path)
    (tmp_path / "img_align_celeba" / "000002.jpg").write_bytes(b"garbage")
    with pytest.raises(DatasetError) as excinfo:
        load_celeba(tmp_path, 8, None, rng(), {})
    assert_one_line_error(excinfo, str(tmp_path / "img_align_celeba" / "000002.jpg"))
    (tmp_path / "list_eval_partition.txt").unlink()
    with pytest.raises(DatasetError) as excinfo:
        load_celeba(tmp_path, 8, None, rng(), {})
    assert_one_line_error(excinfo, "list_eval_partition.txt", "img_align_celeba/", "list_attr_celeba.txt")
    lines = (tmp_path / "list_attr_celeba.txt").read_text().splitlines()
    (tmp_path / "list_attr_celeba.txt").write_text("\n".join(lines[:3] + [lines[3] + " 1"] + lines[4:]))
    with pytest.raises(DatasetError) as excinfo:
        load_celeba(tmp_path, 8, None, rng(), {})
    assert_one_line_error(excinfo, "list_attr_celeba.txt line 4")
    with pytest.raises(DatasetError) as excinfo:
        load_celeba(tmp_path / "nowhere", 8, None, rng(), {})
    assert_one_line_error(excinfo, "nowhere", "list_attr_celeba.txt")


# ---------------------------------------------------------------- FairFace

FAIRFACE_ROWS = {
    "train": [
        ("20-29", "Male", "East Asian"),
        ("more than 70", "Female", "Latino_Hispanic"),
        ("0-2", "Female", "White"),
        ("50-59", "Male", "Middle Eastern"),
    ],
    "val": [("3-9", "Male", "Southeast Asian"), ("40-49", "Female", "Black"), ("10-19", "Male", "Indian")],
}


def write_fairface(root: Path, image_dir: str = "fairface-img-margin025-trainval") -> None:
    for partition, rows in FAIRFACE_ROWS.items():
        with (root / f"fairface_label_{partition}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "age", "gender", "race", "service_test"])
            for k, (age, gender, race) in enumerate(rows, start=1):
                writer.writerow([f"{partition}/{k}.jpg", age, gender, race, "True"])
                shade = 30 * k + (100 if partition == "val" else 0)
                write_image(root / image_dir / partition / f"{k}.jpg", (shade, 0, 0), size=(16, 16))


def test_fairface_labels_origin_and_image_subfolder(tmp_path):
    write_fairface(tmp_path)
    data = load_fairface(tmp_path, 8, None, rng(), {})
    assert data.images.shape == (7, 3, 8, 8) and data.images.dtype == torch.uint8
    assert data.num_classes == {"gender": 2, "race": 7, "age": 9}
    assert data.labels["gender"].tolist() == [0, 1, 1, 0, 0, 1, 0]
    assert data.labels["race"].tolist() == [3, 2, 0, 6, 4, 1, 5]
    assert data.labels["age"].tolist() == [3, 8, 0, 6, 1, 5, 2]
    assert data.origin.tolist() == ["train"] * 4 + ["test"] * 3
    shades = [30, 60, 90, 120, 130, 160, 190]
    assert np.all(np.abs(data.images[:, 0, 4, 4].int().numpy() - shades) <= 4)
    # images directly under root work too
    (tmp_path / "flat").mkdir()
    write_fairface(tmp_path / "flat", image_dir=".")
    assert torch.equal(load_fairface(tmp_path / "flat", 8, None, rng(), {}).images, data.images)


def test_fairface_subset_is_seeded(tmp_path):
    write_fairface(tmp_path)
    first = load_fairface(tmp_path, 8, 4, rng(9), {})
    assert len(first) == 4 and sorted(first.origin.tolist()) == ["test", "test", "train", "train"]
    assert torch.equal(first.images, load_fairface(tmp_path, 8, 4, rng(9), {}).images)


def test_fairface_errors(tmp_path):
    write_fairface(tmp_path)
    path = tmp_path / "fairface_label_val.csv"
    path.write_text(path.read_text().replace("Southeast Asian", "Martian"))
    with pytest.raises(DatasetError) as excinfo:
        load_fairface(tmp_path, 8, None, rng(), {})
    assert_one_line_error(excinfo, "fairface_label_val.csv line 2", "Martian")
    path.write_text(path.read_text().replace("Martian", "Southeast Asian"))
    (tmp_path / "fairface-img-margin025-trainval" / "val" / "2.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError) as excinfo:
        load_fairface(tmp_path, 8, None, rng(), {})
    assert_one_line_error(excinfo, str(tmp_path / "fairface-img-margin025-trainval" / "val" / "2.jpg"))
    path.unlink()
    with pytest.raises(DatasetError) as excinfo:
        load_fairface(tmp_path, 8, None, rng(), {})
    assert_one_line_error(excinfo, "fairface_label_val.csv", "fairface_label_train.csv")


# ---------------------------------------------------------------- loaders declare their labels and capacity


def test_a_new_loader_is_checked_by_its_own_declaration(tiny_config):
    from attrunlearn_core.datasets import DATASET_LOADERS, register_dataset

    @register_dataset("toy", labels=("kind", "tint"), capacity=lambda options: (int(options.get("count", 50)), "options.count"))
    def load_toy(root, image_size, max_samples, rng, options):  # pragma: no cover - never loaded here
        raise AssertionError

    try:
        config = copy.deepcopy(tiny_config)
        config["datasets"] = {
            "toy": {
                "loader": "toy",
                "image_size": 16,
                "task": "kind",
                "attributes": ["tint"],
                "splits": {"train": 20, "test": 10, "attacker_train": 10, "attacker_test": 5},
            }
        }
        config["grid"]["datasets"] = ["toy"]
        validate_config(copy.deepcopy(config), "toy.yaml")
        for change, fragment in (
            (lambda c: c["datasets"]["toy"].update(task="shape"), "datasets.toy.task: 'shape' is not a label of loader toy (it has: kind, tint)"),
            (lambda c: c["datasets"]["toy"].update(attributes=["hue"]), "datasets.toy.attributes: 'hue' is not a label of loader toy"),
            (
                lambda c: c["datasets"]["toy"].update(options={"count": 20}),
                "ask for 45 images (train=20, test=10, attacker_train=10, attacker_test=5) but options.count allows only 20",
            ),
        ):
            bad = copy.deepcopy(config)
            change(bad)
            with pytest.raises(ConfigError) as error:
                validate_config(bad, "toy.yaml")
            assert fragment in str(error.value)
    finally:
        DATASET_LOADERS._entries.pop("toy")


def test_no_loader_name_is_branched_on_outside_its_own_file():
    from attrunlearn_core.datasets import list_datasets

    package = REPO / "attrunlearn_core"
    for path in package.rglob("*.py"):
        text = path.read_text()
        for name in list_datasets():
            if path == package / "datasets" / f"{name}.py":
                continue
            branch = re.compile(rf"""(==|!=|\bin)\s*[(\[{{]?\s*["']{name}["']""")
            assert not branch.search(text), f"{path.relative_to(REPO)} branches on loader {name!r}"
