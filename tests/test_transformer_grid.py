"""Every family through the whole grid: a tiny ViT and a tiny Swin with every registered method, from prepared data
to the tables, the figures (a ViT's image recovery included) and the report."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from helpers import TINY_CONFIG, write_config
from PIL import Image

from workflow import snakemake

# The shapes of tests/tiny_transformers.py, built from the torchvision builders' names through `kwargs`.
MODELS = {
    "tiny_vit": {
        "arch": "vit_b_16",
        "split_after": "encoder.layers.encoder_layer_0",
        "kwargs": {"patch_size": 4, "num_layers": 2, "num_heads": 2, "hidden_dim": 32, "mlp_dim": 64},
    },
    "tiny_swin": {
        "arch": "swin_t",
        "split_after": "features.3",
        "kwargs": {"patch_size": [4, 4], "embed_dim": 16, "depths": [1, 1, 1, 1], "num_heads": [1, 2, 2, 2], "window_size": [2, 2]},
    },
}
METHODS = {
    "original": {"method": "original"},
    "finetune": {"method": "finetune", "params": {"epochs": 1}},
    "baseline2": {"method": "gradcam_retrain", "params": {"attribute_epochs": 1, "fraction": 0.25}},
    "detachment_end_to_end": {"method": "detachment", "params": {"mode": "end_to_end", "epochs": 1, "head_steps": 1}},
    "detachment_local": {"method": "detachment", "params": {"mode": "local", "epochs": 1, "head_steps": 1}},
    "instance_unlearning_attribute": {"method": "instance_unlearning", "params": {"forget_set": "attribute", "max_steps": 2}},
    "instance_unlearning_random": {"method": "instance_unlearning", "params": {"forget_set": "random", "forget_size": 16, "max_steps": 2}},
    "leace": {"method": "leace", "params": {"classifier_epochs": 1}},
    "qleace": {"method": "qleace", "params": {"classifier_epochs": 1, "components": 8}},
    "adversarial": {"method": "adversarial", "params": {"epochs": 1, "head_steps": 1}},
    "hsic": {"method": "hsic", "params": {"epochs": 1}},
}


def transformer_grid() -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config["name"] = "transformers"
    config["datasets"]["embedded"]["attributes"] = ["color"]
    config["models"] = copy.deepcopy(MODELS)
    config["methods"] = copy.deepcopy(METHODS)
    config["attackers"].update(names=["linear"], sites=["split"])
    config["grid"].update(models=list(MODELS), methods=list(METHODS))
    return config


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("transformer_grid")
    configfile = write_config(transformer_grid(), workdir / "grid.yaml")
    result = snakemake(workdir, configfile, "--cores", "2", timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    report = snakemake(workdir, configfile, "--cores", "1", "--report", "results/transformers/report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    return workdir / "results" / "transformers"


def test_every_method_on_every_family_reaches_the_tables(finished):
    cells = pd.read_parquet(finished / "tables" / "cells.parquet")
    assert set(zip(cells["model"], cells["method"], strict=True)) == {(model, method) for model in MODELS for method in METHODS}
    assert cells[["fidelity", "efficacy"]].notna().all().all()


def test_a_vits_recovery_figure_shows_images_at_the_input_size(finished):
    figures = sorted(finished.glob("figures/recovery_embedded_tiny_vit_color_detachment_*_seed0.png"))
    assert len(figures) == 2
    with Image.open(figures[0]) as picture:  # 8 columns of 16 px images, 3 rows, 2 px padding, doubled, a 64 px label margin
        assert picture.size == ((8 * 18 + 2) * 2 + 64, (3 * 18 + 2) * 2)


def test_the_report_and_the_summary_figures_are_written(finished):
    assert (finished / "report.html").stat().st_size > 0
    assert list((finished / "figures").glob("*.png"))
