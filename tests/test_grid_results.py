"""Two tiny grids run one after the other: each keeps its own results folder, MLflow parent run and report."""

from __future__ import annotations

import base64
import copy
import json
import re

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from attrunlearn_core.tracking import GIT_COMMIT_TAG, PARENT_ID_TAG, file_digest

from conftest import TINY_CONFIG, write_config
from workflow import snakemake

RECOVERY = "recovery_embedded_resnet18_color_detachment_local_seed0.png"


def grid_a() -> dict:
    """Summary figures and tables, and a recovery grid (detachment). Baseline-2's Grad-CAM grid and the efficiency
    table are flagged for the report the same way; they are left out here to keep the run short on 2 cores."""
    config = copy.deepcopy(TINY_CONFIG)
    config["name"] = "a"
    config["datasets"]["embedded"]["attributes"] = ["color"]
    config["attackers"].update(names=["linear", "mlp"], sites=["split"])
    config["methods"] = {
        "original": {"method": "original"},
        "detachment_local": {"method": "detachment", "params": {"mode": "local", "epochs": 1, "head_steps": 1}},
    }
    config["grid"]["methods"] = list(config["methods"])
    return config


def grid_b() -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config["name"] = "b"
    config["datasets"]["embedded"]["attributes"] = [["color", "background"]]
    config["attackers"].update(names=["linear"], sites=["split"])
    return config


@pytest.fixture(scope="module")
def two_grids(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("grids")
    configs = {}
    for config in (grid_a(), grid_b()):
        configs[config["name"]] = write_config(config, workdir / f"{config['name']}.yaml")
        result = snakemake(workdir, configs[config["name"]], "--cores", "2", timeout=2400)
        assert result.returncode == 0, result.stderr[-3000:]
    return workdir, configs


def test_two_grids_run_one_after_the_other_keep_both_tables(two_grids):
    workdir, configs = two_grids
    a = pd.read_parquet(workdir / "results/a/tables/cells.parquet")
    b = pd.read_parquet(workdir / "results/b/tables/cells.parquet")
    assert sorted(a["method"]) == ["detachment_local", "original"] and set(a["attribute"]) == {"color"}
    assert b["method"].tolist() == ["original"] and b["attribute"].tolist() == ["color+background"]
    for name in ("a", "b"):
        assert (workdir / f"results/{name}/tables/summary.parquet").exists()
        assert (workdir / f"results/{name}/figures/trade_off_embedded.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (workdir / "results").iterdir()) == ["a", "b", "mlflow.db"]
    # Grid b's run left grid a complete.
    again = snakemake(workdir, configs["a"], "-n")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def test_each_grid_is_one_parent_run_with_its_cells_nested(two_grids):
    workdir, _ = two_grids
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir}/results/mlflow.db")
    for name, cells in (("a", 2), ("b", 1)):
        experiment = client.get_experiment_by_name(f"attrunlearn-{name}")
        assert experiment.artifact_location == (workdir / f"results/{name}/mlflow-artifacts").resolve().as_uri()
        (parent,) = client.search_runs([experiment.experiment_id], filter_string="tags.kind = 'grid'")
        children = client.search_runs([experiment.experiment_id], filter_string="tags.kind = 'cell'")
        assert len(children) == cells and {run.data.tags[PARENT_ID_TAG] for run in children} == {parent.info.run_id}
        assert parent.data.tags["grid"] == name and re.fullmatch(r"[0-9a-f]{40}(-dirty)?", parent.data.tags[GIT_COMMIT_TAG])
        assert parent.data.tags["data_digest.embedded"] == file_digest(workdir / f"results/{name}/prepared/embedded.pt")
        logged = {artifact.path for artifact in client.list_artifacts(parent.info.run_id, "tables")}
        assert {"tables/summary.parquet", "tables/summary.csv", "tables/attack_summary.parquet", "tables/cells.parquet"} <= logged


def report_results(html: str) -> dict:
    """The report's embedded result records (path -> name, caption, data URI, ...)."""
    return json.loads(re.search(r"var results = (\{.*?\});\n", html, re.S).group(1))


def test_the_report_holds_every_table_and_figure_with_its_caption(two_grids):
    workdir, configs = two_grids
    result = snakemake(workdir, configs["a"], "--cores", "1", "--report", "results/a/report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    html = (workdir / "results/a/report.html").read_text()
    results = {record["name"]: record for record in report_results(html).values()}
    assert set(results) == {
        "summary.html",
        "cells.html",
        "attack_summary.html",
        "trade_off_embedded.png",
        "attacker_accuracy_embedded.png",
        "attacker_pool_embedded.png",
        RECOVERY,
    }
    for name, record in results.items():
        payload = base64.b64decode(record["data_uri"].split(",", 1)[1])
        assert payload[:4] == b"\x89PNG" if name.endswith(".png") else payload.startswith(b"<!doctype html>")
        assert len(record["caption"]) > 200, name  # every item explains what it shows and how to read it
    assert "trade-off on <strong>embedded</strong>" in results["trade_off_embedded.png"]["caption"]
    assert "chance given the task" in results["trade_off_embedded.png"]["caption"]
    summary = base64.b64decode(results["summary.html"]["data_uri"].split(",", 1)[1]).decode()
    assert all(f">{method}<" in summary for method in ("original", "detachment_local"))
    categories = html[html.index("var categories") : html.index("var categories") + 3000]
    assert all(c in categories for c in ("1 Tables", "2 Trade-off", "3 Attackers", "5 Image recovery"))
    front_page = json.loads(re.search(r"var workflow_desc = (\".*?\");\n", html, re.S).group(1))
    assert "Attribute unlearning benchmark, grid" in front_page and "embedded" in front_page and "detachment_local" in front_page
