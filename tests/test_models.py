import pytest
import torch

from attrunlearn_core.errors import ConfigError
from attrunlearn_core.models import build_model, build_split_model, final_linear, split_model


@pytest.mark.parametrize("arch", ["resnet18", "resnet34", "resnet50"])
def test_extractor_then_classifier_equals_unsplit_model(arch):
    torch.manual_seed(0)
    model = build_model(arch, num_classes=5).eval()
    split = split_model(model, "layer2").eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(split(x), model(x), atol=1e-5)
        h = split.extractor(x)
    channels = {"resnet18": 128, "resnet34": 128, "resnet50": 512}[arch]
    assert h.shape == (2, channels, 4, 4)


def test_split_shares_parameters_with_the_original_model():
    model = build_model("resnet18", 3)
    split = split_model(model, "layer3")
    assert sum(p.numel() for p in split.parameters()) == sum(p.numel() for p in model.parameters())


def test_other_torchvision_families_split_at_a_named_stage():
    torch.manual_seed(0)
    model = build_model("mobilenet_v3_small", 4).eval()
    split = split_model(model, "features.6").eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(split(x), model(x), atol=1e-5)


def test_unknown_split_point_names_the_modules():
    with pytest.raises(ConfigError, match="layer9.*layer1"):
        build_split_model("resnet18", 2, "layer9")


def test_unknown_model_is_a_config_error():
    with pytest.raises(ConfigError, match="not_a_net"):
        build_model("not_a_net", 2)


def test_final_linear_feeds_the_logits():
    split = build_split_model("resnet18", 7)
    assert final_linear(split.classifier).out_features == 7
