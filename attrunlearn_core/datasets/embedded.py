"""A procedural shapes dataset generated from the seed: no download, the attribute is in the pixels.

Each 32x32 (or larger) RGB image shows one filled shape on a noisy background.
- task `shape`: circle, square, triangle, cross (4 classes)
- attribute `color`: the shape's hue, red, green, blue, yellow (4 classes)
- attribute `background`: dark or light background (2 classes)
All three are drawn independently and uniformly, so I(z; y) = 0 as the paper assumes,
while colour and background are plainly visible to any convolutional extractor.

`options: {attributes_in_pixels: false}` is the null control: the labels are drawn as before, but every image is
painted with a colour and a background drawn afresh, so the pixels carry nothing about either attribute and every
attacker must read chance (a false positive otherwise).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from attrunlearn_core.datasets import register_dataset
from attrunlearn_core.datasets.base import LabelledImages

SHAPES = ["circle", "square", "triangle", "cross"]
COLORS = {"red": (215, 45, 45), "green": (45, 175, 60), "blue": (50, 85, 215), "yellow": (225, 200, 40)}
BACKGROUNDS = {"dark": 55, "light": 165}
DEFAULT_NUM_SAMPLES = 8000


def _shape_mask(shape: int, xx: np.ndarray, yy: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    dx, dy = xx - cx, yy - cy
    if shape == 0:
        return dx**2 + dy**2 <= r**2
    if shape == 1:
        return (np.abs(dx) <= 0.85 * r) & (np.abs(dy) <= 0.85 * r)
    if shape == 2:
        return (dy <= 0.8 * r) & (dy >= -r + 1.9 * np.abs(dx))
    return ((np.abs(dx) <= 0.3 * r) | (np.abs(dy) <= 0.3 * r)) & (np.abs(dx) <= r) & (np.abs(dy) <= r)


@register_dataset(
    "embedded",
    labels=("shape", "color", "background"),
    capacity=lambda options: (int(options.get("num_samples", DEFAULT_NUM_SAMPLES)), "options.num_samples"),
)
def load_embedded(root: Path | None, image_size: int, max_samples: int | None, rng: np.random.Generator, options: dict) -> LabelledImages:
    # The dataset has `num_samples` images; `max_samples` (what the splits need) only ever takes fewer of them.
    n = int(options.get("num_samples", DEFAULT_NUM_SAMPLES))
    n = min(n, int(max_samples)) if max_samples else n
    size = int(image_size)
    noise = float(options.get("noise", 18.0))
    shape = rng.integers(0, len(SHAPES), n)
    color = rng.integers(0, len(COLORS), n)
    background = rng.integers(0, len(BACKGROUNDS), n)
    painted_color, painted_background = color, background
    if not options.get("attributes_in_pixels", True):
        painted_color, painted_background = rng.integers(0, len(COLORS), n), rng.integers(0, len(BACKGROUNDS), n)
    palette = np.array(list(COLORS.values()), dtype=np.float32)
    levels = np.array(list(BACKGROUNDS.values()), dtype=np.float32)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    images = np.empty((n, 3, size, size), dtype=np.uint8)
    for i in range(n):
        r = rng.uniform(0.2, 0.32) * size
        cx, cy = rng.uniform(r, size - r, 2)
        tint = rng.normal(0.0, 12.0, 3)
        canvas = levels[painted_background[i]] + tint[:, None, None] + rng.normal(0.0, noise, (3, size, size))
        mask = _shape_mask(int(shape[i]), xx, yy, cx, cy, r)
        fill = palette[painted_color[i]] + rng.normal(0.0, 15.0, 3)
        canvas[:, mask] = fill[:, None] + rng.normal(0.0, noise / 2, (3, int(mask.sum())))
        images[i] = np.clip(canvas, 0, 255).astype(np.uint8)
    return LabelledImages(
        images=torch.from_numpy(images),
        labels={"shape": shape.astype(np.int64), "color": color.astype(np.int64), "background": background.astype(np.int64)},
        num_classes={"shape": len(SHAPES), "color": len(COLORS), "background": len(BACKGROUNDS)},
        class_names={"shape": SHAPES, "color": list(COLORS), "background": list(BACKGROUNDS)},
    )
