"""The verdict block: read from a cells table, never typed by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from attrunlearn_core.reference_table import replace_section
from attrunlearn_core.verdict import grid_verdicts, markdown

CHANCE_GIVEN_TASK = 0.30


def _cells(efficacy: dict[str, list[float]], fidelity: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for method, values in efficacy.items():
        for seed, value in enumerate(values):
            rows.append(
                {
                    "dataset": "embedded",
                    "model": "resnet18",
                    "attribute": "color",
                    "method": method,
                    "method_name": method.split("_")[0],
                    "seed": seed,
                    "fidelity": fidelity[method][seed],
                    "efficacy": value,
                    "efficacy_attacker": "conv",
                    "chance": 0.28,
                    "chance_given_task": CHANCE_GIVEN_TASK,
                }
            )
    return pd.DataFrame(rows)


EFFICACY = {
    "original": [0.99, 0.99, 0.99],
    "finetune": [0.95, 0.80, 0.90],
    "detachment_local": [0.85, 0.70, 0.80],  # 0.10 below the control on every seed
    "adversarial": [0.90, 0.78, 0.86],
    "hsic": [0.35, 0.36, 0.37],  # removes most, but loses the task
}
FIDELITY = {
    "original": [0.90, 0.90, 0.90],
    "finetune": [0.99, 0.99, 0.99],
    "detachment_local": [0.98, 0.97, 0.99],
    "adversarial": [0.97, 0.96, 0.98],
    "hsic": [0.80, 0.82, 0.81],
}


def test_the_best_remover_at_equal_fidelity_with_paired_differences():
    (verdict,) = grid_verdicts(_cells(EFFICACY, FIDELITY))
    assert [r.method for r in verdict.within] == ["detachment_local", "adversarial"]
    assert [r.method for r in verdict.outside] == ["hsic"]
    # paired by seed the difference is exactly -0.10 on every seed, though the seeds' levels differ by 0.15
    assert verdict.best_vs_control.mean == pytest.approx(-0.10)
    assert verdict.best_vs_control.high - verdict.best_vs_control.low == pytest.approx(0.0, abs=1e-9)
    assert verdict.best_vs_runner_up.mean == pytest.approx((-0.05 - 0.08 - 0.06) / 3)
    assert verdict.target == pytest.approx(CHANCE_GIVEN_TASK + 0.10)
    text = markdown([verdict], "data seed 0 of `config.yaml`")
    assert "`detachment_local` removes most" in text
    assert "-0.100 ± 0.000 against the control" in text
    assert "stays 0.383 above it" in text  # 0.7833 against 0.40
    assert "`hsic` (fidelity 0.810" in text and "data seed 0 of `config.yaml`" in text


def test_a_method_under_the_target_at_equal_fidelity_is_said_to_reach_it():
    efficacy = dict(EFFICACY, adversarial=[0.33, 0.34, 0.35])
    (verdict,) = grid_verdicts(_cells(efficacy, FIDELITY))
    assert verdict.best.method == "adversarial"
    assert "reaches it (its whole interval below)" in markdown([verdict], "test data")


def test_without_the_fine_tune_control_it_names_the_table():
    efficacy = {name: values for name, values in EFFICACY.items() if name != "finetune"}
    with pytest.raises(SystemExit, match="cells.parquet: embedded × resnet18 × color has no fine-tune control"):
        grid_verdicts(_cells(efficacy, FIDELITY), "results/x/tables/cells.parquet")


def test_the_verdict_replaces_only_its_block(tmp_path):
    readme = tmp_path / "README.md"
    reference = "<!-- reference:default -->\nkept\n<!-- /reference:default -->\n"
    readme.write_text("before\n<!-- verdict:default -->\nold\n<!-- /verdict:default -->\n" + reference)
    replace_section(readme, "default", "new\n", tag="verdict")
    assert readme.read_text() == "before\n<!-- verdict:default -->\nnew\n<!-- /verdict:default -->\n" + reference


def test_a_missing_unreadable_or_foreign_table_is_one_line_naming_the_file(tmp_path):
    from attrunlearn_core.reference_table import read_table

    with pytest.raises(SystemExit, match=r"missing\.parquet: no such table"):
        read_table(tmp_path / "missing.parquet", ["method"])
    text = tmp_path / "cells.parquet"
    text.write_text("not parquet\n")
    with pytest.raises(SystemExit, match=r"cells\.parquet: not a readable Parquet table"):
        read_table(text, ["method"])
    foreign = tmp_path / "summary.parquet"
    pd.DataFrame({"method": ["x"]}).to_parquet(foreign)
    with pytest.raises(SystemExit, match=r"summary\.parquet: no column efficacy, seed"):
        read_table(foreign, ["method", "efficacy", "seed"])
