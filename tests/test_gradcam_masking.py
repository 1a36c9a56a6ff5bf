"""Baseline-2's masking: exact fractions, fills, CAMs that follow the attribute label (not the task)."""

from collections import OrderedDict

import pytest
import torch
from torch import nn

from attrunlearn_core.checkpoints import save_checkpoint
from attrunlearn_core.config import validate_config
from attrunlearn_core.datasets.prepared import PreparedDataset
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.gradcam_masking import apply_mask, compute_cams, top_fraction_mask
from attrunlearn_core.jobs.mask_dataset import mask_dataset, masking_params
from attrunlearn_core.models import build_model

SIZE = 8


def quadrant_masks(size: int = SIZE) -> torch.Tensor:
    """bool [4, S, S]: top-left, top-right, bottom-left, bottom-right."""
    half = size // 2
    masks = torch.zeros(4, size, size, dtype=torch.bool)
    for k, (rows, cols) in enumerate(
        [
            (slice(0, half), slice(0, half)),
            (slice(0, half), slice(half, None)),
            (slice(half, None), slice(0, half)),
            (slice(half, None), slice(half, None)),
        ]
    ):
        masks[k, rows, cols] = True
    return masks


class QuadrantFeatures(nn.Module):
    """Channel k is positive on quadrant k only, so class k's evidence lives in quadrant k."""

    def __init__(self):
        super().__init__()
        self.register_buffer("quadrants", quadrant_masks().float())

    def forward(self, x):
        return self.quadrants.unsqueeze(0) * nn.functional.softplus(x.mean(1, keepdim=True))


class SumHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, a):
        return self.scale * a.sum(dim=(2, 3))


def quadrant_model() -> nn.Module:
    return nn.Sequential(OrderedDict(features=QuadrantFeatures(), head=SumHead()))


def random_images(n: int, generator: torch.Generator, size: int = SIZE) -> torch.Tensor:
    # No pixel is black, so a zero fill changes exactly the masked pixels.
    return torch.randint(40, 220, (n, 3, size, size), generator=generator, dtype=torch.uint8)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.3, 0.5, 1.0])
def test_mask_covers_exactly_the_fraction_of_highest_cam_pixels(fraction):
    cams = torch.rand(6, 12, 10, generator=torch.Generator().manual_seed(0))
    mask = top_fraction_mask(cams, fraction)
    assert mask.shape == cams.shape
    assert mask.flatten(1).sum(1).tolist() == [round(fraction * 120)] * 6
    for cam, chosen in zip(cams, mask, strict=True):
        if chosen.any() and (~chosen).any():
            assert cam[chosen].min() > cam[~chosen].max()


def test_flat_cam_removes_a_central_region():
    mask = top_fraction_mask(torch.zeros(1, 9, 9), 0.1)[0]
    assert mask.sum() == 8 and mask[4, 4]
    assert not mask[0].any() and not mask[-1].any() and not mask[:, 0].any() and not mask[:, -1].any()


@pytest.mark.parametrize("fill", ["mean", "zero", "blur"])
def test_fill_changes_only_masked_pixels(fill):
    generator = torch.Generator().manual_seed(1)
    images = random_images(5, generator, 16)
    mask = top_fraction_mask(torch.rand(5, 16, 16, generator=generator), 0.3)
    mean_colour = torch.tensor([10.2, 128.0, 250.7])
    out = apply_mask(images, mask, fill, mean_colour)
    assert out.dtype == torch.uint8 and out.shape == images.shape
    assert torch.equal(out.permute(0, 2, 3, 1)[~mask], images.permute(0, 2, 3, 1)[~mask])
    inside = out.permute(0, 2, 3, 1)[mask]
    if fill == "zero":
        assert (inside == 0).all()
    elif fill == "mean":
        assert (inside == torch.tensor([10, 128, 251], dtype=torch.uint8)).all()
    else:  # a blur is smoother than the noise it replaces
        assert inside.float().std(0).mean() < 0.5 * images.permute(0, 2, 3, 1)[mask].float().std(0).mean()


def test_zero_fill_removes_the_intended_fraction_of_pixels():
    generator = torch.Generator().manual_seed(2)
    images = random_images(4, generator, 32)
    out = apply_mask(images, top_fraction_mask(torch.rand(4, 32, 32, generator=generator), 0.3), "zero")
    changed = (out != images).any(dim=1).flatten(1).float().mean(1)
    assert torch.allclose(changed, torch.full((4,), round(0.3 * 1024) / 1024))


def test_cam_of_class_k_lights_up_quadrant_k():
    images = random_images(8, torch.Generator().manual_seed(3))
    targets = torch.arange(8) % 4
    cams = compute_cams(quadrant_model(), images, targets, "features", "gradcam", batch_size=3)
    assert cams.shape == (8, SIZE, SIZE)
    quadrants = quadrant_masks()
    for cam, target in zip(cams, targets, strict=True):
        assert cam[quadrants[target]].min() > 0 and cam[~quadrants[target]].max() == 0


def test_cams_match_plain_pytorch_grad_cam_and_leave_the_model_trainable():
    """Stopping the backward pass at the target layer must not change the maps."""
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    from attrunlearn_core.training import to_input

    torch.manual_seed(0)
    model = build_model("resnet18", 3).eval()
    images = random_images(4, torch.Generator().manual_seed(4), 32)
    targets = torch.tensor([0, 2, 1, 2])
    ours = compute_cams(model, images, targets, "layer2", "gradcam")
    cam = GradCAM(model=model, target_layers=[model.layer2])
    reference = cam(to_input(images, torch.device("cpu")), [ClassifierOutputTarget(int(t)) for t in targets])
    cam.activations_and_grads.release()
    assert torch.allclose(ours, torch.from_numpy(reference), atol=1e-5)
    assert all(p.requires_grad for p in model.parameters())


def test_unknown_target_layer_is_a_one_line_config_error():
    with pytest.raises(ConfigError, match="target_layer.*'layer9'"):
        compute_cams(build_model("resnet18", 2), torch.zeros(1, 3, 16, 16, dtype=torch.uint8), torch.zeros(1, dtype=torch.long), "layer9")


def _prepared(generator: torch.Generator) -> PreparedDataset:
    n = 40
    attribute = torch.randint(0, 4, (n,), generator=generator)
    task = (attribute + 1 + torch.randint(0, 3, (n,), generator=generator)) % 4  # never equal to the attribute
    order = torch.randperm(n, generator=generator)
    splits = {"train": order[:16], "test": order[16:26], "attacker_train": order[26:34], "attacker_test": order[34:]}
    return PreparedDataset(
        images=random_images(n, generator),
        labels={"task": task, "attr": attribute},
        num_classes={"task": 4, "attr": 4},
        splits=splits,
        class_names={},
        meta={"dataset": "toy"},
    )


def test_mask_dataset_removes_the_attribute_region_not_the_task_region(tmp_path):
    prepared = _prepared(torch.Generator().manual_seed(5))
    prepared.save(tmp_path / "toy.pt")
    save_checkpoint(tmp_path / "attr.pt", quadrant_model(), train_seconds=1.5)
    cam = {"cam": "gradcam", "target_layer": "features", "fraction": 0.25, "fill": "zero", "cam_batch_size": 16}
    mask_dataset("attr", tmp_path / "toy.pt", tmp_path / "attr.pt", tmp_path / "masked.pt", cam=cam, device="cpu")

    masked = PreparedDataset.load(tmp_path / "masked.pt")
    assert all(torch.equal(masked.splits[s], prepared.splits[s]) for s in prepared.splits)
    assert all(torch.equal(masked.labels[k], prepared.labels[k]) for k in prepared.labels)
    changed = (masked.images != prepared.images).any(dim=1)
    quadrants = quadrant_masks()
    for index in range(len(prepared.images)):  # every image is in some split, so every image is masked
        assert torch.equal(changed[index], quadrants[prepared.labels["attr"][index]])
        assert not changed[index][quadrants[prepared.labels["task"][index]]].any()
    report = masked.meta["gradcam"]
    assert report["changed_pixel_fraction"] == pytest.approx(0.25)
    assert report["cam_images"] == 40 and report["flat_cams"] == 0 and report["attribute_model_seconds"] == 1.5
    assert masked.meta["gradcam_settings"]["target_layer"] == "features"


def test_masking_params_default_to_the_split_point_and_baseline_epochs(tiny_config):
    tiny_config["methods"]["b2"] = {"method": "gradcam_retrain", "params": {"attribute_epochs": None, "fill": "blur"}}
    params = masking_params(validate_config(tiny_config), "b2", "embedded", "resnet18")
    assert params["target_layer"] == "layer2" and params["attribute_epochs"] == tiny_config["training"]["epochs"]
    assert params["fill"] == "blur" and params["fraction"] == 0.3


@pytest.mark.parametrize(
    "bad, key",
    [
        ({"cam": "gradcamm"}, "cam"),
        ({"fill": "noise"}, "fill"),
        ({"fraction": 1.5}, "fraction"),
        ({"attribute_epochs": 0}, "attribute_epochs"),
        ({"masked": 0.3}, "masked"),
    ],
)
def test_bad_parameters_fail_config_validation_in_one_line(tiny_config, bad, key):
    tiny_config["methods"]["b2"] = {"method": "gradcam_retrain", "params": bad}
    with pytest.raises(ConfigError) as error:
        validate_config(tiny_config)
    message = str(error.value)
    assert "\n" not in message and "methods.b2.params" in message and key in message
