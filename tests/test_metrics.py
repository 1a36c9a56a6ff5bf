import math

import pytest
import torch

from attrunlearn_core.metrics import aum, chance_normalised_aum, harmonic_mean, majority_rate

# (efficacy, fidelity, AUM) triples printed in Table 1 of Guo et al.; our AUM must reproduce each.
PAPER_TABLE_1 = [
    (0.1421, 0.5810, 0.6928),
    (0.1352, 0.7950, 0.8284),
    (0.3107, 0.8330, 0.7544),
    (0.1325, 0.5801, 0.6953),
    (0.1350, 0.7988, 0.8306),
    (0.2844, 0.8340, 0.7703),
    (0.1367, 0.5730, 0.6889),
    (0.1365, 0.8077, 0.8347),
    (0.2977, 0.8470, 0.7679),
    (0.4989, 0.5010, 0.5144),
    (0.5142, 0.7830, 0.5994),
    (0.6391, 0.7901, 0.4955),
    (0.5077, 0.5010, 0.4966),
    (0.5035, 0.7930, 0.6107),
    (0.6010, 0.8032, 0.5332),
    (0.4976, 0.5110, 0.5067),
    (0.5082, 0.8101, 0.6120),
    (0.6572, 0.8121, 0.4821),
    (0.1030, 0.5443, 0.6775),
    (0.1095, 0.9351, 0.9123),
    (0.2668, 0.9610, 0.8318),
    (0.1010, 0.5070, 0.6484),
    (0.1057, 0.9360, 0.9147),
    (0.2357, 0.9632, 0.8523),
    (0.0993, 0.5130, 0.6537),
    (0.0982, 0.9452, 0.9230),
    (0.3226, 0.9681, 0.7971),
]

# CelebA/ResNet18 baseline-2: HM(1 - 0.4989, 0.5010) = 0.5010 but 0.5144 is printed, a misprint in the paper
# (the other 26 rows agree to 4 decimals); strict xfail keeps that claim checked.
PAPER_MISPRINTS = {(0.4989, 0.5010, 0.5144)}


@pytest.mark.parametrize(
    "efficacy,fidelity,expected",
    [
        pytest.param(*row, marks=pytest.mark.xfail(strict=True, reason="printed AUM inconsistent with its own efficacy/fidelity"))
        if row in PAPER_MISPRINTS
        else row
        for row in PAPER_TABLE_1
    ],
)
def test_aum_reproduces_paper_table_1(efficacy, fidelity, expected):
    assert aum(efficacy, fidelity) == pytest.approx(expected, abs=5e-4)


def test_harmonic_mean_edges():
    assert harmonic_mean(0.0, 0.0) == 0.0
    assert harmonic_mean(1.0, 1.0) == 1.0
    assert harmonic_mean(0.5, 1.0) == pytest.approx(2 / 3)


def test_majority_rate_is_chance_level():
    assert majority_rate(torch.tensor([0, 0, 0, 1])) == 0.75
    assert math.isnan(majority_rate(torch.tensor([], dtype=torch.long)))


def test_chance_normalised_aum_is_one_at_chance_leakage_and_perfect_task():
    assert chance_normalised_aum(0.5, 0.5, 1.0, 0.25) == 1.0
    assert chance_normalised_aum(1.0, 0.5, 1.0, 0.25) == 0.0
    assert chance_normalised_aum(0.5, 0.5, 0.25, 0.25) == 0.0
    # Below-chance efficacy counts as no leakage, not as a bonus.
    assert chance_normalised_aum(0.3, 0.5, 1.0, 0.25) == 1.0


def test_chance_normalised_aum_compares_binary_and_multiclass_fairly():
    # Same relative leakage (halfway between chance and perfect) gives the same score.
    binary = chance_normalised_aum(0.75, 0.5, 0.9, 0.5)
    tenway = chance_normalised_aum(0.55, 0.1, 0.9, 0.5)
    assert binary == pytest.approx(tenway)
    assert aum(0.75, 0.9) < aum(0.55, 0.9)
