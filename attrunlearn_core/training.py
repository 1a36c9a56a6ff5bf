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
from attrunlearn_core.divergence import check_finite_steps
from attrunlearn_core.errors import ArtifactError, DivergenceError, EnvironmentFault
from attrunlearn_core.fast_steps import FastSteps

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
    flip = torch.rand(batch.shape[0], generator=generator) < 0.5  # drawn on the CPU: the same flips on any device
    # a selection, not a masked assignment: the same values, and on a GPU no host sync for the mask's count
    return torch.where(flip.to(batch.device).view(-1, *([1] * (batch.dim() - 1))), batch.flip(-1), batch)


def batches(n: int, batch_size: int, generator: torch.Generator | None, drop_last: bool = False):
    """Index batches in a seeded order; `drop_last` leaves out a last partial batch (unless it is the only one)."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    stop = n - n % batch_size if drop_last and n > batch_size else n
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]


def make_optimizer(parameters, recipe: TrainingRecipe, fast: FastSteps | None = None) -> torch.optim.Optimizer:
    return (fast or FastSteps()).adamw(parameters, lr=recipe.lr, weight_decay=recipe.weight_decay)


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


def train_one_epoch(
    model: nn.Module,
    optimizer,
    images,
    targets,
    recipe: TrainingRecipe,
    generator,
    device,
    desc="train",
    scheduler=None,
    fast: FastSteps | None = None,
) -> float:
    """One epoch; the mean loss. The host reads the losses once, at the epoch's end (a GPU never waits inside it):
    a non-finite one then stops training, naming its step."""
    fast = fast or FastSteps.for_device(device)
    model.train()
    losses, sizes = [], []
    plan = list(batches(len(images), recipe.batch_size, generator, fast.static_shapes))
    for index in tqdm(plan, desc=desc, leave=False, mininterval=5, disable=None):
        batch = images[index]
        if recipe.hflip:
            batch = random_hflip(batch, generator)
        with fast.autocast(device):
            logits = model(fast.inputs(to_input(batch, device)))
            loss = nn.functional.cross_entropy(logits, targets[index].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.detach().float())
        sizes.append(len(index))
    if not losses:
        return float("nan")
    values = torch.stack(losses).cpu()
    check_finite_steps(values, desc)
    return float((values.double() * torch.tensor(sizes, dtype=torch.float64)).sum() / sum(sizes))


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
    fast = FastSteps.for_device(device)
    fast.model(model.to(device))
    fit_index = torch.arange(len(images))
    val_index = None
    if recipe.patience > 0:
        fit_index, val_index = validation_slice(len(images), recipe.validation_fraction, generator)
    fit_images, fit_targets = images[fit_index], targets[fit_index]
    if device.type == "cuda":  # the training images live on the GPU, so no step waits on a copy from the host
        fit_images, fit_targets = fit_images.to(device), fit_targets.to(device)
    optimizer = make_optimizer(model.parameters(), recipe, fast)
    scheduler = make_one_cycle_schedule(optimizer, recipe, len(fit_images))
    progress = _resume(resume_path, config, model, optimizer, scheduler, generator) or dict(zip(PROGRESS, (0, 0, -1.0, None), strict=True))
    for epoch in range(progress["epoch"], recipe.epochs):
        try:
            loss = train_one_epoch(
                model, optimizer, fit_images, fit_targets, recipe, generator, device, desc=f"epoch {epoch + 1}", scheduler=scheduler, fast=fast
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
