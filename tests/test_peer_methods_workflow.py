"""The peer methods through the whole workflow on a tiny grid: unlearn, attack, evaluate, aggregate."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from conftest import REPO, write_config

PEER_METHODS = {
    "instance_unlearning_attribute": {
        "method": "instance_unlearning",
        "params": {"forget_set": "attribute", "forget_values": [0, 5], "max_steps": 4},
    },
    "instance_unlearning_random": {"method": "instance_unlearning", "params": {"forget_set": "random", "forget_size": 16, "max_steps": 4}},
    "leace": {"method": "leace"},
    "adversarial": {"method": "adversarial"},
}


def test_every_peer_method_gets_its_rows_in_the_tables(tiny_config, tmp_path):
    tiny_config["datasets"]["embedded"]["attributes"] = [["color", "background"]]  # a joint z: every peer method supports it
    tiny_config["attackers"]["names"] = ["linear"]  # the attackers have their own tests; keep this run short
    tiny_config["attackers"]["sites"] = ["split"]
    tiny_config["methods"] = PEER_METHODS
    tiny_config["grid"]["methods"] = list(PEER_METHODS)
    config = write_config(tiny_config, tmp_path / "config.yaml")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            "2",
            "--configfile",
            str(config),
            "--directory",
            str(tmp_path / "run"),
            "-s",
            str(REPO / "Snakefile"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    tables = tmp_path / "run" / "results" / "default" / "tables"

    cells = pd.read_parquet(tables / "cells.parquet")
    assert sorted(cells["method"]) == sorted(PEER_METHODS)
    assert set(cells["attribute"]) == {"color+background"}
    assert cells.set_index("method")["method_name"].to_dict() == {name: spec["method"] for name, spec in PEER_METHODS.items()}
    assert cells[["fidelity", "efficacy", "chance", "aum"]].notna().all().all()
    assert (cells["method_seconds"] > 0).all()

    attacks = pd.read_parquet(tables / "attacks.parquet")
    assert set(attacks["method"]) == set(PEER_METHODS)
    assert (attacks.groupby("method").size() == 2 * len(tiny_config["attackers"]["names"])).all()  # full and half pool

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
