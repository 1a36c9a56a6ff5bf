from __future__ import annotations

import logging
import time
from pathlib import Path

from attrunlearn_core.artifacts import file_digest
from attrunlearn_core.checkpoints import save_checkpoint
from attrunlearn_core.datasets.prepared import PreparedDataset
from attrunlearn_core.models import build_split_model
from attrunlearn_core.seeding import derive_seed, seed_everything
from attrunlearn_core.training import TrainingRecipe, accuracy, fit_classifier, pick_device

log = logging.getLogger(__name__)


def train_baseline(
    dataset: str,
    model_name: str,
    seed: int,
    prepared_path: str | Path,
    output: str | Path,
    *,
    task: str,
    model_spec: dict,
    recipe: dict,
    device: str = "auto",
) -> None:
    """Train the task model from scratch on the train split (baseline-1, or baseline-2 on masked images).

    `model_spec` is the config's entry for the model, `recipe` the dataset's training recipe (config.training_recipe).
    """
    prepared = PreparedDataset.load(prepared_path)
    training = TrainingRecipe.from_config(recipe)
    generator = seed_everything(derive_seed(seed, "baseline", dataset, model_name))
    device = pick_device(device)
    model = build_split_model(
        model_spec["arch"], prepared.num_classes[task], model_spec["split_after"], prepared.images.shape[-1], model_spec.get("kwargs")
    )
    started = time.perf_counter()
    identity = {"dataset": dataset, "model": model_spec, "recipe": recipe, "seed": seed, "prepared": str(prepared_path)}
    resume = Path(str(output) + ".inprogress")
    # A killed run's epochs are resumed only on the same bytes: a prepared file rebuilt with other splits keeps its path.
    resume_identity = {**identity, "prepared_sha256": file_digest(prepared_path)}
    model, optimizer, outcome = fit_classifier(
        model, prepared.split_images("train"), prepared.split_labels("train", task), training, generator, device, resume, resume_identity
    )
    seconds = time.perf_counter() - started
    test_accuracy = accuracy(model, prepared.split_images("test"), prepared.split_labels("test", task), device)
    log.info(
        "%s/%s seed %d: test accuracy %.4f with epoch %d of %d (of at most %d) in %.1fs",
        dataset,
        model_name,
        seed,
        test_accuracy,
        outcome.best_epoch,
        outcome.epochs,
        training.epochs,
        seconds,
    )
    save_checkpoint(
        output,
        model,
        optimizer,
        outcome.epochs,
        identity,
        train_seconds=seconds,
        test_accuracy=test_accuracy,
        best_epoch=outcome.best_epoch,
        validation_accuracy=outcome.validation_accuracy,
    )
    resume.unlink(missing_ok=True)
