"""Transformers split like CNNs: ViT (tokens) and Swin (channels-last) at the dataset's image size."""

import pytest
import torch
from pytorch_grad_cam.utils.image import scale_cam_image
from tiny_transformers import SIZE, SPLIT_AFTER, tiny_transformer

from attrunlearn_core.config import validate_config
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.feature_layout import CHANNELS_FIRST, CHANNELS_LAST, TOKENS, tokens_to_grid
from attrunlearn_core.gradcam_masking import compute_cams, mask_images
from attrunlearn_core.models import build_model, build_split_model, final_linear, module_output_layout, split_model


@pytest.mark.parametrize("family, h_shape", [("vit", (32, 17, 1)), ("swin", (32, 2, 2))])
def test_extractor_then_classifier_equals_the_unsplit_transformer(family, h_shape):
    torch.manual_seed(0)
    model = tiny_transformer(family).eval()
    split = split_model(model, SPLIT_AFTER[family], SIZE).eval()
    x = torch.randn(3, 3, SIZE, SIZE)
    with torch.no_grad():
        assert torch.equal(split(x), model(x))
        assert split.extractor(x).shape == (3, *h_shape)
    assert sum(p.numel() for p in split.parameters()) == sum(p.numel() for p in model.parameters())
    assert final_linear(split.classifier) is (model.heads.head if family == "vit" else model.head)


@pytest.mark.parametrize("arch, split_after, image_size", [("swin_t", "features.3", 32), ("vit_b_16", "encoder.layers.encoder_layer_5", 32)])
def test_the_torchvision_transformers_of_the_issue_split_at_a_small_image_size(arch, split_after, image_size):
    """swin_t once stopped at the split (its attention weights counted as crossing tensors); vit_b_16 asserted
    224 px and, at 224 px, its extractor missed the class token and position embedding."""
    torch.manual_seed(0)
    model = build_model(arch, 3, image_size).eval()
    split = split_model(model, split_after, image_size).eval()
    x = torch.randn(2, 3, image_size, image_size)
    with torch.no_grad():
        assert torch.allclose(split(x), model(x), atol=1e-5)
        assert split.extractor(x).dim() == 4
    if arch == "vit_b_16":
        assert (model.image_size, model.patch_size) == (32, 8)  # patch 16 would leave a 2x2 grid


def test_vit_kwargs_override_the_builders_patch_and_depth_and_bad_kwargs_are_a_config_error(tiny_config):
    model = build_model("vit_b_16", 4, 16, {"patch_size": 4, "num_layers": 1, "num_heads": 2, "hidden_dim": 16, "mlp_dim": 32})
    assert (model.image_size, model.patch_size, len(model.encoder.layers), model.hidden_dim) == (16, 4, 1, 16)
    with pytest.raises(ConfigError, match="kwargs"):
        build_model("resnet18", 4, 16, {"no_such_argument": 1})
    tiny_config["models"]["resnet18"]["kwargs"] = {"no_such_argument": 1}
    with pytest.raises(ConfigError, match=r"models\.resnet18\.kwargs") as excinfo:
        validate_config(tiny_config)
    assert "\n" not in str(excinfo.value)


def test_a_vit_from_the_config_trains_split_at_the_dataset_size():
    split = build_split_model(
        "vit_b_16", 4, "encoder.layers.encoder_layer_0", 16, {"num_layers": 1, "num_heads": 2, "hidden_dim": 16, "mlp_dim": 32}
    ).eval()
    assert split.extractor(torch.randn(2, 3, 16, 16)).shape == (2, 16, 17, 1)  # patch 4: 16 tokens + class token


def test_layouts_swin_is_channels_last_vit_gives_tokens_convnext_stays_channels_first():
    torch.manual_seed(0)
    assert module_output_layout(tiny_transformer("swin"), "features.3", SIZE) == CHANNELS_LAST
    assert module_output_layout(tiny_transformer("vit"), "encoder.layers.encoder_layer_0", SIZE) == TOKENS
    convnext = build_model("convnext_tiny", 3).eval()  # its blocks permute to channels-last and back inside
    assert module_output_layout(convnext, "features.3", 32) == CHANNELS_FIRST
    split = split_model(convnext, "features.3", 32).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(split(x), convnext(x), atol=1e-5)


def _reference_gradcam(model, layer, to_grid, x, targets):
    """Grad-CAM by hand: channel weights = mean gradient over the grid, CAM = ReLU of the weighted sum."""
    stored = {}
    handle = layer.register_forward_hook(lambda _m, _i, out: stored.update(a=out) or out.retain_grad())
    logits = model(x)
    handle.remove()
    logits.gather(1, targets[:, None]).sum().backward()
    activations, gradients = to_grid(stored["a"].detach()), to_grid(stored["a"].grad)
    cam = torch.relu((gradients.mean(dim=(2, 3), keepdim=True) * activations).sum(1))
    return torch.from_numpy(scale_cam_image(cam.numpy(), (x.shape[-1], x.shape[-2])))


@pytest.mark.parametrize(
    "family, layer_name, to_grid",
    [
        ("swin", "features.3", lambda a: a.permute(0, 3, 1, 2)),
        ("vit", "encoder.layers.encoder_layer_0", tokens_to_grid),
    ],
)
def test_gradcam_on_a_transformer_layer_reads_its_grid_not_stripes(family, layer_name, to_grid):
    torch.manual_seed(0)
    model = tiny_transformer(family).eval()
    images = torch.randint(0, 256, (4, 3, SIZE, SIZE), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    targets = torch.tensor([0, 1, 2, 3])
    cams = compute_cams(model, images, targets, layer_name)
    x = ((images.float() / 255.0) - 0.5) / 0.25
    reference = _reference_gradcam(model, dict(model.named_modules())[layer_name], to_grid, x, targets)
    assert cams.shape == (4, SIZE, SIZE)
    assert torch.allclose(cams, reference, atol=1e-4)
    masked, _ = mask_images(model, images, targets, target_layer=layer_name, cam_method="gradcam", fraction=0.25, fill="zero", mean_colour=None)
    assert masked.shape == images.shape and (masked != images).any()


def test_the_split_follows_train_and_eval_mode_instead_of_the_mode_at_trace_time():
    """Swin's stochastic depth reads self.training; traced through, the graph would keep dropping paths in eval."""
    from torchvision.models.swin_transformer import SwinTransformer

    torch.manual_seed(0)
    model = SwinTransformer(
        patch_size=[4, 4], embed_dim=16, depths=[2, 2, 1, 1], num_heads=[1, 2, 2, 2], window_size=[2, 2], stochastic_depth_prob=0.5, num_classes=3
    )
    split = split_model(model.train(), "features.3", SIZE)
    x = torch.randn(4, 3, SIZE, SIZE)
    with torch.no_grad():
        assert torch.equal(split.eval()(x), split(x)) and torch.equal(split(x), model.eval()(x))
        assert not torch.equal(split.train()(x), split(x))  # paths dropped at random while training


def test_a_forward_that_branches_on_the_mode_is_refused_with_a_hint():
    with pytest.raises(ConfigError, match="aux_logits"):
        build_split_model("googlenet", 3, "inception3b", 32)
    split = build_split_model("googlenet", 3, "inception3b", 32, {"aux_logits": False}).eval()
    assert split.extractor(torch.randn(2, 3, 32, 32)).shape[1] == 480
