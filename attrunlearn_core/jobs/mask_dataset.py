from __future__ import annotations

import logging
import time
from pathlib import Path

import torch

from attrunlearn_core.checkpoints import load_checkpoint
from attrunlearn_core.config import method_spec, training_recipe
from attrunlearn_core.datasets.prepared import PreparedDataset, joint_labels
from attrunlearn_core.gradcam_masking import mask_images
from attrunlearn_core.methods import get_method_class
from attrunlearn_core.training import accuracy, pick_device

log = logging.getLogger(__name__)


def masking_params(config: dict, method: str, dataset: str, model_name: str) -> dict:
    """A gradcam_retrain grid method's parameters with the defaults spelled out: the target layer
    (default: the model's split point) and the attribute classifier's epochs (default: the baseline's)."""
    name, params = method_spec(config, method)
    resolved = get_method_class(name).resolve_params(params)
    return {
        **resolved,
        "target_layer": resolved["target_layer"] or config["models"][model_name]["split_after"],
        "attribute_epochs": resolved["attribute_epochs"] or training_recipe(config, dataset)["epochs"],
    }


def mask_dataset(
    attribute: str, prepared_path: str | Path, attribute_model_path: str | Path, output: str | Path, *, cam: dict, device: str = "auto"
) -> None:
    """A prepared dataset whose images have their attribute region removed; labels and splits unchanged.

    Every image of the four splits is masked, each with the CAM of its own (joint) attribute label:
    baseline-2 assumes the attribute is gone from the input the model is trained and attacked on.
    Images outside the splits are never read downstream and are left as they are.
    `cam` comes from masking_params.
    """
    prepared = PreparedDataset.load(prepared_path)
    checkpoint = load_checkpoint(attribute_model_path)
    model = checkpoint["model"]
    labels, _ = joint_labels(prepared, attribute)
    device = pick_device(device)
    indices = torch.cat(list(prepared.splits.values())).unique()
    mean_colour = prepared.split_images("train").float().mean(dim=(0, 2, 3))
    layer = cam["target_layer"]
    started = time.perf_counter()
    masked, flat = mask_images(
        model,
        prepared.images[indices],
        labels[indices],
        target_layer=layer,
        cam_method=cam["cam"],
        fraction=cam["fraction"],
        fill=cam["fill"],
        mean_colour=mean_colour,
        device=device,
        batch_size=cam["cam_batch_size"],
    )
    cam_seconds = time.perf_counter() - started
    images = prepared.images.clone()
    images[indices] = masked
    changed = (images[indices] != prepared.images[indices]).any(dim=1).float().mean().item()
    test = prepared.splits["test"]
    report = {
        "cam_seconds": cam_seconds,
        "cam_images": len(indices),
        "attribute_model_seconds": float(checkpoint.get("train_seconds", 0.0)),
        "attribute_accuracy_original": accuracy(model, prepared.images[test], labels[test], device),
        "attribute_accuracy_masked": accuracy(model, images[test], labels[test], device),
        "changed_pixel_fraction": changed,
        "flat_cams": flat,
    }
    settings = {"cam": cam["cam"], "target_layer": layer, "fraction": cam["fraction"], "fill": cam["fill"], "attribute": attribute}
    meta = {**prepared.meta, "gradcam": report, "gradcam_settings": settings, "source": str(prepared_path)}
    PreparedDataset(images, prepared.labels, prepared.num_classes, prepared.splits, prepared.class_names, meta).save(output)
    log.info(
        "%s %s: CAM of %d images in %.1fs; %s",
        attribute,
        settings,
        len(indices),
        cam_seconds,
        {k: round(v, 4) if isinstance(v, float) else v for k, v in report.items()},
    )
