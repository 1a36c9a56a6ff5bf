from __future__ import annotations

import logging
import time
from pathlib import Path

from attrunlearn_core.checkpoints import save_checkpoint
from attrunlearn_core.datasets.prepared import PreparedDataset, joint_labels
from attrunlearn_core.models import build_model_from_spec
from attrunlearn_core.seeding import derive_seed, seed_everything
from attrunlearn_core.training import TrainingRecipe, accuracy, fit_classifier, pick_device

log = logging.getLogger(__name__)


def train_attribute_model(
    dataset: str,
    model_name: str,
    attribute: str,
    seed: int,
    epochs: int,
    prepared_path: str | Path,
    output: str | Path,
    *,
    model_spec: dict,
    recipe: dict,
    device: str = "auto",
) -> None:
    """Baseline-2's attribute classifier: the baseline recipe (with its own epoch count) on the train split's attribute label.

    `model_spec` needs only `arch` (and `kwargs`); `recipe` is the dataset's training recipe, its `epochs` replaced by `epochs`.

    A composite attribute "a+b" is one classifier on the joint label, so one CAM covers all parts.
    The model is the plain torchvision network, not a SplitModel: Grad-CAM can then target any
    named module (e.g. a ResNet stage such as `layer2`), while the fx split flattens those names.
    """
    prepared = PreparedDataset.load(prepared_path)
    labels, classes = joint_labels(prepared, attribute)
    train_idx, test_idx = prepared.splits["train"], prepared.splits["test"]
    recipe_values = {**recipe, "epochs": int(epochs)}
    training = TrainingRecipe.from_config(recipe_values)
    arch = model_spec["arch"]
    generator = seed_everything(derive_seed(seed, "attribute_model", dataset, model_name, attribute))
    device = pick_device(device)
    started = time.perf_counter()
    model, optimizer, outcome = fit_classifier(
        build_model_from_spec(model_spec, classes, prepared.images.shape[-1]),
        prepared.images[train_idx],
        labels[train_idx],
        training,
        generator,
        device,
    )
    seconds = time.perf_counter() - started
    test_accuracy = accuracy(model, prepared.images[test_idx], labels[test_idx], device)
    log.info(
        "%s/%s %s classifier (%d classes): test accuracy %.4f after %d epochs in %.1fs",
        dataset,
        model_name,
        attribute,
        classes,
        test_accuracy,
        outcome.epochs,
        seconds,
    )
    identity = {"dataset": dataset, "arch": arch, "attribute": attribute, "recipe": recipe_values, "seed": seed}
    save_checkpoint(output, model, optimizer, outcome.epochs, identity, train_seconds=seconds, test_accuracy=test_accuracy)
