"""Attacker learning curves: more pool fractions per attacker, where each saturates, and the figure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from attrunlearn_core.checkpoints import save_checkpoint
from attrunlearn_core.config import Cell
from attrunlearn_core.datasets.embedded import load_embedded
from attrunlearn_core.datasets.prepared import prepare
from attrunlearn_core.evaluation import cell_row
from attrunlearn_core.figures.learning_curve import learning_curve_figure, saturation_points
from attrunlearn_core.jobs.fit_attackers import fit_cell_attackers
from attrunlearn_core.models import build_split_model
from attrunlearn_core.seeding import seed_everything

SIZES = {"train": 64, "test": 32, "attacker_train": 192, "attacker_test": 96}
CELL = Cell("embedded", "resnet18", "color", "original", 0)


@pytest.mark.filterwarnings("error::UserWarning")  # e.g. kNN offered more neighbours than a small pool's fold holds
def test_every_attacker_fits_on_each_curve_fraction_and_the_cell_records_the_saturation_fraction(tmp_path):
    rng = np.random.default_rng(0)
    prepared = prepare(load_embedded(None, 16, sum(SIZES.values()), rng, {}), SIZES, ["shape", "color"], rng, {"dataset": "embedded"})
    prepared.save(tmp_path / "data.pt")
    seed_everything(0)
    save_checkpoint(tmp_path / "model.pt", build_split_model("resnet18", 4, "layer2", 16).eval())
    spec = {
        "names": ["linear", "knn"],
        "sites": ["split"],
        "pool": ["attacker_train", "train"],
        "saturation_fraction": 0.5,
        "curve_fractions": [0.125, 0.25],
        "shuffled_control": False,
        "recipe": {"max_epochs": 5, "patience": 2, "batch_size": 64, "cv_folds": 2},
    }
    fit_cell_attackers(spec, "shape", "cpu", CELL, tmp_path / "data.pt", tmp_path / "model.pt", tmp_path / "attacks.json", tmp_path / "fidelity.json")
    attack = json.loads((tmp_path / "attacks.json").read_text())
    assert attack["saturation_fraction"] == 0.5
    for name in ("linear", "knn"):
        rows = sorted((a["pool_fraction"], a["num_train"]) for a in attack["attacks"] if a["attacker"] == name)
        assert [fraction for fraction, _ in rows] == [0.125, 0.25, 0.5, 1.0]
        assert [size for _, size in rows] == [32, 64, 128, 256]  # of the 256 pool pairs, validation slice included


def _attack(accuracy_by_fraction: dict[float, float], saturation_fraction: float | None = 0.5) -> dict:
    attacks = [{"site": "split", "attacker": "mlp", "pool_fraction": f, "accuracy": a} for f, a in accuracy_by_fraction.items()]
    return {
        "attacks": attacks,
        "chance": 0.25,
        "chance_given_task": 0.3,
        **({"saturation_fraction": saturation_fraction} if saturation_fraction else {}),
    }


def test_still_climbing_compares_the_full_pool_with_the_saturation_fraction_not_the_curve():
    fidelity = {"accuracy": 0.9, "chance": 0.25}
    flat_from_half = _attack({0.125: 0.5, 0.25: 0.7, 0.5: 0.89, 1.0: 0.9})
    assert cell_row(CELL, "original", "shape", fidelity, flat_from_half, 0.0)["efficacy_still_climbing"] is False
    assert cell_row(CELL, "original", "shape", fidelity, flat_from_half, 0.0)["efficacy_half_pool"] == 0.89
    climbing = _attack({0.25: 0.6, 0.5: 0.8, 1.0: 0.9}, saturation_fraction=0.25)
    assert cell_row(CELL, "original", "shape", fidelity, climbing, 0.0)["efficacy_half_pool"] == 0.6
    # attacks written before curves existed carry no saturation_fraction: the largest fraction below the full pool
    assert cell_row(CELL, "original", "shape", fidelity, _attack({0.5: 0.8, 1.0: 0.9}, None), 0.0)["efficacy_still_climbing"] is True


def _curves() -> pd.DataFrame:
    curves = {
        ("detachment", "mlp"): [0.40, 0.60, 0.75, 0.86, 0.87, 0.88],  # within 0.02 of the full pool from 1/4 on
        ("detachment", "knn"): [0.30, 0.40, 0.50, 0.60, 0.70, 0.80],  # still climbing at the end
        ("original", "mlp"): [0.99, 0.99, 1.00, 1.00, 1.00, 1.00],  # saturated from the smallest pool
    }
    fractions = [1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0]
    rows = []
    for (method, attacker), accuracy in curves.items():
        for fraction, value in zip(fractions, accuracy, strict=True):
            rows.append(
                {"dataset": "embedded", "model": "resnet18", "attribute": "color", "method": method, "site": "split", "attacker": attacker}
                | {"pool_fraction": fraction, "n_seeds": 1, "accuracy_mean": value, "accuracy_std": np.nan, "accuracy_ci_low": np.nan}
                | {"accuracy_ci_high": np.nan, "wilson_low": value - 0.03, "wilson_high": value + 0.03, "num_test": 600}
            )
    return pd.DataFrame(rows)


def test_saturation_points_give_the_first_pool_from_which_every_larger_one_is_within_the_margin():
    points = saturation_points(_curves()).set_index(["method", "attacker"])
    assert points.loc[("detachment", "mlp"), "saturation_fraction"] == 1 / 4
    assert points.loc[("detachment", "mlp"), "accuracy_at_saturation"] == 0.86 and points.loc[("detachment", "mlp"), "saturated"]
    assert points.loc[("detachment", "knn"), "saturation_fraction"] == 1.0 and not points.loc[("detachment", "knn"), "saturated"]
    assert points.loc[("original", "mlp"), "saturation_fraction"] == 1 / 32
    assert (points["accuracy_full_pool"] == [0.88, 0.80, 1.00]).all() and (points["fractions"] == 6).all()


def test_the_saturation_table_gives_each_attacker_its_largest_pool_reading_and_where_it_saturates():
    from attrunlearn_core.reference_table import saturation_table

    curves = _curves()
    attacks = curves[["pool_fraction"]].drop_duplicates().assign(num_train=lambda f: (f["pool_fraction"] * 20000).round())
    table = saturation_table(curves, attacks, "test machine", default_pairs=2500)
    assert "| detachment | 0.750 | 0.880 | 0.880 (from 5,000) | 0.800 (climbing) |" in table  # at 2,500 pairs: mlp 0.75, knn 0.50
    assert "| original | 1.000 | 1.000 | 1.000 (from 625) |" in table
    assert "with 2,500 pairs (the default grid's pool) and with 20,000" in table


def test_the_figure_has_a_panel_per_method_with_a_curve_per_attacker_and_squares_where_they_saturate():
    summary = pd.DataFrame(
        [
            {"dataset": "embedded", "model": "resnet18", "attribute": "color", "method": m, "method_name": m, "chance": 0.25}
            for m in ("detachment", "original")
        ]
    )
    figure = learning_curve_figure(_curves(), summary, "embedded")
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["detachment · resnet18 · color", "original · resnet18 · color"]
    detachment = panels[0]
    curves = [line for line in detachment.get_lines() if len(line.get_xdata()) == 6]
    assert len(curves) == 2 and detachment.get_xscale() == "log"
    squares = [line for line in detachment.get_lines() if line.get_marker() == "s" and len(line.get_xdata()) == 1]
    assert len(squares) == 1 and np.allclose(squares[0].get_xydata(), [[0.25, 86.0]])  # knn never saturates: no square
    assert any(round(float(line.get_ydata()[0]), 6) == 25.0 for line in detachment.get_lines() if len(set(line.get_ydata())) == 1)
