"""The paper's Fig. 4: images recovered from h before (baseline-1) and after unlearning.

An attacker-side decoder, trained from scratch on (h, x) pairs of attacker-train, reconstructs
attacker-test images from h. One decoder per model, same architecture, recipe and seed. The PNG
shows three rows: originals, recovered from baseline-1, recovered from the unlearned model.
The JSON next to it holds the reconstruction errors on all of attacker-test.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageDraw
from torch.nn import functional as F

from attrunlearn_core.atomic import atomic_path, save_json
from attrunlearn_core.checkpoints import load_model
from attrunlearn_core.config import Cell
from attrunlearn_core.datasets.prepared import PreparedDataset, joint_labels
from attrunlearn_core.detachment.aux_networks import ReconstructionDecoder
from attrunlearn_core.divergence import check_finite
from attrunlearn_core.feature_layout import spatial_view
from attrunlearn_core.features import extract_features
from attrunlearn_core.models import SplitModel
from attrunlearn_core.seeding import derive_seed, seed_everything
from attrunlearn_core.training import batches, pick_device

log = logging.getLogger(__name__)

ROW_NAMES = ("original", "before", "after")


@dataclass
class RecoveryRecipe:
    epochs: int = 12
    batch_size: int = 128
    lr: float = 2e-3
    width: int = 0  # decoder width; 0: h's channels
    images: int = 8  # columns of the figure
    upscale: int = 2  # nearest-neighbour magnification of the figure

    @classmethod
    def from_config(cls, values: dict) -> RecoveryRecipe:
        """The config's `recovery:` section, whose keys the config schema has checked."""
        return cls(**values)


def _standardise(train: torch.Tensor, test: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean, std = train.mean(0, keepdim=True), train.std(0, keepdim=True).clamp_min(1e-6)
    return (train - mean) / std, (test - mean) / std


def fit_recovery_decoder(
    h_train: torch.Tensor, images_train: torch.Tensor, recipe: RecoveryRecipe, generator: torch.Generator, device: torch.device
) -> ReconstructionDecoder:
    """A decoder from h to the full-resolution image, trained from scratch with BCE against x in [0, 1]."""
    channels, size = h_train.shape[1], min(h_train.shape[-2:])
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=generator)))
    decoder = ReconstructionDecoder(channels, size, images_train.shape[-1], recipe.width or max(32, channels)).to(device).train()
    optimizer = torch.optim.AdamW(decoder.parameters(), lr=recipe.lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, recipe.epochs * -(-len(h_train) // recipe.batch_size)))
    for epoch in range(recipe.epochs):
        for step, index in enumerate(batches(len(h_train), recipe.batch_size, generator)):
            if len(index) < 2:
                continue
            target = images_train[index].to(device).float() / 255.0
            loss = F.binary_cross_entropy_with_logits(decoder(h_train[index].to(device)), target)
            check_finite(loss, f"recovery decoder epoch {epoch + 1} step {step + 1}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return decoder.eval()


@torch.no_grad()
def recover_images(model: SplitModel, prepared: PreparedDataset, recipe: RecoveryRecipe, generator: torch.Generator, device: torch.device) -> dict:
    """Reconstructions of all attacker-test images from the model's h, and their errors."""
    train_images, test_images = prepared.split_images("attacker_train"), prepared.split_images("attacker_test")
    h_train = spatial_view(extract_features(model, train_images, device)["split"])
    h_test = spatial_view(extract_features(model, test_images, device)["split"])
    h_train, h_test = _standardise(h_train, h_test)
    with torch.enable_grad():
        decoder = fit_recovery_decoder(h_train, train_images, recipe, generator, device)
    logits = torch.cat([decoder(h_test[i : i + 512].to(device)).cpu() for i in range(0, len(h_test), 512)])
    target = test_images.float() / 255.0
    recovered = torch.sigmoid(logits)
    return {"images": recovered, "bce": F.binary_cross_entropy_with_logits(logits, target).item(), "mse": F.mse_loss(recovered, target).item()}


def pick_examples(attribute_labels: torch.Tensor, count: int) -> torch.Tensor:
    """The first test images of each attribute value in turn, so the figure shows every value."""
    by_value = [torch.nonzero(attribute_labels == value).flatten().tolist() for value in torch.unique(attribute_labels).tolist()]
    chosen: list[int] = []
    while len(chosen) < min(count, len(attribute_labels)):
        for indices in by_value:
            if indices and len(chosen) < count:
                chosen.append(indices.pop(0))
    return torch.tensor(chosen, dtype=torch.long)


def recovery_figure(rows: list[torch.Tensor], upscale: int) -> Image.Image:
    """Rows of [n, 3, S, S] images in [0, 1] as one labelled PIL image."""
    from torchvision.utils import make_grid  # torchvision's import costs seconds; only the figure needs it

    grid = make_grid(torch.cat(rows), nrow=len(rows[0]), padding=2, pad_value=1.0)
    grid = F.interpolate(grid[None], scale_factor=upscale, mode="nearest")[0]
    picture = Image.fromarray((grid.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy())
    margin = 64
    canvas = Image.new("RGB", (picture.width + margin, picture.height), "white")
    canvas.paste(picture, (margin, 0))
    draw = ImageDraw.Draw(canvas)
    row_height = picture.height / len(rows)
    for i, name in enumerate(ROW_NAMES[: len(rows)]):
        draw.text((4, int(row_height * (i + 0.5)) - 5), name, fill="black")
    return canvas


def image_recovery(
    cell: Cell,
    prepared_path: str | Path,
    baseline_path: str | Path,
    model_path: str | Path,
    figure_out: str | Path,
    metrics_out: str | Path,
    *,
    recovery: dict,
    device: str = "auto",
) -> dict:
    """`recovery`: the config's `recovery:` section (RecoveryRecipe's fields; {} for the defaults)."""
    prepared = PreparedDataset.load(prepared_path)
    recipe = RecoveryRecipe.from_config(dict(recovery))
    device = pick_device(device)
    results = {}
    for name, path in (("before", baseline_path), ("after", model_path)):
        generator = seed_everything(derive_seed(cell.seed, "recovery", cell.path))  # the same recipe and seed for both models
        results[name] = recover_images(load_model(path), prepared, recipe, generator, device)
    labels, _ = joint_labels(prepared, cell.attribute)
    chosen = pick_examples(labels[prepared.splits["attacker_test"]], recipe.images)
    originals = prepared.split_images("attacker_test")[chosen].float() / 255.0
    figure = recovery_figure([originals, results["before"]["images"][chosen], results["after"]["images"][chosen]], recipe.upscale)
    with atomic_path(figure_out) as tmp:
        figure.save(tmp, format="PNG")
    metrics = {f"{kind}_{name}": results[name][kind] for name in ("before", "after") for kind in ("bce", "mse")}
    save_json({"cell": cell.path, **metrics}, metrics_out)
    log.info("%s: recovery MSE before %.4f after %.4f", cell.path, metrics["mse_before"], metrics["mse_after"])
    return metrics
