from __future__ import annotations

import logging
import time
from pathlib import Path

from attrunlearn_core.checkpoints import save_checkpoint
from attrunlearn_core.config import training_recipe
from attrunlearn_core.datasets.prepared import PreparedDataset, joint_labels
from attrunlearn_core.models import build_model_from_spec
from attrunlearn_core.seeding import derive_seed, seed_everything
from attrunlearn_core.training import TrainingRecipe, accuracy, fit_classifier, pick_device

log = logging.getLogger(__name__)


def train_attribute_model(
    config: dict, dataset: str, model_name: str, attribute: str, seed: int, epochs: int, prepared_path: str | Path, output: str | Path
) -> None:
    """Baseline-2's attribute classifier: the baseline recipe (with its own epoch count) on the train split's attribute label.

    A composite attribute "a+b" is one classifier on the joint label, so one CAM covers all parts.
    The model is the plain torchvision network, not a SplitModel: Grad-CAM can then target any
    named module (e.g. a ResNet stage such as `layer2`), while the fx split flattens those names.
    """
    prepared = PreparedDataset.load(prepared_path)
    labels, classes = joint_labels(prepared, attribute)
    train_idx, test_idx = prepared.splits["train"], prepared.splits["test"]
    recipe_values = {**training_recipe(config, dataset), "epochs": int(epochs)}
    recipe = TrainingRecipe.from_config(recipe_values)
    spec = config["models"][model_name]
    arch = spec["arch"]
    generator = seed_everything(derive_seed(seed, "attribute_model", dataset, model_name, attribute))
    device = pick_device(config.get("device", "auto"))
    started = time.perf_counter()
    model, optimizer = fit_classifier(
        build_model_from_spec(spec, classes, prepared.images.shape[-1]), prepared.images[train_idx], labels[train_idx], recipe, generator, device
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
        recipe.epochs,
        seconds,
    )
    identity = {"dataset": dataset, "arch": arch, "attribute": attribute, "recipe": recipe_values, "seed": seed}
    save_checkpoint(output, model, optimizer, recipe.epochs, identity, train_seconds=seconds, test_accuracy=test_accuracy)
