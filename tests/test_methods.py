"""Every registered unlearning method, with its default hyper-parameters, on a tiny dataset.

Parametrised over list_methods(), so a method file added to attrunlearn_core/methods/ is tested here
without touching this file. Methods that start from something other than baseline-1 get the baseline
model anyway: this is a smoke test of the interface, not of their results.
"""

from __future__ import annotations

import copy
from functools import cache, lru_cache

import pytest
import torch
from helpers import tiny_embedded_prepared

from attrunlearn_core.checkpoints import load_model, save_checkpoint
from attrunlearn_core.config import validate_config
from attrunlearn_core.datasets.prepared import PreparedDataset
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.features import extract_features
from attrunlearn_core.methods import MethodResult, UnlearningContext, get_method_class, list_methods
from attrunlearn_core.models import SplitModel, build_split_model
from attrunlearn_core.seeding import seed_everything
from attrunlearn_core.training import TrainingRecipe, to_input

TASK = "shape"
RECIPE = TrainingRecipe(epochs=1, batch_size=32, lr=1e-3)
CPU = torch.device("cpu")
# Defaults are sized for the default grid. A method whose budget is a step count rather than epochs over
# the (tiny) data gets a smaller budget here, and so does the fine-tune control's loop with a penalty (the control
# itself runs that loop at its defaults), to keep this file fast; every other method runs its defaults.
SMOKE_PARAMS = {"instance_unlearning": {"max_steps": 3}, "hsic": {"epochs": 2}}


def tiny_prepared() -> PreparedDataset:
    return tiny_embedded_prepared(seed=0)


@lru_cache(maxsize=1)
def tiny_baseline() -> SplitModel:
    """An untrained ResNet18 split after layer2; methods only need its interface here."""
    seed_everything(0)
    return build_split_model("resnet18", tiny_prepared().num_classes[TASK], "layer2").eval()


def context(attribute: str, seed: int) -> UnlearningContext:
    # Seeds the global RNG as the pipeline does, so module initialisation inside a method is reproducible too.
    return UnlearningContext(tiny_prepared(), TASK, attribute, RECIPE, CPU, seed_everything(seed), seed)


@cache
def unlearned(name: str, attribute: str = "color", seed: int = 3) -> MethodResult:
    return get_method_class(name)(SMOKE_PARAMS.get(name)).unlearn(copy.deepcopy(tiny_baseline()), context(attribute, seed))


def probe_inputs() -> torch.Tensor:
    return to_input(tiny_prepared().split_images("test")[:6], CPU)


@pytest.mark.parametrize("name", list_methods())
def test_method_returns_a_split_model_with_the_same_outputs_that_survives_a_checkpoint(name, tmp_path):
    result = unlearned(name)
    assert isinstance(result, MethodResult)
    assert isinstance(result.model, SplitModel)
    assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in result.metrics.values()), result.metrics
    model = result.model.eval()
    x = probe_inputs()
    with torch.no_grad():
        logits = model(x)
        assert logits.shape == (6, tiny_prepared().num_classes[TASK])
        assert torch.isfinite(logits).all()
        assert torch.equal(model.classifier(model.extractor(x)), logits)
    features = extract_features(model, tiny_prepared().split_images("attacker_test")[:5], CPU)
    assert features["split"].shape[0] == 5 and features["penultimate"].shape[0] == 5
    save_checkpoint(tmp_path / "model.pt", model)
    reloaded = load_model(tmp_path / "model.pt").eval()
    with torch.no_grad():
        assert torch.allclose(reloaded(x), logits)


@pytest.mark.parametrize("name", list_methods())
def test_same_seed_gives_the_same_weights(name):
    first = unlearned(name).model.state_dict()
    again = get_method_class(name)(SMOKE_PARAMS.get(name)).unlearn(copy.deepcopy(tiny_baseline()), context("color", 3)).model.state_dict()
    assert first.keys() == again.keys()
    for key in first:
        assert torch.equal(first[key], again[key]), f"{name}: {key} differs between two runs with the same seed"


@pytest.mark.parametrize("name", list_methods())
def test_unknown_parameter_is_a_one_line_config_error_and_defaults_round_trip(name):
    method_class = get_method_class(name)
    with pytest.raises(ConfigError) as excinfo:
        method_class({"no_such_parameter": 1})
    assert "no_such_parameter" in str(excinfo.value) and "\n" not in str(excinfo.value)
    assert method_class(copy.deepcopy(method_class.DEFAULTS)).params == method_class().params


@pytest.mark.parametrize("name", list_methods())
def test_composite_attribute_works_or_is_refused_by_the_config(name, tiny_config):
    method_class = get_method_class(name)
    assert ["color", "background"] in tiny_config["datasets"]["embedded"]["attributes"]
    tiny_config["methods"] = {"under_test": {"method": name}}
    tiny_config["grid"]["methods"] = ["under_test"]
    if method_class.supports_multi_attribute:
        validate_config(tiny_config)
        result = unlearned(name, "color+background")
        with torch.no_grad():
            assert result.model.eval()(probe_inputs()).shape == (6, tiny_prepared().num_classes[TASK])
    else:
        with pytest.raises(ConfigError) as excinfo:
            validate_config(tiny_config)
        assert "methods.under_test" in str(excinfo.value) and "several attributes" in str(excinfo.value)


@pytest.mark.parametrize("family", ["vit", "swin"])
@pytest.mark.parametrize("name", list_methods())
def test_method_runs_on_a_tiny_transformer(name, family):
    """Every method on a ViT (h: tokens) and a Swin (h: channels-last) split, seen through h as [N, C, H, W]."""
    from tiny_transformers import tiny_split_transformer

    model = tiny_split_transformer(family, tiny_prepared().num_classes[TASK])
    result = get_method_class(name)(SMOKE_PARAMS.get(name)).unlearn(model, context("color", 3))
    split = result.model.eval()
    x = probe_inputs()
    with torch.no_grad():
        logits = split(x)
        assert logits.shape == (6, tiny_prepared().num_classes[TASK]) and torch.isfinite(logits).all()
        assert torch.equal(split.classifier(split.extractor(x)), logits)
    features = extract_features(split, tiny_prepared().split_images("attacker_test")[:5], CPU)
    assert features["split"].dim() == 4 and features["penultimate"].shape[0] == 5
