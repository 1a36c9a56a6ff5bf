"""The summary figures and HTML tables, drawn from synthetic frames in issue 9's table contract."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from attrunlearn_core.errors import AttrUnlearnError
from attrunlearn_core.figures.attacker_accuracy import attacker_accuracy_figure
from attrunlearn_core.figures.attacker_pool import attacker_pool_figure
from attrunlearn_core.figures.common import save_figure
from attrunlearn_core.figures.draw import draw_summary_figure
from attrunlearn_core.figures.html_table import frame_html, summary_view
from attrunlearn_core.figures.trade_off import trade_off_figure

METHODS = {"original": "original", "detachment_local": "detachment", "leace": "leace"}
ATTRIBUTES = {"color": (0.28, 0.31), "background": (0.5, math.nan)}  # chance, chance given task
ATTACKERS = ["linear", "mlp", "resnet"]


def summary_frame(n_seeds: int = 3) -> pd.DataFrame:
    rows = []
    for dataset in ("embedded", "cifar10"):
        for attribute, (chance, given_task) in ATTRIBUTES.items():
            for k, (method, method_name) in enumerate(METHODS.items()):
                row = {
                    "dataset": dataset,
                    "model": "resnet18",
                    "attribute": attribute,
                    "method": method,
                    "method_name": method_name,
                    "n_seeds": n_seeds,
                    "chance": chance,
                    "chance_given_task": given_task,
                    "task_chance": 0.25,
                    "efficacy_attacker": "mlp",
                    "efficacy_still_climbing": False,
                }
                for metric, mean in (
                    ("fidelity", 0.80 - 0.02 * k),
                    ("efficacy", 0.95 - 0.2 * k),
                    ("aum", 0.1 + 0.2 * k),
                    ("aum_chance_normalised", 0.1 + 0.2 * k),
                    ("method_seconds", 10.0 * k),
                ):
                    half = 0.03 if n_seeds > 1 else math.nan
                    row |= {f"{metric}_mean": mean, f"{metric}_std": half, f"{metric}_ci_low": mean - half, f"{metric}_ci_high": mean + half}
                rows.append(row)
    return pd.DataFrame(rows)


def attack_summary_frame(pools=(0.5, 1.0), n_seeds: int = 3) -> pd.DataFrame:
    rows = []
    for dataset in ("embedded", "cifar10"):
        for attribute in ATTRIBUTES:
            for k, method in enumerate(METHODS):
                for a, attacker in enumerate(ATTACKERS):
                    for site in ("split", "penultimate"):
                        for pool in pools:
                            accuracy = 0.9 - 0.2 * k - 0.05 * a - (0.04 if pool == 0.5 else 0.0)
                            ci = 0.02 if n_seeds > 1 else math.nan
                            rows.append(
                                {
                                    "dataset": dataset,
                                    "model": "resnet18",
                                    "attribute": attribute,
                                    "method": method,
                                    "site": site,
                                    "attacker": attacker,
                                    "pool_fraction": pool,
                                    "n_seeds": n_seeds,
                                    "accuracy_mean": accuracy,
                                    "accuracy_std": ci,
                                    "accuracy_ci_low": accuracy - ci,
                                    "accuracy_ci_high": accuracy + ci,
                                    "wilson_low": accuracy - 0.01,
                                    "wilson_high": accuracy + 0.01,
                                    "num_test": 600 * n_seeds,
                                }
                            )
    return pd.DataFrame(rows)


def legend_labels(figure) -> list[str]:
    return [text.get_text() for text in figure.legends[0].get_texts()]


def vertical_lines_at(ax) -> set[float]:
    return {round(float(line.get_xdata()[0]), 6) for line in ax.get_lines() if len(set(line.get_xdata())) == 1 and len(line.get_xdata()) == 2}


def test_trade_off_has_a_panel_per_attribute_with_chance_lines_and_baseline_marked():
    summary = summary_frame()
    figure = trade_off_figure(summary, "embedded")
    assert len(figure.axes) == 2  # one model x two attributes
    color, background = figure.axes
    assert color.get_title() == "embedded · resnet18 · unlearning color"
    assert "%" in color.get_xlabel() and "attacker accuracy" in color.get_xlabel() and "%" in color.get_ylabel() and "fidelity" in color.get_ylabel()
    assert vertical_lines_at(color) == {28.0, 31.0}  # chance and chance given the task, in percent
    assert vertical_lines_at(background) == {50.0}  # no chance-given-task line where it is unknown
    labels = legend_labels(figure)
    assert labels[:3] == ["original (baseline-1)", "detachment_local", "leace"]
    assert {"chance: majority z", "chance given the task", "task chance: majority y"} <= set(labels)
    assert any(text.get_text() == "baseline-1" for text in color.texts)
    # The point sits at the means, the error bar spans the 95 % interval (in percent).
    detachment = summary[(summary["dataset"] == "embedded") & (summary["attribute"] == "color") & (summary["method"] == "detachment_local")].iloc[0]
    container = next(c for c in color.containers if c.get_label() == "detachment_local")
    data_line, _, (x_bar, y_bar) = container.lines
    assert np.allclose(data_line.get_xydata()[0], [100 * detachment["efficacy_mean"], 100 * detachment["fidelity_mean"]])
    assert np.allclose(sorted(x_bar.get_segments()[0][:, 0]), [100 * detachment["efficacy_ci_low"], 100 * detachment["efficacy_ci_high"]])
    assert np.allclose(sorted(y_bar.get_segments()[0][:, 1]), [100 * detachment["fidelity_ci_low"], 100 * detachment["fidelity_ci_high"]])


def test_a_swept_method_is_one_front_in_the_order_of_its_values_beside_the_fine_tune_control():
    summary = summary_frame()
    template = summary[(summary["dataset"] == "embedded") & (summary["attribute"] == "color")].iloc[0]
    # the sweep's points arrive out of order; a larger weight hides more and keeps less of the task
    points = {
        "finetune": ("finetune", 0.9, 0.99),
        "hsic__weight=10": ("hsic", 0.5, 0.8),
        "hsic__weight=1": ("hsic", 0.8, 0.95),
        "hsic__weight=3": ("hsic", 0.6, 0.9),
    }
    extra = []
    for method, (method_name, efficacy, fidelity) in points.items():
        row = template.copy()
        row["method"], row["method_name"] = method, method_name
        for metric, mean in (("efficacy", efficacy), ("fidelity", fidelity)):
            row[f"{metric}_mean"], row[f"{metric}_ci_low"], row[f"{metric}_ci_high"] = mean, mean - 0.02, mean + 0.02
        extra.append(row)
    figure = trade_off_figure(pd.concat([summary, pd.DataFrame(extra)], ignore_index=True), "embedded")
    color = figure.axes[0]
    labels = legend_labels(figure)
    assert labels.count("hsic: weight front") == 1 and not any(label.startswith("hsic__") for label in labels)
    fronts = [line for line in color.get_lines() if len(line.get_xdata()) == 3]
    assert len(fronts) == 1
    assert np.allclose(fronts[0].get_xydata(), [[80, 95], [60, 90], [50, 80]])  # weight 1, 3, 10
    texts = {text.get_text() for text in color.texts}
    assert {"1", "3", "10", "fine-tune control", "baseline-1"} <= texts
    control = next(c for c in color.containers if c.get_label() == "finetune")
    assert control.lines[0].get_marker() == "D"


def test_one_seed_draws_points_without_error_bars():
    figure = trade_off_figure(summary_frame(n_seeds=1), "cifar10")
    segments = [s for c in figure.axes[0].collections for s in c.get_segments()]
    assert segments and all(np.allclose(s[0], s[1]) for s in segments)  # zero-length bars
    assert "1 seed;" in figure.get_suptitle()


def test_attacker_accuracy_bars_per_attacker_and_method_at_the_split_with_the_full_pool():
    attacks, summary = attack_summary_frame(), summary_frame()
    figure = attacker_accuracy_figure(attacks, summary, "embedded")
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["original (baseline-1)", "detachment_local", "leace"]
    heights = sorted(round(p.get_height(), 6) for p in ax.patches)
    expected = attacks[
        (attacks["dataset"] == "embedded") & (attacks["attribute"] == "color") & (attacks["site"] == "split") & (attacks["pool_fraction"] == 1.0)
    ]
    assert heights == sorted(np.round(100 * expected["accuracy_mean"], 6))
    assert {"attacker: linear", "attacker: mlp", "attacker: resnet", "chance: majority z"} <= set(legend_labels(figure))
    assert "%" in ax.get_ylabel()
    assert any(np.allclose(line.get_ydata(), 28.0) for line in ax.get_lines())


def test_attacker_accuracy_uses_the_wilson_interval_with_one_seed():
    figure = attacker_accuracy_figure(attack_summary_frame(n_seeds=1), summary_frame(n_seeds=1), "embedded")
    segments = [s for c in figure.axes[0].collections for s in c.get_segments()]
    assert segments and all(np.isclose(abs(s[1][1] - s[0][1]), 2.0) for s in segments)  # wilson +-0.01 -> 2 points of percent


def test_attacker_pool_pairs_half_and_full_pool_per_attacker():
    attacks, summary = attack_summary_frame(), summary_frame()
    figure = attacker_pool_figure(attacks, summary, "cifar10")
    ax = figure.axes[0]
    pairs = [line.get_ydata() for line in ax.get_lines() if len(line.get_ydata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]]
    assert len(pairs) == len(METHODS) * len(ATTACKERS)
    assert all(np.isclose(full - half, 4.0) for half, full in pairs)  # the synthetic half pool is 0.04 lower
    assert {"50 % of the attacker pool", "100 % of the attacker pool", "attacker: mlp"} <= set(legend_labels(figure))


def test_attacker_pool_says_so_when_only_the_full_pool_was_run():
    figure = attacker_pool_figure(attack_summary_frame(pools=(1.0,)), summary_frame(), "embedded")
    assert any("no partial-pool rows" in text.get_text() for text in figure.axes[0].texts)


def test_missing_columns_and_unknown_dataset_are_one_line_errors():
    with pytest.raises(AttrUnlearnError, match=r"^summary.parquet: missing column\(s\) efficacy_ci_low$"):
        trade_off_figure(summary_frame().drop(columns="efficacy_ci_low"), "embedded")
    with pytest.raises(AttrUnlearnError, match="no rows for dataset 'celeba'"):
        attacker_accuracy_figure(attack_summary_frame(), summary_frame(), "celeba")


def test_figures_are_written_as_png_from_the_tables_on_disk(tmp_path):
    summary, attacks = tmp_path / "summary.parquet", tmp_path / "attack_summary.parquet"
    summary_frame().to_parquet(summary)
    attack_summary_frame().to_parquet(attacks)
    for figure in ("trade_off", "attacker_accuracy", "attacker_pool"):
        out = tmp_path / "figures" / f"{figure}.png"
        draw_summary_figure(figure, summary, attacks, "embedded", out)
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["attacker_accuracy.png", "attacker_pool.png", "trade_off.png"]


def test_save_figure_leaves_nothing_behind_when_drawing_fails(tmp_path):
    class Broken:
        def savefig(self, *args, **kwargs):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        save_figure(Broken(), tmp_path / "f.png")
    assert list(tmp_path.iterdir()) == []


def test_summary_html_shows_means_with_intervals_and_names_methods_as_the_tables_do():
    view = summary_view(summary_frame())
    assert view.loc[0, "fidelity"] == "0.800 [0.770, 0.830]"
    assert summary_view(summary_frame(n_seeds=1)).loc[0, "fidelity"] == "0.800"
    page = frame_html(view, "Summary", "note <b>")
    assert page.startswith("<!doctype html>") and "<th>efficacy</th>" in page and ">detachment_local<" in page
    assert "note &lt;b&gt;" in page  # escaped
