"""Each attacker's accuracy on z per method, at one feature site and attacker-pool size."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from attrunlearn_core.figures.common import FigureInputError, colours, figure_title, legend_outside, method_label, panels, require_columns, rows_of

COLUMNS = [
    "dataset",
    "model",
    "attribute",
    "method",
    "site",
    "attacker",
    "pool_fraction",
    "n_seeds",
    "accuracy_mean",
    "accuracy_ci_low",
    "accuracy_ci_high",
    "wilson_low",
    "wilson_high",
]
SUMMARY_COLUMNS = ["dataset", "model", "attribute", "method", "method_name", "chance"]


def interval(record) -> tuple[float, float]:
    """The t interval over seeds where there are several; the Wilson interval of the pooled predictions otherwise."""
    if record.n_seeds >= 2 and not math.isnan(record.accuracy_ci_low):
        return record.accuracy_ci_low, record.accuracy_ci_high
    return record.wilson_low, record.wilson_high


def attacker_accuracy_figure(
    attack_summary: pd.DataFrame, summary: pd.DataFrame, dataset: str, site: str = "split", pool_fraction: float = 1.0
) -> Figure:
    require_columns(attack_summary, COLUMNS, "attack_summary.parquet")
    require_columns(summary, SUMMARY_COLUMNS, "summary.parquet")
    attacks = rows_of(attack_summary, dataset, "attack_summary.parquet")
    attacks = attacks[(attacks["site"] == site) & np.isclose(attacks["pool_fraction"], pool_fraction)]
    if attacks.empty:
        raise FigureInputError(f"attack_summary.parquet: no rows for dataset {dataset!r} at site {site!r} with pool_fraction {pool_fraction}")
    models, attributes = panels(attacks)
    attacker_colours = colours(attack_summary["attacker"])
    figure = Figure(figsize=(max(6.0, 1.1 * attacks["method"].nunique()) * len(attributes) + 2.4, 4.8 * len(models)), layout="constrained")
    axes = figure.subplots(len(models), len(attributes), squeeze=False)
    for (i, model), (j, attribute) in ((m, a) for m in enumerate(models) for a in enumerate(attributes)):
        ax = axes[i][j]
        panel = attacks[(attacks["model"] == model) & (attacks["attribute"] == attribute)]
        about = summary[(summary["dataset"] == dataset) & (summary["model"] == model) & (summary["attribute"] == attribute)]
        methods = list(dict.fromkeys(panel["method"]))
        attackers = list(dict.fromkeys(panel["attacker"]))
        width = 0.8 / len(attackers)
        for k, attacker in enumerate(attackers):
            by_method = panel[panel["attacker"] == attacker].set_index("method")
            xs, heights, errors = [], [], [[], []]
            for position, method in enumerate(methods):
                if method not in by_method.index:
                    continue
                record = next(by_method.loc[[method]].reset_index().itertuples())
                low, high = interval(record)
                xs.append(position + (k - (len(attackers) - 1) / 2) * width)
                heights.append(100 * record.accuracy_mean)
                errors[0].append(100 * (record.accuracy_mean - low))
                errors[1].append(100 * (high - record.accuracy_mean))
            ax.bar(xs, heights, width, yerr=errors, capsize=2, color=attacker_colours[attacker], label=f"attacker: {attacker}")
        decorate_attacker_panel(ax, about, methods, f"{dataset} · {model} · unlearning {attribute}")
    figure_title(
        figure,
        f"Attackers on {'h (split point)' if site == 'split' else site + ' features'}, trained on "
        f"{100 * pool_fraction:.0f} % of their pool\nmean over seeds with 95 % interval (t over seeds; Wilson with one seed)",
    )
    legend_outside(figure)
    return figure


def decorate_attacker_panel(ax, about: pd.DataFrame, methods: list[str], title: str) -> None:
    """The axes every per-method attacker panel shares: chance line, method names, accuracy in %."""
    if not about.empty:
        ax.axhline(100 * about["chance"].iloc[0], linestyle="--", color="0.3", label="chance: majority z")
    names = about.set_index("method")["method_name"].to_dict()
    ax.set_xticks(range(len(methods)), [method_label(m, names.get(m, "")) for m in methods], rotation=30, ha="right")
    ax.set_ylim(0, 100)
    ax.set_ylabel("attacker accuracy on z, attacker-test (%)")
    ax.set_title(title, fontsize="medium")
    ax.grid(axis="y", alpha=0.3)
