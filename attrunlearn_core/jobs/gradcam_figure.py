from __future__ import annotations

import logging
from pathlib import Path

import torch

from attrunlearn_core.atomic import atomic_path
from attrunlearn_core.checkpoints import load_model
from attrunlearn_core.datasets.prepared import PreparedDataset, joint_labels
from attrunlearn_core.gradcam_masking import compute_cams
from attrunlearn_core.training import pick_device

log = logging.getLogger(__name__)


def _examples(labels: torch.Tensor, count: int) -> list[int]:
    """Positions of up to `count` examples, cycling through the attribute's classes so each one shows."""
    by_class = [torch.nonzero(labels == c).flatten().tolist() for c in labels.unique().tolist()]
    chosen = []
    for rank in range(max(map(len, by_class), default=0)):
        chosen += [positions[rank] for positions in by_class if rank < len(positions)]
        if len(chosen) >= count:
            break
    return chosen[:count]


def _class_name(prepared: PreparedDataset, attribute: str, index: int) -> str:
    names = []
    for part in attribute.split("+"):
        value = int(prepared.labels[part][index])
        options = prepared.class_names.get(part) or []
        names.append(str(options[value]) if value < len(options) else str(value))
    return "+".join(names)


def gradcam_figure(
    attribute: str,
    prepared_path: str | Path,
    attribute_model_path: str | Path,
    masked_path: str | Path,
    output: str | Path,
    *,
    device: str = "auto",
    count: int = 8,
) -> None:
    """The paper's Fig. 3 on test images: originals, the attribute's CAM over them, and the masked images baseline-2 sees."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from pytorch_grad_cam.utils.image import show_cam_on_image

    prepared, masked = PreparedDataset.load(prepared_path), PreparedDataset.load(masked_path)
    settings = masked.meta["gradcam_settings"]
    labels, _ = joint_labels(prepared, attribute)
    test = prepared.splits["test"]
    picked = test[_examples(labels[test], count)]
    model = load_model(attribute_model_path)
    cams = compute_cams(model, prepared.images[picked], labels[picked], settings["target_layer"], settings["cam"], pick_device(device))
    rows = ["original", f"{settings['cam']} of {attribute}", f"masked ({settings['fraction']:.0%}, {settings['fill']})"]
    figure, axes = plt.subplots(3, len(picked), figsize=(1.6 * len(picked), 5.2), squeeze=False)
    for column, index in enumerate(picked.tolist()):
        original = prepared.images[index].permute(1, 2, 0).numpy()
        overlay = show_cam_on_image(original.astype(np.float32) / 255.0, cams[column].numpy(), use_rgb=True)
        shown = [original, overlay, masked.images[index].permute(1, 2, 0).numpy()]
        for row, image in enumerate(shown):
            axis = axes[row][column]
            axis.imshow(image, interpolation="nearest")
            axis.set_xticks([])
            axis.set_yticks([])
            if column == 0:
                axis.set_ylabel(rows[row], fontsize=8)
        axes[0][column].set_title(_class_name(prepared, attribute, index), fontsize=8)
    figure.suptitle(f"{prepared.meta.get('dataset', '')}: Grad-CAM masking of {attribute} (target layer {settings['target_layer']})", fontsize=9)
    figure.tight_layout()
    with atomic_path(output) as tmp:
        figure.savefig(tmp, format="png", dpi=120)
    plt.close(figure)
    log.info("figure of %d test images -> %s", len(picked), output)
