"""Two tiny grids run one after the other: each keeps its own results folder, MLflow parent run and report."""

from __future__ import annotations

import base64
import json
import re

import pandas as pd
from mlflow.tracking import MlflowClient

from attrunlearn_core.tracking import GIT_COMMIT_TAG, PARENT_ID_TAG, file_digest

from tiny_grids import JOINT
from workflow import snakemake

RECOVERIES = {f"recovery_embedded_resnet18_{attribute}_detachment_local_seed0.png" for attribute in ("color", JOINT)}
GRADCAM = f"gradcam_embedded_resnet18_{JOINT}_baseline2_seed0.png"


def test_two_grids_run_one_after_the_other_keep_both_tables(tiny_grids):
    workdir, configs = tiny_grids.workdir, tiny_grids.configs
    a = pd.read_parquet(workdir / "results/a/tables/cells.parquet")
    b = pd.read_parquet(workdir / "results/b/tables/cells.parquet")
    assert sorted(a["method"]) == sorted(2 * ["detachment_local", "original"]) and set(a["attribute"]) == {"color", JOINT}
    assert sorted(b["method"]) == sorted(tiny_grids.settings["b"]["methods"]) and set(b["attribute"]) == {JOINT}
    for name in ("a", "b"):
        assert (workdir / f"results/{name}/tables/summary.parquet").exists()
        assert (workdir / f"results/{name}/figures/trade_off_embedded.png").read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in (workdir / "results").iterdir()) == ["a", "b", "mlflow.db"]
    # Grid b's run left grid a complete.
    again = snakemake(workdir, configs["a"], "-n")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def test_each_grid_is_one_parent_run_with_its_cells_nested(tiny_grids):
    workdir = tiny_grids.workdir
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir}/results/mlflow.db")
    for name, cells in (("a", 4), ("b", len(tiny_grids.settings["b"]["methods"]))):
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


def built_report(tiny_grids, name: str) -> tuple[str, dict]:
    """`snakemake --report` of a finished grid: the HTML and its result records by file name."""
    result = snakemake(tiny_grids.workdir, tiny_grids.configs[name], "--cores", "1", "--report", f"results/{name}/report.html")
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tiny_grids.results(name) / "report.html").read_text()
    return html, {record["name"]: record for record in report_results(html).values()}


def test_the_report_holds_every_table_and_figure_with_its_caption(tiny_grids):
    html, results = built_report(tiny_grids, "a")
    assert set(results) == {
        "summary.html",
        "cells.html",
        "attack_summary.html",
        "trade_off_embedded.png",
        "attacker_accuracy_embedded.png",
        "attacker_pool_embedded.png",
        *RECOVERIES,
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
    assert "4 Grad-CAM" not in categories  # grid a has no baseline-2 cell
    front_page = json.loads(re.search(r"var workflow_desc = (\".*?\");\n", html, re.S).group(1))
    assert "Attribute unlearning benchmark, grid" in front_page and "embedded" in front_page and "detachment_local" in front_page


def test_a_baseline2_cell_brings_its_gradcam_grid_into_the_report(tiny_grids):
    _, results = built_report(tiny_grids, "b")
    assert GRADCAM in results and not RECOVERIES & set(results)
    assert base64.b64decode(results[GRADCAM]["data_uri"].split(",", 1)[1])[:4] == b"\x89PNG"
    assert "Grad-CAM" in results[GRADCAM]["caption"] and len(results[GRADCAM]["caption"]) > 200
    summary = base64.b64decode(results["summary.html"]["data_uri"].split(",", 1)[1]).decode()
    assert all(f">{method}<" in summary for method in tiny_grids.settings["b"]["methods"])
