import math

import pandas as pd
import pytest

from attrunlearn_core.metrics import chance_given_task, chance_normalised_aum
from attrunlearn_core.statistics import t_interval, wilson_interval
from attrunlearn_core.summary import summarise_attacks, summarise_cells


def test_t_interval_matches_the_textbook_value():
    result = t_interval([0.80, 0.82, 0.84])
    assert result["mean"] == pytest.approx(0.82)
    assert result["std"] == pytest.approx(0.02)
    # t(0.975, 2) = 4.3027
    assert result["ci_high"] - result["mean"] == pytest.approx(4.3027 * 0.02 / math.sqrt(3), rel=1e-4)


def test_one_seed_has_no_interval():
    result = t_interval([0.5])
    assert result["mean"] == 0.5 and math.isnan(result["ci_low"]) and math.isnan(result["std"])


def test_wilson_interval_is_asymmetric_near_the_boundary_and_contains_the_estimate():
    low, high = wilson_interval(98, 100)
    assert low < 0.98 < high < 1.0
    assert high - 0.98 < 0.98 - low
    assert wilson_interval(50, 100)[0] == pytest.approx(0.4038, abs=1e-3)


def test_chance_given_task_is_the_weighted_majority_within_each_task_class():
    import torch

    task = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    attribute = torch.tensor([0, 0, 0, 1, 2, 2, 1, 1])  # within task 0: 3/4 share z=0; within task 1: 2/4
    assert chance_given_task(attribute, task) == pytest.approx(5 / 8)
    # when z decides y (CIFAR-10: the class decides living), it is at least as high as the plain majority rate
    assert chance_given_task(attribute, task) >= attribute.bincount().max().item() / len(attribute)


def test_cn_aum_counts_leakage_only_above_the_floor():
    assert chance_normalised_aum(0.2, 0.2, 1.0, 0.5) == pytest.approx(1.0)
    assert chance_normalised_aum(0.6, 0.2, 1.0, 0.5) < 1.0


def _cells(efficacies, still_climbing=(False, False, False)):
    return pd.DataFrame(
        [
            {
                "dataset": "d",
                "model": "m",
                "attribute": "a",
                "method": "x",
                "seed": seed,
                "method_name": "x",
                "fidelity": 0.9,
                "task_chance": 0.5,
                "efficacy": e,
                "efficacy_attacker": attacker,
                "chance": 0.25,
                "chance_given_task": 0.3,
                "efficacy_still_climbing": climbing,
                "aum": 0.5,
                "aum_chance_normalised": 0.6,
                "method_seconds": 1.0 + seed,
                "baseline_epochs": 10.0 + seed,
                "shuffled_efficacy": 0.26 + 0.01 * seed,
                "shuffled_flagged": flagged,
            }
            for seed, (e, attacker, climbing, flagged) in enumerate(
                zip(efficacies, ["mlp", "knn", "mlp"], still_climbing, ["", "knn,mlp", "mlp"], strict=True)
            )
        ]
    )


def test_summary_rows_carry_mean_std_and_interval_per_metric():
    summary = summarise_cells(_cells([0.8, 0.82, 0.84], (False, True, False)))
    row = summary.iloc[0]
    assert row["n_seeds"] == 3 and row["efficacy_attacker"] == "mlp" and bool(row["efficacy_still_climbing"])
    assert row["efficacy_mean"] == pytest.approx(0.82)
    assert row["efficacy_ci_low"] < row["efficacy_mean"] < row["efficacy_ci_high"]
    assert row["fidelity_std"] == pytest.approx(0.0) and row["method_seconds_mean"] == pytest.approx(2.0)
    assert row["baseline_epochs_mean"] == pytest.approx(11.0)
    assert row["shuffled_efficacy_mean"] == pytest.approx(0.27) and row["shuffled_flagged"] == "knn,mlp"  # any seed's flags


def test_attack_summary_pools_test_predictions_for_wilson():
    attacks = pd.DataFrame(
        [
            {
                "dataset": "d",
                "model": "m",
                "attribute": "a",
                "method": "x",
                "seed": s,
                "site": "split",
                "attacker": "mlp",
                "pool_fraction": 1.0,
                "accuracy": k / 100,
                "num_correct": k,
                "num_test": 100,
            }
            for s, k in enumerate([70, 80, 90])
        ]
    )
    row = summarise_attacks(attacks).iloc[0]
    assert row["num_test"] == 300 and row["accuracy_mean"] == pytest.approx(0.8)
    assert (row["wilson_low"], row["wilson_high"]) == pytest.approx(wilson_interval(240, 300))


def test_reference_table_is_generated_from_the_summary_into_the_readme_block(tmp_path):
    from attrunlearn_core.reference_table import markdown_table, replace_section

    summary = summarise_cells(_cells([0.8, 0.82, 0.84]))
    table = markdown_table(summary, "test machine")
    assert "| x | 0.900 ± 0.000 | 0.820 ± 0.050 |" in table and "3 seeds" in table and "test machine" in table
    readme = tmp_path / "README.md"
    readme.write_text("intro\n<!-- reference:default -->\nold\n<!-- /reference:default -->\nrest\n")
    replace_section(readme, "default", table)
    text = readme.read_text()
    assert "old" not in text and table in text and text.endswith("rest\n")


def test_attacker_table_marks_only_the_attacker_whose_interval_lies_above_chance():
    from attrunlearn_core.reference_table import attacker_table

    rows = []
    for seed in range(3):
        for attacker, correct in (("linear", 160), ("mlp", 450)):  # 600 test images, chance 0.25: 0.267 is noise, 0.75 is not
            rows.append(
                {
                    "dataset": "d",
                    "model": "m",
                    "attribute": "z",
                    "method": "original",
                    "seed": seed,
                    "site": "split",
                    "attacker": attacker,
                    "pool_fraction": 1.0,
                    "accuracy": correct / 600,
                    "num_correct": correct,
                    "num_test": 600,
                    "chance": 0.25,
                }
            )
    table = attacker_table(pd.DataFrame(rows), "test machine")
    assert "| original | 0.267 | 0.750 !3/3 |" in table
    assert "Bonferroni over the row's 2 readings" in table and "chance 0.250" in table


def test_sweep_reference_table_is_a_grid_over_the_lambdas():
    from attrunlearn_core.config import sweep_method_name
    from attrunlearn_core.reference_table import sweep_table

    rows = [
        {
            "method": sweep_method_name("d", {"lambda_x": lx, "lambda_y": 1.0, "lambda_z": lz}),
            "aum_mean": lx + lz,
            "efficacy_mean": 0.9,
            "fidelity_mean": 0.8,
        }
        for lx in (0.1, 1.0)
        for lz in (0.01, 0.1)
    ]
    rows.append({"method": "original", "aum_mean": 0.0, "efficacy_mean": 1.0, "fidelity_mean": 0.8})
    summary = pd.DataFrame(rows).assign(dataset="embedded", model="resnet18", attribute="color", n_seeds=1)
    table = sweep_table(summary, "test machine")
    assert "| λ1 (lambda_x) | λ2 (lambda_y) | λ3 (lambda_z) = 0.01 | λ3 (lambda_z) = 0.1 |" in table
    assert "| 1 | 1 | 1.010 (0.900 / 0.800) | 1.100 (0.900 / 0.800) |" in table
    assert "original" not in table and "1 seed(s)" in table
