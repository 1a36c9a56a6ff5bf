from __future__ import annotations

import logging
import time
from pathlib import Path

from attrunlearn_core.checkpoints import save_checkpoint
from attrunlearn_core.config import training_recipe
from attrunlearn_core.datasets.prepared import PreparedDataset
from attrunlearn_core.models import build_split_model
from attrunlearn_core.seeding import derive_seed, seed_everything
from attrunlearn_core.training import TrainingRecipe, accuracy, fit_classifier, pick_device

log = logging.getLogger(__name__)


def train_baseline(config: dict, dataset: str, model_name: str, seed: int, prepared_path: str | Path, output: str | Path) -> None:
    """Train the task model from scratch on the train split (baseline-1, or baseline-2 on masked images)."""
    prepared = PreparedDataset.load(prepared_path)
    task = config["datasets"][dataset]["task"]
    model_spec = config["models"][model_name]
    recipe_values = training_recipe(config, dataset)
    recipe = TrainingRecipe.from_config(recipe_values)
    generator = seed_everything(derive_seed(seed, "baseline", dataset, model_name))
    device = pick_device(config.get("device", "auto"))
    model = build_split_model(
        model_spec["arch"], prepared.num_classes[task], model_spec["split_after"], prepared.images.shape[-1], model_spec.get("kwargs")
    )
    started = time.perf_counter()
    identity = {"dataset": dataset, "model": model_spec, "recipe": recipe_values, "seed": seed, "prepared": str(prepared_path)}
    resume = Path(str(output) + ".inprogress")
    model, optimizer = fit_classifier(
        model, prepared.split_images("train"), prepared.split_labels("train", task), recipe, generator, device, resume, identity
    )
    seconds = time.perf_counter() - started
    test_accuracy = accuracy(model, prepared.split_images("test"), prepared.split_labels("test", task), device)
    log.info("%s/%s seed %d: test accuracy %.4f after %d epochs in %.1fs", dataset, model_name, seed, test_accuracy, recipe.epochs, seconds)
    save_checkpoint(output, model, optimizer, recipe.epochs, identity, train_seconds=seconds, test_accuracy=test_accuracy)
    resume.unlink(missing_ok=True)
