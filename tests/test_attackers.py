import math

import pytest
import torch

from attrunlearn_core.attackers import attackers_for, get_attacker_class, list_attackers
from attrunlearn_core.attackers.base import AttackerRecipe
from attrunlearn_core.attackers.pool import pool_subset
from attrunlearn_core.divergence import DivergenceError

RECIPE = AttackerRecipe(max_epochs=40, patience=10, batch_size=32, lr=1e-2, hidden=32, max_components=16)
CPU = torch.device("cpu")


def _data(signal: float, n=400, shape=(8, 2, 2), seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.randint(0, 3, (n,), generator=g)
    x = torch.randn(n, *shape, generator=g)
    x[:, 0] += signal * z.view(-1, 1, 1).float()
    return x, z


# A ResNet18 over 40 epochs costs minutes on 2 cores; it learns these 2x2 maps in a few epochs or not at all.
SHORT_FOR = {"resnet": AttackerRecipe(max_epochs=8, patience=3, batch_size=32, lr=1e-2, hidden=32, max_components=16)}


def _score(name, x, z, recipe=None, seed=0):
    recipe = recipe or SHORT_FOR.get(name, RECIPE)
    pool = pool_subset(x[:300], z[:300], 1.0, 0.15, 3, torch.Generator().manual_seed(seed))
    attacker = get_attacker_class(name)(recipe, seed, CPU).fit(pool)
    return (attacker.predict(x[300:]) == z[300:]).float().mean().item(), attacker


@pytest.mark.parametrize("name", list_attackers())
def test_every_attacker_recovers_a_plainly_encoded_attribute(name):
    accuracy, _ = _score(name, *_data(6.0))
    assert accuracy > 0.9


@pytest.mark.parametrize("name", list_attackers())
def test_every_attacker_stays_near_chance_when_features_carry_nothing(name):
    accuracy, _ = _score(name, *_data(0.0))
    assert accuracy < 0.34 + 0.15


def test_the_attribute_hidden_in_a_low_variance_direction_is_still_found():
    # An unlearner may push z into a direction of tiny variance: standardising per feature exposes it again.
    g = torch.Generator().manual_seed(1)
    z = torch.randint(0, 3, (400,), generator=g)
    x = 10.0 * torch.randn(400, 8, 2, 2, generator=g)
    x[:, 3, 0, 0] = 1e-3 * z.float() + 1e-5 * torch.randn(400, generator=g)
    for name in ("logreg", "mlp"):
        accuracy, _ = _score(name, x, z, recipe=AttackerRecipe(max_epochs=40, patience=10, batch_size=32, lr=1e-2, hidden=32, max_components=64))
        assert accuracy > 0.9, name


def test_neural_attackers_stop_when_validation_accuracy_stops_improving():
    recipe = AttackerRecipe(max_epochs=500, patience=3, batch_size=32, lr=1e-2, hidden=32)
    _, attacker = _score("mlp", *_data(6.0), recipe=recipe)
    assert 1 <= attacker.best_epoch < 500
    assert attacker.validation_accuracy > 0.9


def test_scikit_attackers_choose_their_hyper_parameter_by_cross_validation_on_the_pool():
    _, attacker = _score("knn", *_data(1.0))
    assert attacker.chosen()["n_neighbors"] in get_attacker_class("knn").grid["n_neighbors"]
    assert 0.0 < attacker.validation_accuracy <= 1.0


def test_pool_subsets_hold_out_a_validation_slice_and_halve_on_request():
    x, z = _data(1.0, n=200)
    full = pool_subset(x, z, 1.0, 0.2, 3, torch.Generator().manual_seed(0))
    half = pool_subset(x, z, 0.5, 0.2, 3, torch.Generator().manual_seed(0))
    assert (len(full.fit_z), len(full.val_z)) == (160, 40)
    assert (len(half.fit_z), len(half.val_z)) == (80, 20)


def test_map_attackers_need_a_spatial_map():
    assert attackers_for((128, 4, 4), ["linear", "resnet", "conv", "logreg"]) == ["linear", "resnet", "conv", "logreg"]
    assert attackers_for((512,), ["linear", "resnet", "conv", "logreg"]) == ["linear", "logreg"]


def test_a_diverging_attacker_stops_with_one_line_naming_it():
    x, z = _data(6.0)
    x[5] = math.nan
    with pytest.raises(DivergenceError, match=r"loss is nan at attacker mlp, epoch 1, step \d+"):
        _score("mlp", x, z)


def test_scikit_attackers_cope_with_fewer_pool_pairs_than_pca_components():
    x, z = _data(6.0, n=400, shape=(64, 2, 2))  # 256 features, 255 pool pairs
    pool = pool_subset(x[:300], z[:300], 0.85, 0.15, 3, torch.Generator().manual_seed(0))
    attacker = get_attacker_class("logreg")(AttackerRecipe(max_components=256), 0, CPU).fit(pool)
    assert (attacker.predict(x[300:]) == z[300:]).float().mean() > 0.6  # well above the 0.34 chance
