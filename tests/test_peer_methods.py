"""The peer methods' building blocks and behaviour: targeted L2 PGD, MAS, gradient reversal, LEACE on h,
instance-wise unlearning and adversarial removal, on a small CNN that fits the tiny data in a second."""

from __future__ import annotations

import copy
import pickle
from functools import lru_cache
from itertools import pairwise

import pytest
import torch
from helpers import tiny_embedded_prepared
from torch import nn

from attrunlearn_core.config import validate_config
from attrunlearn_core.datasets.prepared import PreparedDataset
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.methods import UnlearningContext, get_method_class
from attrunlearn_core.methods.leace import fit_affine_erasure
from attrunlearn_core.methods.qleace import fit_quadratic_erasure
from attrunlearn_core.metrics import majority_rate
from attrunlearn_core.models import SplitModel
from attrunlearn_core.seeding import seed_everything
from attrunlearn_core.training import TrainingRecipe, accuracy, fit_classifier, predict, to_input
from attrunlearn_core.unlearning.gradient_reversal import dann_coefficient, reverse_gradient
from attrunlearn_core.unlearning.hsic import hsic_given, normalised_hsic
from attrunlearn_core.unlearning.mas import MASPenalty, mas_importance
from attrunlearn_core.unlearning.pgd import project_l2, targeted_l2_pgd

TASK = "shape"
CPU = torch.device("cpu")


def tiny_prepared() -> PreparedDataset:
    return tiny_embedded_prepared(seed=1)


def small_model(num_classes: int = 4) -> SplitModel:
    """h is 16 x 4 x 4 for 16 x 16 inputs."""
    extractor = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)
    )
    classifier = nn.Sequential(nn.Flatten(), nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, num_classes))
    return SplitModel(extractor, classifier)


@lru_cache(maxsize=1)
def trained_small_model() -> SplitModel:
    """Fits the 96 train images (train accuracy ~1), so there is something to forget."""
    prepared = tiny_prepared()
    seed_everything(0)
    model = small_model()
    recipe = TrainingRecipe(epochs=30, batch_size=16, lr=3e-3, hflip=False)
    fit_classifier(model, prepared.split_images("train"), prepared.split_labels("train", TASK), recipe, torch.Generator().manual_seed(0), CPU)
    return model.eval()


def context(attribute: str = "color", seed: int = 5) -> UnlearningContext:
    return UnlearningContext(tiny_prepared(), TASK, attribute, TrainingRecipe(batch_size=32), CPU, seed_everything(seed), seed)


def fresh_model() -> SplitModel:
    return copy.deepcopy(trained_small_model())


# ---------------------------------------------------------------- targeted L2 PGD


def test_pgd_stays_within_the_l2_budget_and_the_pixel_range_and_moves_towards_the_target():
    model = fresh_model()
    pixels = tiny_prepared().split_images("train")[:32].float() / 255.0
    forward = lambda x: model((x - 0.5) / 0.25)  # noqa: E731 - the normalisation of training.to_input
    with torch.no_grad():
        clean = forward(pixels)
    target = (clean.argmax(1) + 1) % 4
    eps = 1.0
    adversarial = targeted_l2_pgd(forward, pixels, target, eps=eps, steps=10)
    distance = (adversarial - pixels).flatten(1).norm(dim=1)
    assert (distance <= eps + 1e-4).all() and distance.max() > 0.5 * eps
    assert adversarial.min() >= 0.0 and adversarial.max() <= 1.0
    with torch.no_grad():
        moved = forward(adversarial)
    clean_loss = nn.functional.cross_entropy(clean, target, reduction="none")
    moved_loss = nn.functional.cross_entropy(moved, target, reduction="none")
    assert (moved_loss < clean_loss).float().mean() > 0.9
    assert (moved.argmax(1) == target).float().mean() > (clean.argmax(1) == target).float().mean() + 0.3
    assert all(p.grad is None for p in model.parameters())
    assert torch.equal(targeted_l2_pgd(forward, pixels, target, eps=0.0, steps=10), pixels)


def test_l2_projection_only_shrinks_what_leaves_the_ball():
    delta = torch.stack([torch.full((3, 2, 2), 1.0), torch.full((3, 2, 2), 0.01)])  # norms sqrt(12) and 0.0346
    projected = project_l2(delta, eps=1.0)
    assert torch.allclose(projected[0].norm(), torch.tensor(1.0))
    assert torch.allclose(projected[0] / projected[0].norm(), delta[0] / delta[0].norm())
    assert torch.equal(projected[1], delta[1])


# ---------------------------------------------------------------- MAS


def test_mas_importance_is_non_negative_with_mean_one_and_zero_for_unused_weights():
    model = fresh_model()
    unused = nn.Linear(3, 3)
    model.add_module("unused", unused)
    importance = mas_importance(model, [to_input(tiny_prepared().split_images("train")[:16], CPU)])
    names = {name for name, _ in model.named_parameters()}
    assert set(importance) == names
    assert all((v >= 0).all() for v in importance.values())
    total = sum(v.sum() for v in importance.values()) / sum(v.numel() for v in importance.values())
    assert torch.isclose(total, torch.tensor(1.0))
    assert importance["unused.weight"].abs().sum() == 0
    assert importance["classifier.3.weight"].sum() > 0


def test_mas_penalty_is_zero_at_the_anchor_grows_away_from_it_and_its_gradient_shortcut_matches_autograd():
    model = fresh_model()
    importance = mas_importance(model, [to_input(tiny_prepared().split_images("train")[:16], CPU)])
    penalty = MASPenalty(model, importance)
    assert penalty.value(model).item() == 0.0
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    assert penalty.value(model).item() > 0.0
    model.zero_grad(set_to_none=True)
    (3.0 * penalty.value(model)).backward()
    expected = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad(set_to_none=True)
    penalty.add_gradient(model, 3.0)
    for name, p in model.named_parameters():
        assert torch.allclose(p.grad, expected[name], rtol=1e-5, atol=1e-8), name


# ---------------------------------------------------------------- gradient reversal


def test_gradient_reversal_is_identity_forward_and_flips_the_scaled_gradient():
    x = torch.randn(4, 5, requires_grad=True)
    weights = torch.randn(4, 5)
    y = reverse_gradient(x, 0.5)
    assert torch.equal(y, x)
    (y * weights).sum().backward()
    assert torch.allclose(x.grad, -0.5 * weights)


def test_dann_coefficient_ramps_from_zero_to_the_maximum():
    values = [dann_coefficient(p / 10, 3.0) for p in range(11)]
    assert values[0] == 0.0 and abs(values[-1] - 3.0) < 0.01
    assert all(a < b for a, b in pairwise(values))


# ---------------------------------------------------------------- LEACE


def _linear_probe_train_accuracy(features: torch.Tensor, z: torch.Tensor, classes: int) -> float:
    """The best a (ridge) least-squares linear probe does on the very data it was fitted on."""
    x = torch.cat([features.flatten(1).double(), torch.ones(len(features), 1, dtype=torch.float64)], 1)
    x = (x - x.mean(0)) / x.std(0).clamp_min(1e-6)
    x[:, -1] = 1.0
    targets = nn.functional.one_hot(z, classes).double()
    solution = torch.linalg.solve(x.T @ x + 1e-3 * torch.eye(x.shape[1], dtype=torch.float64), x.T @ targets)
    return ((x @ solution).argmax(1) == z).float().mean().item()


def test_affine_erasure_leaves_no_linear_signal_on_its_fitting_data():
    generator = torch.Generator().manual_seed(0)
    z = torch.randint(0, 3, (600,), generator=generator)
    features = torch.randn(600, 8, 2, 2, generator=generator)
    features[:, 0, 0, 0] += 3.0 * (z == 1)  # z is linearly readable from two coordinates
    features[:, 1, 0, 0] += 3.0 * (z == 2)
    assert _linear_probe_train_accuracy(features, z, 3) > 0.9
    erasure = fit_affine_erasure(features, z, 3)
    erased = erasure(features)
    assert erased.shape == features.shape and erasure.rank == 2
    assert _linear_probe_train_accuracy(erased, z, 3) < majority_rate(z) + 0.1
    centred = erased.flatten(1) - erased.flatten(1).mean(0)
    cross_covariance = centred.T @ (nn.functional.one_hot(z, 3).float() - nn.functional.one_hot(z, 3).float().mean(0))
    assert cross_covariance.abs().max() < 1e-3 * len(z)


def test_leace_on_h_makes_a_linear_probe_on_train_h_fall_to_chance_and_keeps_the_task():
    prepared = tiny_prepared()
    original = fresh_model()
    images, z = prepared.split_images("train"), prepared.split_labels("train", "color")
    with torch.no_grad():
        before = original.extractor(to_input(images, CPU))
    # Many more dimensions (256) than samples (96): fit the probe on the top principal directions only.
    top = torch.linalg.svd(before.flatten(1) - before.flatten(1).mean(0), full_matrices=False).Vh[:40]
    assert _linear_probe_train_accuracy(before.flatten(1) @ top.T, z, 4) > 0.8
    result = get_method_class("leace")().unlearn(original, context("color"))
    with torch.no_grad():
        after = result.model.extractor(to_input(images, CPU))
    assert after.shape == before.shape
    assert _linear_probe_train_accuracy(after.flatten(1) @ top.T, z, 4) < majority_rate(z) + 0.15
    assert result.metrics["erased_rank"] == 3
    assert accuracy(result.model, images, prepared.split_labels("train", TASK), CPU) > 0.8


@pytest.mark.parametrize("method", ["leace", "qleace"])
def test_a_closed_form_eraser_says_what_it_fits_and_refuses_an_h_past_max_dim(method, caplog):
    dim = fresh_model().extractor(to_input(tiny_prepared().split_images("train")[:1], CPU)).numel()
    with caplog.at_level("INFO", logger="attrunlearn_core.methods.leace"):
        get_method_class(method)().unlearn(fresh_model(), context("color"))
    assert any(f"h of d = {dim} values" in message and "about" in message for message in caplog.messages)
    with pytest.raises(ConfigError) as error:
        get_method_class(method)({"max_dim": dim - 1}).unlearn(fresh_model(), context("color"))
    message = str(error.value)
    assert len(message.splitlines()) == 1 and f"d = {dim} values" in message and "split earlier, or raise params.max_dim" in message


# ---------------------------------------------------------------- instance-wise unlearning


@pytest.mark.parametrize("mode", ["neg_ce", "relabel"])
def test_instance_unlearning_drives_forget_accuracy_down_and_reports_the_paper_metrics(mode):
    params = {"forget_set": "random", "forget_size": 16, "mode": mode, "lr": 1e-3, "max_steps": 60, "use_mas": False}
    result = get_method_class("instance_unlearning")(params).unlearn(fresh_model(), context())
    metrics = result.metrics
    assert metrics["forget_accuracy_before"] > 0.9
    assert metrics["forget_accuracy"] < 0.3
    assert metrics["forget_size"] == 16 and 1 <= metrics["steps"] <= 60
    assert {"retain_accuracy", "test_accuracy", "adversarial_examples", "adversarial_success"} <= set(metrics)


def test_instance_unlearning_stops_as_soon_as_the_target_is_met():
    params = {"forget_set": "random", "forget_size": 16, "target_forget_accuracy": 1.0}
    model = fresh_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = get_method_class("instance_unlearning")(params).unlearn(model, context())
    assert result.metrics["steps"] == 0
    assert all(torch.equal(before[k], v) for k, v in result.model.state_dict().items())


def test_mas_anchor_holds_the_retained_accuracy_better_than_no_anchor():
    base = {"forget_set": "random", "forget_size": 16, "lr": 1e-3, "max_steps": 20, "use_adversarial": False}
    free = get_method_class("instance_unlearning")({**base, "use_mas": False}).unlearn(fresh_model(), context()).metrics
    anchored = get_method_class("instance_unlearning")({**base, "mas_lambda": 1000.0}).unlearn(fresh_model(), context()).metrics
    assert anchored["retain_accuracy"] > free["retain_accuracy"] + 0.1
    assert anchored["forget_accuracy"] > free["forget_accuracy"]


@pytest.mark.parametrize("attribute, values", [("color", [1]), ("color", [0, 3]), ("color+background", [5])])
def test_attribute_forget_set_is_exactly_the_train_instances_with_those_values(attribute, values):
    method = get_method_class("instance_unlearning")({"forget_values": values})
    prepared = tiny_prepared()
    color, background = prepared.split_labels("train", "color"), prepared.split_labels("train", "background")
    joint = color if attribute == "color" else color * 2 + background  # mixed radix: background has 2 values
    expected = torch.isin(joint, torch.tensor(values)).nonzero().flatten()
    assert len(expected) > 0
    assert torch.equal(method.forget_indices(context(attribute)), expected)


def test_instance_unlearning_forgets_attribute_instances_end_to_end():
    params = {"forget_values": [2], "lr": 1e-3, "max_steps": 40, "use_mas": False}
    model = fresh_model()
    prepared = tiny_prepared()
    forget = prepared.split_labels("train", "color") == 2
    result = get_method_class("instance_unlearning")(params).unlearn(model, context())
    predictions = predict(result.model, prepared.split_images("train")[forget], CPU)
    assert result.metrics["forget_size"] == forget.sum().item()
    assert abs((predictions == prepared.split_labels("train", TASK)[forget]).float().mean().item() - result.metrics["forget_accuracy"]) < 1e-6
    assert result.metrics["forget_accuracy"] < result.metrics["forget_accuracy_before"] - 0.5


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"mode": "forget_harder"}, "mode"),
        ({"forget_set": "everything"}, "forget_set"),
        ({"forget_values": [-1]}, "forget_values"),
        ({"pgd_eps": -0.1}, "pgd_eps"),
        ({"use_mas": "yes"}, "use_mas"),
    ],
)
def test_bad_instance_unlearning_values_fail_at_config_validation(tiny_config, params, fragment):
    tiny_config["methods"] = {"iu": {"method": "instance_unlearning", "params": params}}
    tiny_config["grid"]["methods"] = ["iu"]
    with pytest.raises(ConfigError) as excinfo:
        validate_config(tiny_config, "cfg.yaml")
    message = str(excinfo.value)
    assert "\n" not in message and "cfg.yaml: methods.iu.params" in message and fragment in message


def test_forget_values_out_of_range_is_a_config_error_when_the_cell_runs():
    method = get_method_class("instance_unlearning")({"forget_values": [7]})
    with pytest.raises(ConfigError, match="out of range"):
        method.unlearn(fresh_model(), context("color"))


# ---------------------------------------------------------------- adversarial removal


def test_adversarial_removal_trains_one_head_per_attribute_part_and_changes_the_extractor():
    model = fresh_model()
    before = copy.deepcopy(model.extractor.state_dict())
    module_names = {name for name, _ in model.named_modules()}
    result = get_method_class("adversarial")({"epochs": 2}).unlearn(model, context("color+background"))
    assert {"adversary_accuracy_color", "adversary_accuracy_background", "task_loss"} <= set(result.metrics)
    assert 0.0 <= result.metrics["adversary_accuracy_color"] <= 1.0
    changed = [k for k, v in result.model.extractor.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert changed
    assert {name for name, _ in result.model.named_modules()} == module_names  # the heads are not part of the model


def _pixel_coded_data() -> PreparedDataset:
    """4x4 noise images: pixel (0, 0) of channel 0 is the task label, of channel 1 the attribute; both binary.
    A linear extractor can drop the attribute by zeroing one input weight column, so removal is possible."""
    generator = torch.Generator().manual_seed(0)
    n = 512
    task, attribute = torch.randint(0, 2, (n,), generator=generator), torch.randint(0, 2, (n,), generator=generator)
    images = torch.randint(60, 196, (n, 3, 4, 4), generator=generator).to(torch.uint8)
    images[:, 0, 0, 0] = (task * 255).to(torch.uint8)
    images[:, 1, 0, 0] = (attribute * 255).to(torch.uint8)
    splits = {"train": torch.arange(384), "test": torch.arange(384, 512), "attacker_train": torch.arange(0), "attacker_test": torch.arange(0)}
    return PreparedDataset(images, {"task": task, "z": attribute}, {"task": 2, "z": 2}, splits)


def test_gradient_reversal_hides_the_attribute_from_a_fresh_probe_where_the_extractor_can_drop_it():
    prepared = _pixel_coded_data()
    outcome = {}
    for weight in (0.0, 1.0):
        seed_everything(0)
        model = SplitModel(nn.Sequential(nn.Flatten(), nn.Linear(48, 16)), nn.Sequential(nn.ReLU(), nn.Linear(16, 2)))
        method_context = UnlearningContext(prepared, "task", "z", TrainingRecipe(), CPU, seed_everything(1), 1)
        params = {"epochs": 40, "adversary_weight": weight, "hflip": False, "batch_size": 64, "lr": 1e-2, "head_lr": 1e-2}
        params |= {"adversaries": ["mlp"], "head_steps": 0, "head_reset_steps": 0}  # plain gradient reversal, one head
        result = get_method_class("adversarial")(params).unlearn(model, method_context)
        with torch.no_grad():
            h = result.model.extractor(to_input(prepared.split_images("train"), CPU))
        outcome[weight] = (
            _linear_probe_train_accuracy(h, prepared.split_labels("train", "z"), 2),
            accuracy(result.model, prepared.split_images("test"), prepared.split_labels("test", "task"), CPU),
            result.metrics["adversary_accuracy_z"],
        )
    (probe_plain, task_plain, head_plain), (probe_reversed, task_reversed, head_reversed) = outcome[0.0], outcome[1.0]
    assert probe_plain > 0.85 and task_plain > 0.95
    assert probe_reversed < probe_plain - 0.1 and head_reversed < head_plain - 0.1
    assert task_reversed > 0.95


# ---------------------------------------------------------------- multi-attribute refusal


def test_a_method_without_multi_attribute_support_is_refused_for_a_composite_attribute(tiny_config, monkeypatch):
    monkeypatch.setattr(get_method_class("leace"), "supports_multi_attribute", False)
    tiny_config["methods"] = {"leace": {"method": "leace"}}
    tiny_config["grid"]["methods"] = ["leace"]
    with pytest.raises(ConfigError) as excinfo:
        validate_config(tiny_config, "cfg.yaml")
    message = str(excinfo.value)
    assert "\n" not in message and "methods.leace" in message and "color+background" in message
    tiny_config["datasets"]["embedded"]["attributes"] = ["color"]
    validate_config(tiny_config, "cfg.yaml")


# ---------------------------------------------------------------- tuned gradient reversal and quadratic LEACE


def test_adversarial_ensemble_with_catch_up_steps_and_resets_runs_on_a_composite_attribute():
    model = fresh_model()
    before = copy.deepcopy(model.extractor.state_dict())
    params = {"epochs": 2, "adversaries": ["mlp", "conv"], "head_steps": 2, "head_reset_steps": 3}
    result = get_method_class("adversarial")(params).unlearn(model, context("color+background"))
    assert 0.0 <= result.metrics["adversary_accuracy_color"] <= 1.0 and 0.0 <= result.metrics["adversary_accuracy_background"] <= 1.0
    assert any(not torch.equal(v, before[k]) for k, v in result.model.extractor.state_dict().items() if v.is_floating_point())


@pytest.mark.parametrize("params, fragment", [({"adversaries": ["transformer"]}, "adversaries"), ({"head_steps": -1}, "head_steps")])
def test_bad_adversarial_values_are_one_line_config_errors(params, fragment):
    with pytest.raises(ConfigError) as error:
        get_method_class("adversarial")(params)
    assert fragment in str(error.value) and "\n" not in str(error.value)


def _variance_coded_features(n: int = 900):
    """z changes only the spread of four coordinates (equal class means): invisible to LEACE, visible to a quadratic reader."""
    generator = torch.Generator().manual_seed(0)
    z = torch.randint(0, 2, (n,), generator=generator)
    features = torch.randn(n, 8, 2, 2, generator=generator)
    features[:, :1] *= torch.where(z == 1, 3.0, 0.5)[:, None, None, None]
    return features, z


def _spread_ratio(features: torch.Tensor, z: torch.Tensor) -> float:
    flat = features.flatten(1)[:, :4]
    return (flat[z == 1].var(0).mean() / flat[z == 0].var(0).mean()).item()


def test_quadratic_erasure_equalises_the_class_spreads_that_leace_leaves():
    features, z = _variance_coded_features()
    assert _spread_ratio(features, z) > 20
    linear = fit_affine_erasure(features, z, 2)
    assert _spread_ratio(linear(features), z) > 20  # the class means were already equal: LEACE has nothing to remove
    quadratic = fit_quadratic_erasure(features, z, 2, components=8)
    with torch.no_grad():
        erased = quadratic(features)
        predicted = quadratic.predict_z((quadratic.linear(features).flatten(1) - quadratic.center) @ quadratic.basis)
    assert erased.shape == features.shape
    assert (predicted == z).float().mean() > 0.8  # the QDA stand-in for the oracle label reads the spread
    assert 1 / 3 < _spread_ratio(erased, z) < 3


def test_qleace_inserts_a_picklable_eraser_and_keeps_the_task():
    prepared = tiny_prepared()
    images = prepared.split_images("train")
    result = get_method_class("qleace")({"components": 16}).unlearn(fresh_model(), context("color+background"))
    restored = pickle.loads(pickle.dumps(result.model))
    with torch.no_grad():
        assert torch.equal(restored(to_input(images, CPU)), result.model(to_input(images, CPU)))
    assert result.metrics["components"] == 16 and result.metrics["erased_rank"] == 7  # joint z: 4 x 2 values
    assert accuracy(result.model, images, prepared.split_labels("train", TASK), CPU) > 0.8


# ---------------------------------------------------------------- the fine-tune control


def test_the_finetune_control_has_detachments_budget_and_schedule():
    finetune, detachment = get_method_class("finetune"), get_method_class("detachment")
    assert finetune.DEFAULTS == {key: detachment.DEFAULTS[key] for key in ("epochs", "batch_size", "lr", "classifier_lr", "weight_decay")}


def test_the_finetune_control_trains_the_task_alone_and_repeats_under_its_seed():
    prepared = tiny_prepared()
    images, task = prepared.split_images("train"), prepared.split_labels("train", TASK)
    seed_everything(3)
    start = small_model()
    before = accuracy(start, images, task, CPU)
    runs = [get_method_class("finetune")({"epochs": 20, "batch_size": 16}).unlearn(copy.deepcopy(start), context(seed=7)) for _ in range(2)]
    assert accuracy(runs[0].model, images, task, CPU) > before + 0.2
    assert all(torch.equal(a, b) for a, b in zip(runs[0].model.state_dict().values(), runs[1].model.state_dict().values(), strict=True))
    assert runs[0].metrics["task_loss"] < 1.25  # below chance-level cross-entropy, ln 4 = 1.39


@pytest.mark.parametrize("params, fragment", [({"epochs": 0}, "epochs: 0 must be an integer >= 1"), ({"lr": -1.0}, "lr: -1.0 must be a number >= 0")])
def test_bad_finetune_values_are_one_line_config_errors(params, fragment):
    with pytest.raises(ConfigError) as error:
        get_method_class("finetune").resolve_params(params)
    assert fragment in str(error.value) and len(str(error.value).splitlines()) == 1


# ---------------------------------------------------------------- kernel independence erasure (HSIC)


def _knn_accuracy(train_h: torch.Tensor, train_z: torch.Tensor, test_h: torch.Tensor, test_z: torch.Tensor, k: int = 7) -> float:
    """A non-linear probe fitted on one split and read on another."""
    nearest = torch.cdist(test_h.flatten(1), train_h.flatten(1)).topk(k, largest=False).indices
    return (torch.mode(train_z[nearest], 1).values == test_z).float().mean().item()


def test_normalised_hsic_sees_a_dependence_no_linear_probe_sees_and_ignores_scale():
    generator = torch.Generator().manual_seed(0)
    h = torch.randn(400, 3, generator=generator)
    symmetric = (h[:, 0].abs() > 0.67).long()  # uncorrelated with every element of h, yet a function of h
    independent = torch.randint(0, 2, (400,), generator=generator)
    assert torch.corrcoef(torch.stack([h[:, 0], symmetric.float()]))[0, 1].abs() < 0.1
    dependent, chance = normalised_hsic(h, symmetric, 2).item(), normalised_hsic(h, independent, 2).item()
    assert dependent > 5 * chance and chance < 0.02
    assert normalised_hsic(h * torch.tensor([100.0, 0.01, 7.0]), symmetric, 2).item() == pytest.approx(dependent, rel=1e-4)
    assert normalised_hsic(h, torch.zeros(400, dtype=torch.long), 2).item() == 0.0  # one z value: nothing to measure


def test_hsic_given_the_task_leaves_the_part_of_z_the_task_carries():
    generator = torch.Generator().manual_seed(1)
    task = torch.randint(0, 2, (300,), generator=generator)
    h = torch.randn(300, 4, generator=generator) + 3.0 * task[:, None]
    assert normalised_hsic(h, task, 2).item() > 0.3  # z = y: plainly in h
    assert hsic_given(h, task, 2, task).item() == 0.0  # nothing of z beyond the task


def test_hsic_erasure_hides_the_attribute_from_a_fresh_non_linear_probe_and_keeps_the_task():
    prepared = _pixel_coded_data()
    outcome = {}
    for weight in (0.0, 3.0):
        seed_everything(0)
        model = SplitModel(nn.Sequential(nn.Flatten(), nn.Linear(48, 16)), nn.Sequential(nn.ReLU(), nn.Linear(16, 2)))
        method_context = UnlearningContext(prepared, "task", "z", TrainingRecipe(hflip=False), CPU, seed_everything(1), 1)
        params = {"epochs": 30, "batch_size": 64, "lr": 1e-2, "classifier_lr": 1e-2, "weight": weight}
        result = get_method_class("hsic")(params).unlearn(model, method_context)
        with torch.no_grad():
            h = {split: result.model.extractor(to_input(prepared.split_images(split), CPU)) for split in ("train", "test")}
        z = {split: prepared.split_labels(split, "z") for split in ("train", "test")}
        outcome[weight] = (
            _knn_accuracy(h["train"], z["train"], h["test"], z["test"]),
            accuracy(result.model, prepared.split_images("test"), prepared.split_labels("test", "task"), CPU),
            result.metrics["penalty"],
        )
    (probe_plain, task_plain, penalty_plain), (probe_erased, task_erased, penalty_erased) = outcome[0.0], outcome[3.0]
    assert probe_plain > 0.8 and task_plain > 0.95
    assert probe_erased < probe_plain - 0.15 and penalty_erased < penalty_plain / 2
    assert task_erased > 0.95


def test_hsic_erasure_at_weight_zero_is_the_finetune_control_step_for_step():
    runs = {}
    for name, params in (("finetune", {}), ("hsic", {"weight": 0.0})):
        runs[name] = get_method_class(name)({"epochs": 2, "batch_size": 32, **params}).unlearn(fresh_model(), context(seed=7))
    pairs = zip(runs["finetune"].model.state_dict().values(), runs["hsic"].model.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    assert runs["hsic"].metrics["penalty"] > 0.05  # measured all along, though it weighed nothing


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"weight": -1.0}, "weight: -1.0 must be a number >= 0"),
        ({"given_task": "yes"}, "given_task: 'yes' must be true or false"),
        ({"epochs": 0}, "epochs: 0 must be an integer >= 1"),
    ],
)
def test_bad_hsic_values_are_one_line_config_errors(params, fragment):
    with pytest.raises(ConfigError) as error:
        get_method_class("hsic").resolve_params(params)
    assert fragment in str(error.value) and len(str(error.value).splitlines()) == 1
