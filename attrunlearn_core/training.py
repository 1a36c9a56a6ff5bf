"""Plain supervised training and evaluation of a classifier on uint8 image tensors."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from attrunlearn_core.artifacts import ADVICE, load_artifact
from attrunlearn_core.atomic import save_torch
from attrunlearn_core.divergence import check_finite
from attrunlearn_core.errors import ArtifactError, DivergenceError, EnvironmentFault

log = logging.getLogger(__name__)

# Images are stored as uint8; every model sees them through this one normalisation.
PIXEL_MEAN, PIXEL_STD = 0.5, 0.25


@dataclass
class TrainingRecipe:
    """`epochs` is the most a baseline trains: with `patience`, it stops once accuracy on a validation slice of its
    training images (`validation_fraction`, never the test or attacker splits) has not improved for that many epochs
    (never before half of `epochs`), and keeps its best epoch's weights. Fine-tuning methods take `epochs` as their own budget."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 5e-4
    hflip: bool = True
    patience: int = 0  # 0: train all `epochs`, no validation slice
    validation_fraction: float = 0.1

    @classmethod
    def from_config(cls, values: dict) -> TrainingRecipe:
        return cls(**values)


def pick_device(preference: str = "auto") -> torch.device:
    """`auto` falls back to the CPU; `cuda` or `cuda:N` without that GPU is refused with one line."""
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(preference)
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            have = f"it has {count} CUDA device(s)" if count else "it has no usable CUDA device"
            raise EnvironmentFault(f"config: device {preference}: this machine cannot run it ({have}); use device: auto or cpu")
    return device


def to_input(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    return ((images.to(device, non_blocking=True).float() / 255.0) - PIXEL_MEAN) / PIXEL_STD


def random_hflip(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    flip = torch.rand(batch.shape[0], generator=generator) < 0.5
    batch = batch.clone()
    batch[flip] = batch[flip].flip(-1)
    return batch


def batches(n: int, batch_size: int, generator: torch.Generator | None):
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def make_optimizer(parameters, recipe: TrainingRecipe) -> torch.optim.Optimizer:
    return torch.optim.AdamW(parameters, lr=recipe.lr, weight_decay=recipe.weight_decay)


def make_cosine_schedule(optimizer, recipe: TrainingRecipe, num_samples: int):
    steps = max(1, recipe.epochs * -(-num_samples // recipe.batch_size))
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)


def make_one_cycle_schedule(optimizer, recipe: TrainingRecipe, num_samples: int):
    # A short warm-up to `lr`, then annealing over the epoch budget: a from-scratch ResNet converges in a few epochs,
    # where a cosine decay from the start needs several times more.
    # (OneCycleLR needs a few steps per phase; a tiny run just stops before the end of its schedule)
    steps = max(8, recipe.epochs * -(-num_samples // recipe.batch_size))
    return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.lr, total_steps=steps, pct_start=0.25)


def validation_slice(n: int, fraction: float, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(fit, validation) indices into n training images: a seeded random `fraction` held out, at least one image each."""
    order = torch.randperm(n, generator=generator)
    held_out = min(n - 1, max(1, round(n * fraction)))
    return order[held_out:].sort().values, order[:held_out].sort().values


def train_one_epoch(model: nn.Module, optimizer, images, targets, recipe: TrainingRecipe, generator, device, desc="train", scheduler=None) -> float:
    model.train()
    total, count = 0.0, 0
    for step, index in enumerate(tqdm(list(batches(len(images), recipe.batch_size, generator)), desc=desc, leave=False, mininterval=5, disable=None)):
        batch = images[index]
        if recipe.hflip:
            batch = random_hflip(batch, generator)
        logits = model(to_input(batch, device))
        loss = nn.functional.cross_entropy(logits, targets[index].to(device))
        check_finite(loss, f"{desc} step {step + 1}")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        total += loss.item() * len(index)
        count += len(index)
    return total / max(count, 1)


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, device: torch.device, batch_size: int = 512) -> torch.Tensor:
    model.eval()
    outputs = [model(to_input(images[i : i + batch_size], device)).argmax(1).cpu() for i in range(0, len(images), batch_size)]
    return torch.cat(outputs) if outputs else torch.empty(0, dtype=torch.long)


def accuracy(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, device: torch.device) -> float:
    return (predict(model, images, device) == targets).float().mean().item()


PROGRESS = ("epoch", "best_epoch", "best_accuracy", "best_state")  # what a resumed baseline continues from


@dataclass
class FitOutcome:
    """What a baseline's training did: epochs run, the epoch whose weights were kept, its validation accuracy."""

    epochs: int
    best_epoch: int
    validation_accuracy: float | None = None


def fit_classifier(model, images, targets, recipe: TrainingRecipe, generator, device, resume_path: Path | None = None, config: dict | None = None):
    """Train from scratch: with recipe.patience, until accuracy on a validation slice of `images` plateaus (best epoch
    kept), else for recipe.epochs. With `resume_path`, save after every epoch and resume a killed run there.

    Returns (model, optimizer, FitOutcome)."""
    model.to(device)
    fit_index = torch.arange(len(images))
    val_index = None
    if recipe.patience > 0:
        fit_index, val_index = validation_slice(len(images), recipe.validation_fraction, generator)
    fit_images, fit_targets = images[fit_index], targets[fit_index]
    optimizer = make_optimizer(model.parameters(), recipe)
    scheduler = make_one_cycle_schedule(optimizer, recipe, len(fit_images))
    progress = _resume(resume_path, config, model, optimizer, scheduler, generator) or dict(zip(PROGRESS, (0, 0, -1.0, None), strict=True))
    for epoch in range(progress["epoch"], recipe.epochs):
        try:
            loss = train_one_epoch(
                model, optimizer, fit_images, fit_targets, recipe, generator, device, desc=f"epoch {epoch + 1}", scheduler=scheduler
            )
        except DivergenceError:
            if resume_path is not None:
                Path(resume_path).unlink(missing_ok=True)  # a diverged run leaves nothing to resume from
            raise
        progress["epoch"] = epoch + 1
        message = f"epoch {epoch + 1}/{recipe.epochs} loss {loss:.4f}"
        if val_index is not None:
            val_accuracy = accuracy(model, images[val_index], targets[val_index], device)
            message += f" validation accuracy {val_accuracy:.4f}"
            if val_accuracy > progress["best_accuracy"]:
                state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                progress.update(best_epoch=epoch + 1, best_accuracy=val_accuracy, best_state=state)
        log.info("%s", message)
        # Not before half the budget: up to there the one-cycle rate is still high (it peaks at a quarter) and validation
        # accuracy swings; a masked baseline once stopped at 0.32 two epochs after the peak.
        settled = progress["epoch"] >= (recipe.epochs + 1) // 2
        plateau = val_index is not None and settled and progress["epoch"] - progress["best_epoch"] >= recipe.patience
        if resume_path is not None:
            save_torch(
                {
                    **progress,
                    "model_state": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "generator": generator.get_state(),
                    "config": config,
                },
                resume_path,
            )
        if plateau:
            log.info("validation accuracy has not improved for %d epochs: stopping after epoch %d", recipe.patience, progress["epoch"])
            break
    if progress["best_state"] is not None:
        model.load_state_dict(progress["best_state"])
        log.info("kept epoch %d (validation accuracy %.4f)", progress["best_epoch"], progress["best_accuracy"])
        outcome = FitOutcome(progress["epoch"], progress["best_epoch"], progress["best_accuracy"])
    else:
        outcome = FitOutcome(progress["epoch"], progress["epoch"])
    return model, optimizer, outcome


def _resume(resume_path, config, model, optimizer, scheduler, generator) -> dict | None:
    """A killed run's progress, its model, optimizer, schedule and generator restored; None to start at epoch 1."""
    if resume_path is None or not Path(resume_path).exists():
        return None
    try:
        state = load_artifact(resume_path, "training resume state", keys=("model_state", "optimizer", "scheduler", "generator", "config", *PROGRESS))
    except ArtifactError as error:
        log.warning("%s; training starts at epoch 1", str(error).removesuffix(ADVICE))
        return None
    if state["config"] != config:
        return None
    model.load_state_dict(state["model_state"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    generator.set_state(state["generator"])
    log.info("resuming %s at epoch %d", resume_path, state["epoch"])
    return {key: state[key] for key in PROGRESS}
