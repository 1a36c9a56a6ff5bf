"""Loaders on the real data tarballs in ../shared/data (present on every developer machine and in CI)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from attrunlearn_core.datasets.cifar10 import CLASSES, load_cifar10
from attrunlearn_core.datasets.utkface import load_utkface

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RACE_LESS = ["61_1_20170109142408075.jpg.chip.jpg", "61_3_20170109150557335.jpg.chip.jpg"]


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_file():
        pytest.fail(f"real test data {path} is missing; it must sit in ../shared/data beside the project root")
    return path


def test_cifar10_jpeg_tarball_subset():
    data = load_cifar10(shared_file("cifar10-jpeg.tar.gz"), 32, 300, np.random.default_rng(0), {})
    assert data.images.shape == (300, 3, 32, 32) and data.images.dtype == torch.uint8
    counts = np.bincount(data.labels["class"], minlength=10)
    assert len(counts) == 10 and counts.min() >= 10  # ~30 of each class
    living = np.isin(data.labels["class"], [CLASSES.index(c) for c in ("bird", "cat", "deer", "dog", "frog", "horse")])
    assert data.labels["living"].tolist() == living.astype(int).tolist()
    assert 0.45 < data.labels["living"].mean() < 0.75  # 60% of CIFAR-10 is living
    assert sorted(np.unique(data.origin, return_counts=True)[1].tolist()) == [50, 250]  # 50k:10k kept
    assert data.images.float().std() > 30  # real photos, not blank decodes
    again = load_cifar10(shared_file("cifar10-jpeg.tar.gz"), 32, 300, np.random.default_rng(0), {})
    assert torch.equal(data.images, again.images)


def test_utkface_tarball_subset_skips_the_two_race_less_names(caplog):
    with caplog.at_level(logging.WARNING, logger="attrunlearn_core.datasets.utkface"):
        data = load_utkface(shared_file("utkface-crop_part1.tar.gz"), 32, 300, np.random.default_rng(0), {})
    assert data.images.shape == (300, 3, 32, 32) and data.images.dtype == torch.uint8
    # the loader parses every name in the archive before subsetting, so it sees both bad names
    assert data.skipped == 2
    assert all(name in caplog.text for name in RACE_LESS)
    assert data.num_classes == {"gender": 2, "race": 5, "age_group": 4}
    # crop_part1: 45% male, 54% White; every race and age group appears in 300 samples
    assert 0.3 < data.labels["gender"].mean() < 0.7
    assert np.bincount(data.labels["race"], minlength=5).min() >= 3
    assert np.bincount(data.labels["race"]).argmax() == 0
    assert np.bincount(data.labels["age_group"], minlength=4).min() >= 10
    assert data.images.float().std() > 30
