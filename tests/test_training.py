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
