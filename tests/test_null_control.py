"""The independence control: images whose pixels carry nothing about the attribute (the embedded loader's
`attributes_in_pixels: false`). Every attacker on baseline-1's h must read chance there; the same pipeline on the
ordinary images must not, so the check can fail."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from attrunlearn_core.checkpoints import save_checkpoint
from attrunlearn_core.config import Cell
from attrunlearn_core.datasets.embedded import load_embedded
from attrunlearn_core.datasets.prepared import prepare
from attrunlearn_core.evaluation import cell_row
from attrunlearn_core.jobs.fit_attackers import fit_cell_attackers
from attrunlearn_core.models import build_split_model
from attrunlearn_core.seeding import seed_everything
from attrunlearn_core.statistics import wilson_interval
from attrunlearn_core.training import TrainingRecipe, fit_classifier

SIZES = {"train": 192, "test": 48, "attacker_train": 256, "attacker_test": 240}
ATTACKERS = {
    "names": ["linear", "mlp", "conv", "logreg", "knn"],
    "sites": ["split", "penultimate"],
    "pool": ["attacker_train", "train"],
    "saturation_fraction": 0.5,
    "recipe": {"max_epochs": 40, "patience": 5, "batch_size": 64, "hidden": 64, "cv_folds": 2, "max_components": 32},
}


def _attacks(tmp_path, attributes_in_pixels: bool) -> dict:
    rng = np.random.default_rng(0)
    data = load_embedded(None, 16, sum(SIZES.values()), rng, {"attributes_in_pixels": attributes_in_pixels})
    prepared = prepare(data, SIZES, ["shape", "color"], rng, {"dataset": "embedded"})
    seed_everything(0)
    model = build_split_model("resnet18", 4, "layer2", 16)
    recipe = TrainingRecipe(epochs=4, batch_size=32, lr=3e-3)
    fit_classifier(
        model, prepared.split_images("train"), prepared.split_labels("train", "shape"), recipe, torch.Generator().manual_seed(0), torch.device("cpu")
    )
    folder = tmp_path / ("painted" if attributes_in_pixels else "independent")
    folder.mkdir()
    prepared.save(folder / "data.pt")
    save_checkpoint(folder / "model.pt", model.eval())
    cell = Cell("embedded", "resnet18", "color", "original", 0)
    fit_cell_attackers(ATTACKERS, "shape", "cpu", cell, folder / "data.pt", folder / "model.pt", folder / "attacks.json", folder / "fidelity.json")
    return json.loads((folder / "attacks.json").read_text())


@pytest.fixture(scope="module")
def null_and_plain(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("null_control")
    return _attacks(tmp_path, attributes_in_pixels=False), _attacks(tmp_path, attributes_in_pixels=True)


def test_every_attacker_reads_chance_where_the_pixels_carry_nothing(null_and_plain):
    null, _ = null_and_plain
    full_pool = [attack for attack in null["attacks"] if attack["pool_fraction"] == 1.0]
    assert len(full_pool) == 9  # five attackers on h, four on the penultimate vector (conv needs a map)
    confidence = 1 - 0.05 / len(full_pool)  # family-wise 95 % over the attackers
    for attack in full_pool:  # a false positive reads above chance; below it (guessing every class, not the majority) is none
        low, _ = wilson_interval(attack["num_correct"], attack["num_test"], confidence)
        assert low <= null["chance"], f"{attack['site']} {attack['attacker']}: {attack['accuracy']:.3f} against chance {null['chance']:.3f}"


def test_the_same_attackers_find_the_painted_attribute(null_and_plain):
    _, plain = null_and_plain
    best = max(attack["accuracy"] for attack in plain["attacks"] if attack["site"] == "split")
    assert best > plain["chance"] + 0.3


def test_the_shuffled_control_reads_chance_on_real_h_and_flags_an_attacker_that_does_not(null_and_plain):
    _, plain = null_and_plain
    control = plain["shuffled_control"]
    assert sorted(record["attacker"] for record in control) == sorted(ATTACKERS["names"])  # split site, full pool
    assert not [record["attacker"] for record in control if record["flagged"]]
    assert all(record["wilson_low"] <= plain["chance"] for record in control)
    family_wise = 1 - 0.05 / len(control)  # the flag allows for testing five attackers at once
    assert all(
        (record["wilson_low"], record["wilson_high"]) == wilson_interval(record["num_correct"], record["num_test"], family_wise) for record in control
    )
    cell = Cell("embedded", "resnet18", "color", "original", 0)
    fidelity = {"accuracy": 0.9, "chance": 0.25}
    row = cell_row(cell, "original", "shape", fidelity, plain, 0.0)
    assert row["shuffled_efficacy"] == max(record["accuracy"] for record in control) and row["shuffled_flagged"] == ""
    leaking = {**plain, "shuffled_control": [{**control[0], "accuracy": 0.9, "wilson_low": 0.85, "flagged": True}, *control[1:]]}
    assert cell_row(cell, "original", "shape", fidelity, leaking, 0.0)["shuffled_flagged"] == control[0]["attacker"]
