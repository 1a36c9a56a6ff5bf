"""Baseline-2's input surgery: Grad-CAM maps of the attribute, then the top CAM pixels of each image replaced.

The CAMs come from `pytorch_grad_cam`, computed in batches with each image's own attribute label as target.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import torch
from torch import nn

from attrunlearn_core.errors import ConfigError
from attrunlearn_core.feature_layout import cam_reshape_transform
from attrunlearn_core.models import module_output_layout
from attrunlearn_core.training import to_input

# Config name -> pytorch_grad_cam class. Imported on use: the package takes seconds to import and
# this module is imported by the method registry, i.e. by every Snakemake start.
CAM_METHODS = {
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "hirescam": "HiResCAM",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
    "eigengradcam": "EigenGradCAM",
}
FILLS = ("mean", "zero", "blur")


def find_layer(model: nn.Module, name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules or not name:
        top = ", ".join(n for n, _ in model.named_children())
        raise ConfigError(f"target_layer: the model has no module {name!r}; its top-level modules are: {top}")
    return modules[name]


@contextmanager
def _backward_stops_at(model: nn.Module, layer: nn.Module):
    """Freeze the weights and make the layer's output a leaf that requires grad.

    Grad-CAM only needs d(score)/d(activation), so no weight gradients are computed and the
    backward pass never runs through the layers below the target: roughly half the cost.
    The hook is registered before pytorch_grad_cam's own hooks, so they see the leaf.
    """
    flags = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    handle = layer.register_forward_hook(lambda _m, _i, output: output.detach().requires_grad_())
    try:
        yield
    finally:
        handle.remove()
        for p, flag in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(flag)


def target_layout(model: nn.Module, target_layer: str, image_size: int) -> str:
    """The target layer's output layout: a Swin stage is channels-last, a ViT layer gives tokens."""
    find_layer(model, target_layer)
    return module_output_layout(model, target_layer, image_size)


def compute_cams(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    target_layer: str,
    cam_method: str = "gradcam",
    device: torch.device | str = "cpu",
    batch_size: int = 256,
    layout: str | None = None,
) -> torch.Tensor:
    """CAM of class targets[i] for uint8 images[i]: float32 [N, H, W], each map scaled to [0, 1].

    The target layer's output is viewed as [N, C, H, W] first (`layout`, found from the model when None):
    pytorch_grad_cam reads dimension 1 as channels, so a channels-last map would give stripes.
    """
    if cam_method not in CAM_METHODS:
        raise ConfigError(f"cam: unknown CAM method {cam_method!r} (known: {', '.join(CAM_METHODS)})")
    model = model.to(device).eval()
    layer = find_layer(model, target_layer)
    if layout is None:
        layout = target_layout(model, target_layer, images.shape[-1])
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cam_class = getattr(pytorch_grad_cam, CAM_METHODS[cam_method])
    maps = []
    with _backward_stops_at(model, layer):
        cam = cam_class(model=model, target_layers=[layer], reshape_transform=cam_reshape_transform(layout))
        try:
            for start in range(0, len(images), batch_size):
                batch = to_input(images[start : start + batch_size], torch.device(device))
                labels = targets[start : start + batch_size].tolist()
                maps.append(torch.from_numpy(cam(batch, [ClassifierOutputTarget(int(c)) for c in labels])))
        finally:
            cam.activations_and_grads.release()
    if not maps:
        return torch.empty((0, *images.shape[-2:]))
    return torch.cat(maps).float()


def top_fraction_mask(cams: torch.Tensor, fraction: float) -> torch.Tensor:
    """True on the round(fraction * H * W) highest-CAM pixels of each map (bool [N, H, W]).

    Ties go to the pixels nearest the centre, so a flat CAM (no evidence, e.g. all gradients
    negative) removes a central disc rather than whichever pixels a sort happens to list first.
    """
    n, height, width = cams.shape
    count = round(fraction * height * width)
    yy, xx = torch.meshgrid(torch.arange(height) - (height - 1) / 2, torch.arange(width) - (width - 1) / 2, indexing="ij")
    centre_first = (yy**2 + xx**2).flatten().argsort(stable=True)
    ranked = cams.reshape(n, -1)[:, centre_first].argsort(dim=1, descending=True, stable=True)
    mask = torch.zeros(n, height * width, dtype=torch.bool)
    mask.scatter_(1, centre_first[ranked[:, :count]], True)
    return mask.reshape(n, height, width)


def _blurred(images: torch.Tensor) -> torch.Tensor:
    sigma = images.shape[-1] / 8  # wide enough to wash out a shape's outline at any image size
    kernel = 2 * math.ceil(2 * sigma) + 1
    import torchvision.transforms.functional as TF  # torchvision's import costs seconds; only blur fills need it

    return TF.gaussian_blur(images.float(), [kernel, kernel], [sigma, sigma]).round().clamp(0, 255).to(torch.uint8)


def apply_mask(images: torch.Tensor, mask: torch.Tensor, fill: str, mean_colour: torch.Tensor | None = None) -> torch.Tensor:
    """uint8 images with the masked pixels replaced by the fill.

    mean: one constant colour (the train split's mean, given as `mean_colour` [3]); a per-image
    mean would carry the attribute's colour back in. zero: black. blur: a heavy Gaussian blur of
    the image itself, which keeps the region's average colour and so removes less of a colour attribute.
    """
    if fill == "mean":
        if mean_colour is None:
            raise ValueError("fill 'mean' needs mean_colour")
        replacement = mean_colour.round().clamp(0, 255).to(torch.uint8).view(1, 3, 1, 1).expand_as(images)
    elif fill == "zero":
        replacement = torch.zeros_like(images)
    elif fill == "blur":
        replacement = _blurred(images)
    else:
        raise ConfigError(f"fill: unknown fill {fill!r} (known: {', '.join(FILLS)})")
    return torch.where(mask.unsqueeze(1), replacement, images)


def mask_images(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    *,
    target_layer: str,
    cam_method: str,
    fraction: float,
    fill: str,
    mean_colour: torch.Tensor | None,
    device: torch.device | str = "cpu",
    batch_size: int = 256,
) -> tuple[torch.Tensor, int]:
    """Masked copies of uint8 images, batch by batch (never all CAMs in memory), and how many CAMs were flat (all zero)."""
    masked, flat = torch.empty_like(images), 0
    layout = target_layout(model.to(device), target_layer, images.shape[-1])
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        cams = compute_cams(model, batch, targets[start : start + batch_size], target_layer, cam_method, device, batch_size, layout)
        flat += int((cams.flatten(1).amax(1) == 0).sum())
        masked[start : start + batch_size] = apply_mask(batch, top_fraction_mask(cams, fraction), fill, mean_colour)
    return masked, flat
