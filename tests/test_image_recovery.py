"""Image recovery (the paper's Fig. 4): attacker-side decoders from h, the figure, the step's outputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from tiny_transformers import tiny_split_transformer
from torch import nn

from attrunlearn_core.checkpoints import save_checkpoint
from attrunlearn_core.config import Cell, validate_config
from attrunlearn_core.datasets.embedded import load_embedded
from attrunlearn_core.datasets.prepared import prepare
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.feature_layout import spatial_view
from attrunlearn_core.features import extract_features
from attrunlearn_core.jobs.image_recovery import RecoveryRecipe, image_recovery, pick_examples, recover_images, recovery_figure
from attrunlearn_core.models import SplitModel, build_split_model
from attrunlearn_core.seeding import seed_everything


@pytest.fixture(scope="module")
def prepared():
    rng = np.random.default_rng(1)
    data = load_embedded(None, 16, 200, rng, {})
    return prepare(data, {"train": 8, "test": 8, "attacker_train": 160, "attacker_test": 24}, ["shape", "color"], rng, {})


class ConstantExtractor(nn.Module):
    """h that carries nothing about x: the decoder can only learn the mean image."""

    def forward(self, x):
        return torch.zeros(len(x), 128, 2, 2)


def test_pick_examples_shows_every_attribute_value_before_repeating_one():
    labels = torch.tensor([2, 2, 0, 2, 1, 0, 1])
    chosen = pick_examples(labels, 5)
    assert chosen.tolist() == [2, 4, 0, 5, 6]
    assert set(labels[chosen[:3]].tolist()) == {0, 1, 2}


def test_recovery_figure_has_three_labelled_rows_of_magnified_images():
    rows = [torch.rand(4, 3, 8, 8) for _ in range(3)]
    figure = recovery_figure(rows, upscale=2)
    grid_width, grid_height = (4 * (8 + 2) + 2) * 2, (3 * (8 + 2) + 2) * 2
    assert figure.size == (grid_width + 64, grid_height)
    assert figure.getpixel((5, 5)) == (255, 255, 255)  # the label margin


def test_an_informative_h_is_recovered_better_than_an_empty_one(prepared):
    recipe = RecoveryRecipe(epochs=6, batch_size=32, lr=3e-3)
    torch.manual_seed(0)
    informative = build_split_model("resnet18", 4, "layer2")
    empty = SplitModel(ConstantExtractor(), informative.classifier)
    errors = {
        name: recover_images(model, prepared, recipe, seed_everything(0), torch.device("cpu"))["mse"]
        for name, model in (("informative", informative), ("empty", empty))
    }
    assert errors["informative"] < errors["empty"]


def test_image_recovery_writes_the_png_and_its_errors(prepared, tmp_path):
    data_path, before, after = tmp_path / "data.pt", tmp_path / "before.pt", tmp_path / "after.pt"
    prepared.save(data_path)
    for seed, path in ((0, before), (1, after)):
        torch.manual_seed(seed)
        save_checkpoint(path, build_split_model("resnet18", 4, "layer2"))
    recovery = {"epochs": 1, "batch_size": 64, "images": 4, "upscale": 1}
    cell = Cell("embedded", "resnet18", "color", "detachment_local", 0)
    figure, metrics = tmp_path / "figures" / "recovery.png", tmp_path / "figures" / "recovery.json"
    image_recovery(cell, data_path, before, after, figure, metrics, recovery=recovery, device="cpu")
    with Image.open(figure) as picture:
        assert picture.format == "PNG" and picture.size == (4 * 18 + 2 + 64, 3 * 18 + 2)
    values = json.loads(metrics.read_text())
    assert values["cell"] == cell.path
    assert all(np.isfinite(values[f"{kind}_{name}"]) and values[f"{kind}_{name}"] > 0 for kind in ("bce", "mse") for name in ("before", "after"))
    assert not list(figure.parent.glob(".*.tmp"))  # written atomically


def test_unknown_recovery_setting_is_a_one_line_config_error(tiny_config):
    tiny_config["recovery"] = {"epochs": 2, "colour": "yes"}
    with pytest.raises(ConfigError) as error:
        validate_config(tiny_config)
    assert "recovery" in str(error.value) and "colour" in str(error.value) and "\n" not in str(error.value)


def test_the_recovery_sections_defaults_are_the_recipes(tiny_config):
    tiny_config.pop("recovery", None)
    assert RecoveryRecipe.from_config(validate_config(tiny_config)["recovery"]) == RecoveryRecipe()


@pytest.mark.parametrize("family", ["vit", "swin"])
def test_a_transformers_h_is_recovered_at_the_input_size(prepared, family):
    """A ViT's h is 17 tokens (a class token and a 4x4 patch grid): the decoder reads the grid, not a 17x1 image."""
    model = tiny_split_transformer(family)
    h = extract_features(model, prepared.split_images("attacker_test")[:2], torch.device("cpu"))["split"]
    grid = spatial_view(h)
    assert grid.shape[-2] == grid.shape[-1] and (family != "vit" or grid.shape[-2:] == (4, 4))
    recovered = recover_images(model, prepared, RecoveryRecipe(epochs=1, batch_size=64), seed_everything(0), torch.device("cpu"))
    assert recovered["images"].shape == (24, 3, 16, 16) and np.isfinite(recovered["mse"])


def test_spatial_view_lays_tokens_on_their_patch_grid():
    tokens = torch.arange(2 * 5 * 3, dtype=torch.float32).reshape(2, 5, 3)  # a class token and a 2x2 grid of 3 dims
    grid = spatial_view(tokens.transpose(1, 2).unsqueeze(-1))
    assert grid.shape == (2, 3, 2, 2)
    assert torch.equal(grid[:, :, 1, 0], tokens[:, 3])  # patch (row 1, column 0) is the fourth token, after the class token
    square = torch.rand(2, 3, 4, 4)
    assert spatial_view(square) is square
