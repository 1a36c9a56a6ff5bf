import numpy as np
import pytest
import torch

from attrunlearn_core.datasets import get_dataset_loader, list_datasets
from attrunlearn_core.datasets.embedded import load_embedded
from attrunlearn_core.datasets.prepared import SPLITS, PreparedDataset, joint_labels, make_splits, prepare
from attrunlearn_core.errors import ArtifactError, ConfigError

SIZES = {"train": 50, "test": 20, "attacker_train": 30, "attacker_test": 20}


def _embedded(n=200, seed=0, size=16):
    return load_embedded(None, size, n, np.random.default_rng(seed), {})


def test_registry_knows_every_dataset_and_rejects_unknown_names():
    assert {"embedded", "cifar10", "utkface", "celeba", "fairface"} <= set(list_datasets())
    with pytest.raises(ConfigError, match="known: "):
        get_dataset_loader("mnist")


def test_embedded_is_deterministic_in_the_seed():
    a, b, c = _embedded(seed=1), _embedded(seed=1), _embedded(seed=2)
    assert torch.equal(a.images, b.images)
    assert not torch.equal(a.images, c.images)


def test_embedded_attributes_are_independent_of_the_task_and_visible():
    data = _embedded(n=4000, size=16)
    shape, color = data.labels["shape"], data.labels["color"]
    table = np.zeros((4, 4))
    np.add.at(table, (shape, color), 1)
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    chi2 = ((table - expected) ** 2 / expected).sum()
    assert chi2 < 27.9  # 9 d.o.f., p = 0.001: independence is not rejected
    # Background level is plainly in the pixels: corner pixels separate dark from light.
    corners = data.images[:, :, 0, 0].float().mean(1).numpy()
    assert corners[data.labels["background"] == 0].mean() + 60 < corners[data.labels["background"] == 1].mean()


def test_splits_are_disjoint_and_sized():
    splits = make_splits(200, SIZES, np.random.default_rng(0))
    seen = torch.cat([splits[s] for s in SPLITS])
    assert [len(splits[s]) for s in SPLITS] == [SIZES[s] for s in SPLITS]
    assert len(torch.unique(seen)) == len(seen)


def test_asking_for_more_samples_than_exist_is_one_clear_error():
    with pytest.raises(ConfigError, match="only 100"):
        make_splits(100, SIZES, np.random.default_rng(0))


def test_prepared_roundtrip_and_missing_label(tmp_path):
    prepared = prepare(_embedded(), SIZES, ["shape", "color"], np.random.default_rng(0), {"dataset": "embedded"})
    prepared.save(tmp_path / "p.pt")
    loaded = PreparedDataset.load(tmp_path / "p.pt")
    assert torch.equal(loaded.split_images("test"), prepared.split_images("test"))
    assert loaded.meta["dataset"] == "embedded"
    with pytest.raises(ConfigError, match="smile"):
        prepare(_embedded(), SIZES, ["smile"], np.random.default_rng(0), {})


def test_a_corrupt_cache_names_the_file(tmp_path):
    path = tmp_path / "broken.pt"
    path.write_bytes(b"not a tensor file")
    with pytest.raises(ArtifactError, match="broken.pt: prepared dataset is not a PyTorch file"):
        PreparedDataset.load(path)


def test_joint_labels_encode_each_combination_once():
    prepared = prepare(_embedded(n=400), SIZES, ["color", "background"], np.random.default_rng(0), {})
    joint, classes = joint_labels(prepared, "color+background")
    assert classes == 8
    decoded = torch.stack([joint // 2, joint % 2], 1)
    assert torch.equal(decoded, torch.stack([prepared.labels["color"], prepared.labels["background"]], 1))
