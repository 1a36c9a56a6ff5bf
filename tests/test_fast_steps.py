"""The GPU step options (bf16 autocast, channels_last, fused AdamW, static shapes): off on a CPU, so the CPU path
keeps its results; forced on, on a CPU, each still trains, and each changes what it says it changes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from helpers import tiny_embedded_prepared
from torch import nn

from attrunlearn_core.datasets.embedded import load_embedded
from attrunlearn_core.divergence import check_finite
from attrunlearn_core.errors import DivergenceError
from attrunlearn_core.fast_steps import FastSteps
from attrunlearn_core.models import build_split_model
from attrunlearn_core.training import TrainingRecipe, batches, random_hflip, to_input, train_one_epoch

CPU = torch.device("cpu")
RECIPE = TrainingRecipe(epochs=1, batch_size=24, lr=2e-3, weight_decay=0.0)


def _data():
    data = load_embedded(None, 16, 100, np.random.default_rng(0), {})  # 100 images: batches of 24 leave 4 over
    return data.images, torch.as_tensor(data.labels["shape"])


def _model():
    torch.manual_seed(0)
    return build_split_model("resnet18", 4)


def _small_cnn():
    """A few convolutions with batch norm: bf16 convolutions are slow on a CPU, and the options act the same here."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 4),
    )


def _reference_epoch(model, optimizer, images, targets, recipe, generator):
    """The loop as it was before the GPU options: a masked flip, a host read and a check at every step."""
    model.train()
    order = torch.randperm(len(images), generator=generator)
    for start in range(0, len(images), recipe.batch_size):
        index = order[start : start + recipe.batch_size]
        batch = images[index]
        flip = torch.rand(batch.shape[0], generator=generator) < 0.5
        batch = batch.clone()
        batch[flip] = batch[flip].flip(-1)
        loss = nn.functional.cross_entropy(model(to_input(batch, CPU)), targets[index])
        check_finite(loss, "reference")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def test_every_option_is_off_on_a_cpu_and_on_on_a_gpu():
    assert FastSteps.for_device(CPU) == FastSteps()
    assert FastSteps.for_device(torch.device("cuda")) == FastSteps(True, True, True, True)


def test_on_a_cpu_an_epoch_gives_exactly_the_weights_the_loop_gave_before():
    images, targets = _data()
    model, reference = _model(), _model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=RECIPE.lr, weight_decay=0.0)
    reference_optimizer = torch.optim.AdamW(reference.parameters(), lr=RECIPE.lr, weight_decay=0.0)
    train_one_epoch(model, optimizer, images, targets, RECIPE, torch.Generator().manual_seed(3), CPU)
    _reference_epoch(reference, reference_optimizer, images, targets, RECIPE, torch.Generator().manual_seed(3))
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), reference.state_dict().values(), strict=True))


def test_the_flip_as_a_selection_mirrors_exactly_the_drawn_images():
    batch = torch.arange(2 * 3 * 2 * 4, dtype=torch.uint8).view(2, 3, 2, 4)
    flipped = random_hflip(batch, torch.Generator().manual_seed(0))
    drawn = torch.rand(2, generator=torch.Generator().manual_seed(0)) < 0.5
    for i in range(2):
        assert torch.equal(flipped[i], batch[i].flip(-1) if drawn[i] else batch[i])


def test_static_shapes_drop_the_last_partial_batch_unless_it_is_the_only_one():
    sizes = [len(b) for b in batches(100, 24, torch.Generator().manual_seed(0), drop_last=True)]
    assert sizes == [24, 24, 24, 24]
    assert [len(b) for b in batches(100, 24, torch.Generator().manual_seed(0))] == [24, 24, 24, 24, 4]
    assert [len(b) for b in batches(10, 24, None, drop_last=True)] == [10]


@pytest.mark.parametrize("option", ["bf16", "channels_last", "fused", "static_shapes"])
def test_each_option_forced_on_a_cpu_still_trains_and_changes_the_run(option):
    images, targets = _data()
    fast = FastSteps(**{option: True})
    plain, model = _small_cnn(), fast.model(_small_cnn())
    runs = []
    for net, options in ((plain, FastSteps()), (model, fast)):
        optimizer = options.adamw(net.parameters(), lr=RECIPE.lr, weight_decay=0.0)
        losses = [train_one_epoch(net, optimizer, images, targets, RECIPE, torch.Generator().manual_seed(1), CPU, fast=options) for _ in range(3)]
        steps = int(next(iter(optimizer.state.values()))["step"])
        runs.append((losses, steps))
    (plain_losses, plain_steps), (losses, steps) = runs
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]  # it learns ...
    assert losses[-1] < 1.5 * plain_losses[-1]  # ... about as well as without the option
    assert steps == (12 if option == "static_shapes" else 15) and plain_steps == 15  # 3 epochs of 4 (or 5) steps
    if option == "channels_last":
        conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size[0] > 1)
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
        assert not conv.weight.is_contiguous()
    else:
        assert losses != plain_losses  # the option took effect (other arithmetic, or fewer steps)


def test_a_non_finite_loss_read_at_the_epochs_end_still_names_its_step():
    images, targets = _data()
    model = _model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e30)
    recipe = dataclasses.replace(RECIPE, lr=1e30)
    with pytest.raises(DivergenceError, match=r"training diverged: loss is nan at epoch 1 step \d+"):
        for _ in range(3):
            train_one_epoch(model, optimizer, images, targets, recipe, torch.Generator().manual_seed(0), CPU, desc="epoch 1")


@pytest.mark.parametrize("mode", ["end_to_end", "local"])
def test_detachment_steps_take_the_options_and_run_forced_on_a_cpu(mode):
    from attrunlearn_core.methods import UnlearningContext, get_method_class
    from attrunlearn_core.seeding import seed_everything

    prepared = tiny_embedded_prepared(0)
    params = {"mode": mode, "epochs": 1, "warmup_epochs": 1, "batch_size": 16, "head_hidden": 16, "embedding_dim": 8, "probe_steps": 0}
    results = []
    for fast in (None, FastSteps(bf16=True, channels_last=True)):
        torch.manual_seed(0)
        model = build_split_model("resnet18", 4, "layer2")
        context = UnlearningContext(prepared, "shape", "color", TrainingRecipe(epochs=1, batch_size=16), CPU, seed_everything(5), 5)
        method = get_method_class("detachment")(params)
        state, split, plan = method.prepare(model, context)
        assert state.fast == FastSteps()  # on a CPU every option is off
        if fast is not None:
            state.fast = fast
            fast.model(model)
        for steps in plan:
            stats, _ = method.run_epoch(state, split.batches(steps))
        results.append(stats)
    plain, forced = results
    assert all(np.isfinite(value) for value in forced.values())
    assert forced["task_loss"] != plain["task_loss"]  # bf16 took effect


def test_a_drawn_plan_keeps_its_full_batches_and_draws():
    from attrunlearn_core.detachment.batch_plan import full_batches_only, plan_epochs

    plan = plan_epochs(100, 24, 2, True, torch.Generator().manual_seed(0))
    static = full_batches_only(plan, 24)
    assert [[len(step.index) for step in steps] for steps in static] == [[24] * 4, [24] * 4]
    assert all(a is b for steps, kept in zip(plan, static, strict=True) for a, b in zip(steps, kept, strict=False))  # the same steps, same draws
    lone = plan_epochs(10, 24, 1, False, torch.Generator().manual_seed(0))
    assert full_batches_only(lone, 24) == lone  # an epoch of one partial batch keeps it
