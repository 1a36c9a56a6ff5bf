"""The peer methods through the whole workflow on a tiny grid (grid `b` of tests/tiny_grids.py): unlearn, attack,
evaluate, aggregate."""

from __future__ import annotations

import pandas as pd

from tiny_grids import JOINT, PEER_METHODS


def test_every_peer_method_gets_its_rows_in_the_tables(tiny_grids):
    tables = tiny_grids.results("b") / "tables"
    attackers = tiny_grids.settings["b"]["attackers"]["names"]

    cells = pd.read_parquet(tables / "cells.parquet")
    cells = cells[cells["method"].isin(PEER_METHODS)]
    assert sorted(cells["method"]) == sorted(PEER_METHODS)
    assert set(cells["attribute"]) == {JOINT}
    assert cells.set_index("method")["method_name"].to_dict() == {name: spec["method"] for name, spec in PEER_METHODS.items()}
    assert cells[["fidelity", "efficacy", "chance", "aum"]].notna().all().all()
    assert (cells["method_seconds"] > 0).all()

    attacks = pd.read_parquet(tables / "attacks.parquet")
    attacks = attacks[attacks["method"].isin(PEER_METHODS)]
    assert set(attacks["method"]) == set(PEER_METHODS)
    assert (attacks.groupby("method").size() == 2 * len(attackers)).all()  # full and half pool

    method_metrics = pd.read_parquet(tables / "method_metrics.parquet")
    for method in ("instance_unlearning_attribute", "instance_unlearning_random"):
        reported = method_metrics[method_metrics["method"] == method].set_index("name")["value"]
        assert {"forget_accuracy_before", "forget_accuracy", "retain_accuracy", "test_accuracy", "steps"} <= set(reported.index)
        assert 0 < reported["steps"] <= 4
    assert (
        method_metrics.loc[(method_metrics["method"] == "instance_unlearning_random") & (method_metrics["name"] == "forget_size"), "value"].item()
        == 16
    )
    assert (
        method_metrics.loc[(method_metrics["method"] == "leace") & (method_metrics["name"] == "erased_rank"), "value"].item() == 7
    )  # joint z: 4 x 2 values
    assert {"adversary_accuracy_color", "adversary_accuracy_background"} <= set(method_metrics.loc[method_metrics["method"] == "adversarial", "name"])
