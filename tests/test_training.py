import numpy as np
import pytest
import torch

from attrunlearn_core import training
from attrunlearn_core.datasets.embedded import load_embedded
from attrunlearn_core.models import build_split_model
from attrunlearn_core.training import TrainingRecipe

RECIPE = TrainingRecipe(epochs=2, batch_size=32, lr=1e-3)


def _data():
    data = load_embedded(None, 16, 64, np.random.default_rng(0), {})
    return data.images, torch.as_tensor(data.labels["shape"])


def _train(epochs, resume=None, seed=0):
    torch.manual_seed(seed)
    model = build_split_model("resnet18", 4)
    images, labels = _data()
    recipe = TrainingRecipe(epochs=epochs, batch_size=32, lr=1e-3)
    training.fit_classifier(model, images, labels, recipe, torch.Generator().manual_seed(seed), torch.device("cpu"), resume, {"id": 1})
    return model


def _same(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_training_is_deterministic_in_the_seed():
    assert _same(_train(1), _train(1))
    assert not _same(_train(1), _train(1, seed=1))


def test_a_killed_run_resumes_from_its_last_epoch(tmp_path, monkeypatch):
    resume = tmp_path / "model.pt.inprogress"
    real_epoch, calls = training.train_one_epoch, []

    def dies_in_second_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("killed")
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(training, "train_one_epoch", dies_in_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        _train(2, resume)
    assert torch.load(resume, weights_only=False)["epoch"] == 1
    monkeypatch.setattr(training, "train_one_epoch", real_epoch)
    resumed = _train(2, resume)
    assert torch.load(resume, weights_only=False)["epoch"] == 2
    assert _same(resumed, _train(2))


def _train_to_plateau(resume=None, patience=1, epochs=6):
    torch.manual_seed(0)
    model = build_split_model("resnet18", 4)
    images, labels = _data()
    recipe = TrainingRecipe(epochs=epochs, batch_size=32, lr=1e-3, patience=patience, validation_fraction=0.25)
    generator = torch.Generator().manual_seed(0)
    return model, training.fit_classifier(model, images, labels, recipe, generator, torch.device("cpu"), resume, {"id": 2})[2]


def test_the_validation_slice_is_part_of_the_training_images_and_disjoint_from_what_is_fitted():
    fit, held_out = training.validation_slice(40, 0.1, torch.Generator().manual_seed(0))
    assert len(held_out) == 4 and len(fit) == 36
    assert sorted(torch.cat([fit, held_out]).tolist()) == list(range(40))


def test_training_stops_once_validation_accuracy_stops_improving_and_keeps_the_best_epoch(monkeypatch):
    # Validation accuracy made to peak at epoch 2: with patience 2 training stops after epoch 4 and keeps epoch 2's weights.
    scores, states = iter([0.5, 0.9, 0.8, 0.9, 1.0, 1.0]), []
    real_accuracy = training.accuracy

    def scripted(model, images, targets, device):
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        real_accuracy(model, images, targets, device)
        return next(scores)

    monkeypatch.setattr(training, "accuracy", scripted)
    model, outcome = _train_to_plateau(patience=2)
    assert (outcome.epochs, outcome.best_epoch, outcome.validation_accuracy) == (4, 2, 0.9)
    assert all(torch.equal(value, states[1][key]) for key, value in model.state_dict().items())
    assert len(states) == 4


def test_no_stop_before_half_the_budget_while_the_one_cycle_rate_is_still_high(monkeypatch):
    # Accuracy peaks in the first epoch: patience 1 alone would stop after epoch 2; the budget of 6 holds it to epoch 3.
    scores = iter([0.9, 0.5, 0.5, 0.5, 0.5, 0.5])
    monkeypatch.setattr(training, "accuracy", lambda *args: next(scores))
    _, outcome = _train_to_plateau(patience=1, epochs=6)
    assert (outcome.epochs, outcome.best_epoch) == (3, 1)


def test_without_patience_every_epoch_is_trained():
    _, outcome = _train_to_plateau(patience=0, epochs=2)
    assert (outcome.epochs, outcome.best_epoch, outcome.validation_accuracy) == (2, 2, None)


def test_a_killed_run_resumes_its_plateau_search_where_it_stopped(tmp_path, monkeypatch):
    resume = tmp_path / "model.pt.inprogress"
    real_epoch, calls = training.train_one_epoch, []

    def dies_in_third_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt("killed")
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(training, "train_one_epoch", dies_in_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        _train_to_plateau(resume, patience=3, epochs=4)
    assert torch.load(resume, weights_only=False)["epoch"] == 2
    monkeypatch.setattr(training, "train_one_epoch", real_epoch)
    resumed, resumed_outcome = _train_to_plateau(resume, patience=3, epochs=4)
    uninterrupted, outcome = _train_to_plateau(patience=3, epochs=4)
    assert resumed_outcome == outcome
    assert _same(resumed, uninterrupted)
