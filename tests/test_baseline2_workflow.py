"""Baseline-2 through the real workflow: masked dataset, retrained model, tables, MLflow run with the figure."""

import copy

import pyarrow.parquet as pq
import pytest
import torch
from helpers import TINY_CONFIG, write_config
from mlflow.tracking import MlflowClient

from attrunlearn_core.checkpoints import load_checkpoint
from attrunlearn_core.datasets.prepared import PreparedDataset

from workflow import job_counts, snakemake

JOINT = "color+background"
CELL = f"embedded/resnet18/{JOINT}/baseline2/seed0"


def baseline2_config(methods: dict, grid_methods: list[str]) -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config["datasets"]["embedded"]["attributes"] = [["color", "background"]]
    config["attackers"].update(names=["linear"], sites=["split"])
    config["methods"] = methods
    config["grid"]["methods"] = grid_methods
    return config


@pytest.fixture
def baseline2_run(tiny_grids):
    """Grid `b` of tests/tiny_grids.py: baseline-2 (one attribute-model epoch, a quarter of the pixels) beside the peers."""
    return tiny_grids.results("b")


def test_baseline2_is_a_method_row_with_its_masking_metrics(baseline2_run):
    cells = [row for row in pq.read_table(baseline2_run / "tables/cells.parquet").to_pylist() if row["method"] == "baseline2"]
    assert [(row["cell_id"], row["method_name"]) for row in cells] == [(CELL, "gradcam_retrain")]
    assert 0.0 <= cells[0]["fidelity"] <= 1.0 and 0.0 <= cells[0]["efficacy"] <= 1.0
    rows = pq.read_table(baseline2_run / "tables/method_metrics.parquet").to_pylist()
    metrics = {row["name"]: row["value"] for row in rows if row["method"] == "baseline2"}
    assert metrics["cam_images"] == 96 + 48 + 64 + 48
    assert metrics["cam_seconds"] > 0 and metrics["attribute_model_seconds"] > 0


def test_the_cell_is_trained_and_evaluated_on_masked_images(baseline2_run):
    original = PreparedDataset.load(baseline2_run / "prepared/embedded.pt")
    masked = PreparedDataset.load(baseline2_run / f"prepared_masked/embedded/resnet18/{JOINT}/baseline2/seed0.pt")
    assert all(torch.equal(masked.splits[s], original.splits[s]) for s in original.splits)
    assert all(torch.equal(masked.labels[k], original.labels[k]) for k in original.labels)
    changed = (masked.images != original.images).any(dim=1).flatten(1).float().mean(1)
    for split, indices in original.splits.items():
        # A masked pixel may by chance equal the fill; never more than the fraction changes.
        assert changed[indices].max() <= 0.25 + 1e-6 and changed[indices].mean() > 0.2, split
    retrained = load_checkpoint(baseline2_run / f"models/embedded/resnet18/seed0/masked/{JOINT}/baseline2/baseline.pt")
    assert retrained["config"]["prepared"].endswith(f"prepared_masked/embedded/resnet18/{JOINT}/baseline2/seed0.pt")


def test_the_figure_is_written_and_attached_to_the_cells_mlflow_run(baseline2_run):
    figure = baseline2_run / f"figures/gradcam_embedded_resnet18_{JOINT}_baseline2_seed0.png"
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    client = MlflowClient(tracking_uri=f"sqlite:///{baseline2_run.parent}/mlflow.db")
    runs = client.search_runs(
        [client.get_experiment_by_name("attrunlearn-b").experiment_id], filter_string="tags.kind = 'cell' and tags.method = 'baseline2'"
    )
    assert [run.data.tags["cell_id"] for run in runs] == [CELL]
    assert {"method.cam_seconds", "method.attribute_accuracy_masked", "fidelity", "efficacy"} <= set(runs[0].data.metrics)
    assert figure.name in {artifact.path for artifact in client.list_artifacts(runs[0].info.run_id)}


def test_grid_methods_differing_only_in_cam_settings_share_the_attribute_model(tmp_path):
    methods = {
        "b2_30": {"method": "gradcam_retrain", "params": {"attribute_epochs": 2}},
        "b2_50": {"method": "gradcam_retrain", "params": {"attribute_epochs": 2, "fraction": 0.5, "fill": "blur"}},
    }
    config = baseline2_config(methods, ["b2_30", "b2_50"])
    config["datasets"]["embedded"]["attributes"] = ["color", ["color", "background"]]
    result = snakemake(tmp_path, write_config(config, tmp_path / "mixed.yaml"), "-n")
    assert result.returncode == 0, result.stderr[-2000:]
    counts = job_counts(result.stdout)
    cells = 2 * 2
    assert counts["train_attribute_model"] == 2  # one per attribute, shared by b2_30 and b2_50
    assert counts["mask_dataset"] == counts["train_masked_baseline"] == counts["gradcam_figure"] == 2 * 2
    assert counts["unlearn"] == counts["evaluate"] == cells
    assert "train_baseline" not in counts  # baseline-2 never needs baseline-1
