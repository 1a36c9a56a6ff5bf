"""Integration: prepare small subsets of the real data in ../shared/data into the tensor cache."""

import copy

import pytest
import torch
from helpers import SHARED_DATA, TINY_CONFIG

from attrunlearn_core.config import validate_config
from attrunlearn_core.datasets.prepared import SPLITS, PreparedDataset
from attrunlearn_core.jobs.prepare import prepare_dataset

SIZES = {"train": 120, "test": 40, "attacker_train": 60, "attacker_test": 40}
DATASETS = {
    "cifar10_jpeg": {"loader": "cifar10", "root": str(SHARED_DATA / "cifar10-jpeg.tar.gz"), "task": "living", "attributes": ["class"]},
    "utkface": {
        "loader": "utkface",
        "root": str(SHARED_DATA / "utkface-crop_part1.tar.gz"),
        "task": "gender",
        "attributes": ["race", "age_group"],
        "options": {"age_bins": [0, 20, 40, 60, 200]},
    },
}


@pytest.fixture(scope="module", autouse=True)
def shared_data_present():
    assert SHARED_DATA.is_dir(), f"real data expected at {SHARED_DATA} (see its README.md); CI has it"


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_prepare_a_real_subset(name, tmp_path):
    config = copy.deepcopy(TINY_CONFIG)
    config["datasets"] = {name: {**DATASETS[name], "image_size": 32, "splits": SIZES}}
    config["grid"]["datasets"] = [name]
    validate_config(config)
    prepare_dataset(name, config["datasets"][name], config["seed"], tmp_path / "prepared.pt")
    prepared = PreparedDataset.load(tmp_path / "prepared.pt")
    total = sum(SIZES.values())
    assert prepared.images.shape == (total, 3, 32, 32) and prepared.images.dtype == torch.uint8
    assert prepared.images.float().std() > 20  # real photographs, not blank decodes
    for split in SPLITS:
        assert len(prepared.splits[split]) == SIZES[split]
    task = DATASETS[name]["task"]
    assert set(prepared.labels[task].unique().tolist()) == {0, 1}
    for attribute in DATASETS[name]["attributes"]:
        assert prepared.labels[attribute].unique().numel() > 2
    # Deterministic from the config's seed.
    prepare_dataset(name, config["datasets"][name], config["seed"], tmp_path / "again.pt")
    assert torch.equal(PreparedDataset.load(tmp_path / "again.pt").images, prepared.images)
