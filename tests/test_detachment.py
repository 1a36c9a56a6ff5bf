"""Representation detachment: its loss terms, who each gradient reaches, the local pipeline, tiny runs of both modes."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import yaml
from helpers import REPO
from torch import nn

from attrunlearn_core.datasets.embedded import load_embedded
from attrunlearn_core.datasets.prepared import prepare
from attrunlearn_core.detachment.aux_networks import build_auxiliary_networks, reset_attribute_head
from attrunlearn_core.detachment.local_pipeline import run_local_epoch
from attrunlearn_core.detachment.losses import (
    class_mean_gap,
    club_upper_bound,
    conditional_class_mean_gap,
    conditional_mmd,
    frozen_call,
    reconstruction_bce,
    supcon_loss,
    uniform_kl,
)
from attrunlearn_core.detachment.objective import DetachmentWeights, extractor_loss, fit_attribute_heads
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.methods import UnlearningContext, get_method_class
from attrunlearn_core.models import build_split_model
from attrunlearn_core.seeding import seed_everything
from attrunlearn_core.training import TrainingRecipe

TINY_PARAMS = {"epochs": 1, "warmup_epochs": 1, "batch_size": 32, "head_hidden": 32, "embedding_dim": 16}
PAPER_OBJECTIVE = yaml.safe_load((REPO / "config.yaml").read_text())["methods"]["detachment_paper"]["params"]


@pytest.fixture(scope="module")
def prepared():
    rng = np.random.default_rng(0)
    data = load_embedded(None, 16, 160, rng, {})
    return prepare(data, {"train": 96, "test": 32, "attacker_train": 16, "attacker_test": 16}, ["shape", "color", "background"], rng, {})


def make_context(prepared, attribute: str = "color", seed: int = 3) -> UnlearningContext:
    return UnlearningContext(prepared, "shape", attribute, TrainingRecipe(epochs=1, batch_size=32), torch.device("cpu"), seed_everything(seed), seed)


def make_model(seed: int = 0):
    torch.manual_seed(seed)
    return build_split_model("resnet18", 4, "layer2")


def parameters_of(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def changed(before: list[torch.Tensor], module: nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters(), strict=True))


# ---------------------------------------------------------------- loss terms


def test_supcon_loss_is_lower_when_embeddings_cluster_by_label():
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    clustered = nn.functional.one_hot(labels, 3).float() + 0.01 * torch.randn(6, 3)
    mixed = nn.functional.one_hot(torch.tensor([0, 1, 2, 0, 1, 2]), 3).float()
    assert supcon_loss(clustered, labels, 0.1) < supcon_loss(mixed, labels, 0.1) - 1.0
    # identical embeddings: every other sample equally likely, so the loss is log(n - 1)
    assert supcon_loss(torch.ones(6, 3), labels, 0.1).item() == pytest.approx(math.log(5), abs=1e-5)


def test_conditional_gap_ignores_what_the_task_explains_and_sees_the_rest():
    # z in {0,1,2,3}, y = z // 2 (z decides y, as CIFAR-10's class decides living/non-living)
    z = torch.arange(4).repeat_interleave(8)
    y = z // 2
    base = 0.01 * torch.randn(8, 5)
    task_only = 10 * y[:, None].float() + base.repeat(4, 1)  # h carries y; within a y, both z values hold the same samples
    assert class_mean_gap(task_only, z, 4).item() > 0.99  # the unconditional gap calls this leakage
    assert conditional_class_mean_gap(task_only, z, 4, y).item() < 1e-3
    beyond_task = z[:, None].float() + base.repeat(4, 1)  # h also separates z within each y
    assert conditional_class_mean_gap(beyond_task, z, 4, y).item() > 0.99


def test_uniform_kl_is_zero_only_for_uniform_predictions_and_never_negative():
    assert uniform_kl(torch.zeros(5, 4)).item() == pytest.approx(0.0, abs=1e-6)
    confident = torch.tensor([[9.0, 0.0, 0.0, 0.0]])
    assert uniform_kl(confident) > uniform_kl(confident / 3) > 0
    assert (uniform_kl(torch.randn(100, 4) * 3) >= 0).all()


def test_class_mean_gap_is_zero_for_equal_class_means_and_near_one_for_separated_ones():
    base = torch.randn(8, 5)
    labels = torch.tensor([0] * 8 + [1] * 8)
    same_means = torch.cat([base, base])  # both classes hold exactly the same samples
    assert class_mean_gap(same_means, labels, 2).item() < 1e-3
    separated = torch.cat([torch.zeros(8, 5), torch.ones(8, 5)]) + 1e-3 * torch.randn(16, 5)
    assert class_mean_gap(separated, labels, 2).item() > 0.99
    # only the mean matters, not the scale of the features
    assert class_mean_gap(separated * 1e3, labels, 2).item() == pytest.approx(class_mean_gap(separated, labels, 2).item(), rel=1e-4)


def test_reconstruction_bce_compares_with_the_image_scaled_to_unit_range_at_decoder_resolution():
    image = torch.full((1, 3, 8, 8), 255, dtype=torch.uint8)
    assert reconstruction_bce(torch.full((1, 3, 4, 4), 20.0), image).item() < 1e-6
    assert reconstruction_bce(torch.full((1, 3, 4, 4), -20.0), image).item() > 10


def test_frozen_call_sends_gradient_to_the_input_only():
    layer = nn.Linear(3, 2)
    x = torch.randn(4, 3, requires_grad=True)
    frozen_call(layer, x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in layer.parameters())


# ---------------------------------------------------------------- who each gradient reaches


def aux_for(model, prepared, parts=1):
    with torch.no_grad():
        h_shape = tuple(model.extractor(torch.zeros(2, 3, 16, 16)).shape[1:])
    params = {**get_method_class("detachment").DEFAULTS, **TINY_PARAMS}
    return build_auxiliary_networks(h_shape, 16, 4, [4] * parts, params)


def test_attribute_term_moves_h_but_never_the_attribute_head(prepared):
    model, weights = make_model(), DetachmentWeights(0.0, 0.0, 1.0, 0.1, 1, 0.0)
    aux = aux_for(model, prepared)
    images = prepared.split_images("train")[:16]
    h = model.extractor(images.float() / 64).detach().requires_grad_()
    color = prepared.split_labels("train", "color")[:16]
    loss, _ = extractor_loss(h, images, prepared.split_labels("train", "shape")[:16], [(color, 4)], aux, weights)
    loss.backward()
    assert h.grad is not None and h.grad.abs().sum() > 0
    assert all(p.grad is None for p in aux.attribute_heads.parameters())


def test_attribute_heads_learn_from_detached_h_only(prepared):
    model = make_model()
    aux = aux_for(model, prepared)
    h = model.extractor(prepared.split_images("train")[:16].float() / 64)
    before = parameters_of(aux.attribute_heads)
    optimizer = torch.optim.AdamW(aux.attribute_heads.parameters(), lr=1e-2)
    fit_attribute_heads(h, [(prepared.split_labels("train", "color")[:16], 4)], aux, optimizer, DetachmentWeights(1, 1, 1, 0.1, 2))
    assert changed(before, aux.attribute_heads)
    assert all(p.grad is None for p in model.extractor.parameters())


@pytest.fixture
def tiny_state(prepared):
    method = get_method_class("detachment")({**TINY_PARAMS, "mode": "local"})
    state, data, plan = method.prepare(make_model(), make_context(prepared))
    return method, state, data, plan


def test_local_extractor_stage_never_touches_the_classifier_or_the_attribute_heads(tiny_state):
    _, state, data, plan = tiny_state
    batch = next(data.batches(plan[1]))
    classifier, heads = parameters_of(state.model.classifier), parameters_of(state.aux.attribute_heads)
    extractor, decoder = parameters_of(state.model.extractor), parameters_of(state.aux.decoder)
    h, _ = state.extractor_step(batch)
    assert not changed(classifier, state.model.classifier) and not changed(heads, state.aux.attribute_heads)
    assert all(p.grad is None for p in state.model.classifier.parameters())
    assert changed(extractor, state.model.extractor) and changed(decoder, state.aux.decoder)
    assert not h.requires_grad


def test_local_estimator_step_moves_only_the_attribute_heads(tiny_state):
    _, state, data, plan = tiny_state
    batch = next(data.batches(plan[1]))
    with torch.no_grad():
        h = state.model.extractor(batch.images.float() / 64)
    heads, others = parameters_of(state.aux.attribute_heads), parameters_of(state.model)
    stats = state.estimator_step(h, batch.attribute_parts)
    assert changed(heads, state.aux.attribute_heads) and not changed(others, state.model)
    assert 0.0 <= stats["attribute_head_accuracy"].item() <= 1.0


def test_local_classifier_stage_never_touches_the_extractor(tiny_state):
    _, state, data, plan = tiny_state
    batch = next(data.batches(plan[1]))
    with torch.no_grad():
        h = state.model.extractor(batch.images.float() / 64)
    extractor, classifier = parameters_of(state.model.extractor), parameters_of(state.model.classifier)
    state.classifier_step(h, batch.task)
    assert not changed(extractor, state.model.extractor)
    assert all(p.grad is None for p in state.model.extractor.parameters())
    assert changed(classifier, state.model.classifier)


def test_end_to_end_step_updates_extractor_classifier_and_all_auxiliaries(tiny_state):
    _, state, data, plan = tiny_state
    parts = {
        name: parameters_of(module)
        for name, module in [
            ("extractor", state.model.extractor),
            ("classifier", state.model.classifier),
            ("decoder", state.aux.decoder),
            ("task_head", state.aux.task_head),
            ("attribute_heads", state.aux.attribute_heads),
        ]
    }
    state.end_to_end_step(next(data.batches(plan[1])))
    modules = {
        "extractor": state.model.extractor,
        "classifier": state.model.classifier,
        "decoder": state.aux.decoder,
        "task_head": state.aux.task_head,
        "attribute_heads": state.aux.attribute_heads,
    }
    assert all(changed(parts[name], module) for name, module in modules.items())


# ---------------------------------------------------------------- the local pipeline


def test_pipelined_local_epoch_gives_exactly_the_sequential_result(prepared):
    results = []
    for concurrent in (True, False):
        method = get_method_class("detachment")({**TINY_PARAMS, "mode": "local", "concurrent": concurrent})
        state, data, plan = method.prepare(make_model(), make_context(prepared))
        stats, timing = run_local_epoch(state, data.batches(plan[1]), concurrent=concurrent, stage_threads=(1, 1))
        results.append((state.model.state_dict(), stats, timing))
    (pipelined, stats_p, timing_p), (sequential, stats_s, _) = results
    assert all(torch.equal(pipelined[key], sequential[key]) for key in sequential)
    assert stats_p == pytest.approx(stats_s)
    # the classifier stage trained on batch t while the extractor stage already ran batch t+1
    assert timing_p["overlap_seconds"] > 0


def test_a_failing_classifier_stage_is_reported_not_hung(tiny_state, monkeypatch):
    _, state, data, plan = tiny_state

    def broken(h, task):
        raise RuntimeError("classifier stage broke")

    monkeypatch.setattr(state, "classifier_step", broken)
    with pytest.raises(RuntimeError, match="classifier stage broke"):
        run_local_epoch(state, data.batches(plan[1]), concurrent=True, stage_threads=(1, 1))
    assert torch.get_num_threads() == 1  # the caller's thread budget is restored


def test_club_is_zero_when_the_head_ignores_h_and_positive_when_it_reads_z():
    labels = torch.tensor([0, 1, 2, 3] * 8)
    blind = torch.randn(1, 4).expand(32, 4)
    assert club_upper_bound(blind, labels).item() == pytest.approx(0.0, abs=1e-6)
    reading = 5.0 * nn.functional.one_hot(labels, 4).float()
    assert club_upper_bound(reading, labels).item() > 3.0
    # minimised, it pulls the true z's log-likelihood down towards the average over z
    logits = reading.clone().requires_grad_()
    club_upper_bound(logits, labels).backward()
    assert (logits.grad.gather(1, labels[:, None]) > 0).all()  # a descent step lowers the true z's logit


def test_conditional_mmd_sees_a_difference_in_spread_that_the_class_mean_gap_misses():
    generator = torch.Generator().manual_seed(0)
    task = torch.arange(256) % 2
    z = (torch.arange(256) // 2) % 2
    h = torch.randn(256, 8, 2, 2, generator=generator)
    same = conditional_mmd(h, z, 2, task)
    spread = h * torch.where(z == 1, 3.0, 0.3)[:, None, None, None]
    assert class_mean_gap(spread, z, 2) < 0.2
    assert conditional_mmd(spread, z, 2, task) > 5 * same
    projection = torch.randn(32, 8, generator=generator)
    assert conditional_mmd(spread, z, 2, task, projection) > 5 * conditional_mmd(h, z, 2, task, projection)
    # one z value per task class: nothing to compare, no signal
    assert conditional_mmd(h, task, 2, task).item() == 0.0


def test_an_ensemble_of_adversaries_per_part_and_resets_in_turn(prepared):
    model = make_model()
    with torch.no_grad():
        h_shape = tuple(model.extractor(torch.zeros(2, 3, 16, 16)).shape[1:])
    params = {**get_method_class("detachment").DEFAULTS, **TINY_PARAMS, "adversaries": ["conv", "mlp"]}
    aux = build_auxiliary_networks(h_shape, 16, 4, [4, 2], params)
    assert aux.head_parts == [0, 0, 1, 1] and [head.classify.out_features for head in aux.attribute_heads] == [4, 4, 2, 2]
    assert len(aux.heads_of_part(1)) == 2
    optimizer = torch.optim.AdamW(aux.attribute_heads.parameters(), lr=1e-2)
    h = model.extractor(prepared.split_images("train")[:16].float() / 64)
    parts = [(prepared.split_labels("train", "color")[:16], 4), (prepared.split_labels("train", "background")[:16], 2)]
    weights = DetachmentWeights(1, 1, 1, 0.1, 1, head_reset_steps=2)
    fit_attribute_heads(h, parts, aux, optimizer, weights)
    fit_attribute_heads(h, parts, aux, optimizer, weights)
    first = parameters_of(aux.attribute_heads[0])
    others = [parameters_of(head) for head in aux.attribute_heads[1:]]
    reset_attribute_head(aux.attribute_heads[0], optimizer)  # what the third fit does first
    assert changed(first, aux.attribute_heads[0])
    assert all(p not in optimizer.state for p in aux.attribute_heads[0].parameters())
    assert all(not changed(before, head) for before, head in zip(others, aux.attribute_heads[1:], strict=True))


@pytest.mark.parametrize("mode", ["end_to_end", "local"])
def test_every_lever_on_in_each_mode(prepared, mode):
    model = make_model()
    original = copy.deepcopy(model)
    params = {
        **TINY_PARAMS,
        "mode": mode,
        "lambda_club": 1.0,
        "lambda_mmd": 1.0,
        "mmd_projection": 16,
        "adversaries": ["conv", "mlp"],
        "head_reset_steps": 2,
    }
    result = get_method_class("detachment")(params).unlearn(model, make_context(prepared, "color+background"))
    assert {"attribute_club", "attribute_mmd"} <= set(result.metrics)
    assert all(math.isfinite(v) for v in result.metrics.values())
    assert changed(parameters_of(original.extractor), model.extractor)


def test_the_papers_objective_is_the_suite_with_every_lever_off(prepared):
    paper = get_method_class("detachment").resolve_params(PAPER_OBJECTIVE)
    assert (
        paper["lambda_means"] == paper["lambda_club"] == paper["lambda_mmd"] == 0
        and paper["adversaries"] == ["conv"]
        and not paper["head_reset_steps"]
    )
    model = make_model()
    result = get_method_class("detachment")({**PAPER_OBJECTIVE, **TINY_PARAMS}).unlearn(model, make_context(prepared))
    assert "attribute_club" not in result.metrics and "attribute_mmd" not in result.metrics


# ---------------------------------------------------------------- the method


@pytest.mark.parametrize("mode, given_task", [("end_to_end", False), ("local", False), ("end_to_end", True), ("local", True)])
def test_tiny_unlearning_run_of_each_mode(prepared, mode, given_task):
    model = make_model()
    original = copy.deepcopy(model)
    method = get_method_class("detachment")({**TINY_PARAMS, "mode": mode, "means_given_task": given_task})
    result = method.unlearn(model, make_context(prepared, "color+background"))
    assert result.model is model and not model.training
    assert changed(parameters_of(original.extractor), model.extractor) and changed(parameters_of(original.classifier), model.classifier)
    expected = {
        "reconstruction_bce",
        "task_head_loss",
        "attribute_confusion",
        "attribute_mean_gap",
        "attribute_information",
        "attribute_head_accuracy",
        "task_loss",
        "epoch_seconds",
    }
    if mode == "local":
        expected |= {"extractor_stage_seconds", "classifier_stage_seconds", "speedup_ceiling", "overlap_fraction"}
    assert expected <= set(result.metrics)
    assert all(isinstance(v, float) and math.isfinite(v) for v in result.metrics.values())
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 16, 16)).shape == (2, 4)


def test_one_attribute_head_per_part_of_a_composite_attribute(prepared):
    method = get_method_class("detachment")(TINY_PARAMS)
    state, _, _ = method.prepare(make_model(), make_context(prepared, "color+background"))
    assert [head.classify.out_features for head in state.aux.attribute_heads] == [4, 2]


def test_same_seed_same_unlearned_model(prepared):
    models = []
    for _ in range(2):
        model = make_model()
        get_method_class("detachment")({**TINY_PARAMS, "warmup_epochs": 0}).unlearn(model, make_context(prepared))
        models.append(model.state_dict())
    assert all(torch.equal(models[0][k], models[1][k]) for k in models[0])


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"mode": "pipelined"}, "mode"),
        ({"epochs": -1}, "epochs"),
        ({"lambda_q": 1}, "lambda_q"),
        ({"adversaries": ["transformer"]}, "adversaries"),
        ({"lambda_mmd": -1}, "lambda_mmd"),
    ],
)
def test_bad_parameters_are_one_line_config_errors(params, fragment):
    with pytest.raises(ConfigError) as error:
        get_method_class("detachment")(params)
    assert fragment in str(error.value) and "\n" not in str(error.value)
