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
from attrunlearn_core.errors import ArtifactError, DivergenceError

log = logging.getLogger(__name__)

# Images are stored as uint8; every model sees them through this one normalisation.
PIXEL_MEAN, PIXEL_STD = 0.5, 0.25


@dataclass
class TrainingRecipe:
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 5e-4
    hflip: bool = True

    @classmethod
    def from_config(cls, values: dict) -> TrainingRecipe:
        return cls(**values)


def pick_device(preference: str = "auto") -> torch.device:
    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preference)


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


def fit_classifier(model, images, targets, recipe: TrainingRecipe, generator, device, resume_path: Path | None = None, config: dict | None = None):
    """Train for recipe.epochs with a cosine learning-rate decay; with `resume_path`, save after every epoch and resume a killed run there."""
    model.to(device)
    optimizer = make_optimizer(model.parameters(), recipe)
    scheduler = make_cosine_schedule(optimizer, recipe, len(images))
    start = 0
    if resume_path is not None and Path(resume_path).exists():
        try:
            state = load_artifact(
                resume_path, "training resume state", keys=("model_state", "optimizer", "scheduler", "generator", "epoch", "config")
            )
        except ArtifactError as error:
            log.warning("%s; training starts at epoch 1", str(error).removesuffix(ADVICE))
            state = {}
        if state and state["config"] == config:
            model.load_state_dict(state["model_state"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            generator.set_state(state["generator"])
            start = state["epoch"]
            log.info("resuming %s at epoch %d", resume_path, start)
    for epoch in range(start, recipe.epochs):
        try:
            loss = train_one_epoch(model, optimizer, images, targets, recipe, generator, device, desc=f"epoch {epoch + 1}", scheduler=scheduler)
        except DivergenceError:
            if resume_path is not None:
                Path(resume_path).unlink(missing_ok=True)  # a diverged run leaves nothing to resume from
            raise
        log.info("epoch %d/%d loss %.4f", epoch + 1, recipe.epochs, loss)
        if resume_path is not None:
            save_torch(
                {
                    "model_state": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "epoch": epoch + 1,
                    "generator": generator.get_state(),
                    "config": config,
                },
                resume_path,
            )
    return model, optimizer
