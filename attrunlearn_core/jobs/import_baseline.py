from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from attrunlearn_core.checkpoints import load_state_dict_file, save_checkpoint
from attrunlearn_core.datasets.prepared import PreparedDataset
from attrunlearn_core.models import build_model_from_spec, split_model
from attrunlearn_core.training import accuracy, pick_device
from attrunlearn_core.user_checkpoint import load_user_weights

log = logging.getLogger(__name__)


def import_baseline(
    dataset: str,
    model_name: str,
    seed: int,
    prepared_path: str | Path,
    checkpoint: str | Path,
    output: str | Path,
    *,
    task: str,
    model_spec: dict,
    device: str = "auto",
) -> None:
    """Baseline-1 from the user's state dict (`models.<name>.checkpoint`) instead of training one.

    The same weights serve every seed of the grid; the seed still drives everything downstream.
    """
    prepared = PreparedDataset.load(prepared_path)
    image_size = prepared.images.shape[-1]
    model = build_model_from_spec(model_spec, prepared.num_classes[task], image_size)
    load_user_weights(model, load_state_dict_file(checkpoint), checkpoint, model_spec["arch"], task)
    split = split_model(model.eval(), model_spec["split_after"], image_size)
    device = pick_device(device)
    test_accuracy = accuracy(split, prepared.split_images("test"), prepared.split_labels("test", task), device)
    digest = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()
    identity = {
        "dataset": dataset,
        "model": model_spec,
        "seed": seed,
        "prepared": str(prepared_path),
        "checkpoint": str(checkpoint),
        "checkpoint_sha256": digest,
    }
    log.info(
        "%s/%s seed %d: baseline-1 imported from %s (sha256 %s), test accuracy %.4f",
        dataset,
        model_name,
        seed,
        checkpoint,
        digest[:12],
        test_accuracy,
    )
    save_checkpoint(output, split, None, 0, identity, train_seconds=0.0, test_accuracy=test_accuracy, imported_from=str(checkpoint))
