"""The fidelity-efficacy trade-off of one dataset: where each method lands between keeping the task and hiding z."""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from attrunlearn_core.figures.common import (
    BASELINE_METHOD_NAME,
    colours,
    figure_title,
    legend_outside,
    method_label,
    panels,
    percent_error,
    require_columns,
    rows_of,
)

COLUMNS = [
    "dataset",
    "model",
    "attribute",
    "method",
    "method_name",
    "n_seeds",
    "chance",
    "chance_given_task",
    "task_chance",
    "fidelity_mean",
    "fidelity_ci_low",
    "fidelity_ci_high",
    "efficacy_mean",
    "efficacy_ci_low",
    "efficacy_ci_high",
]


def trade_off_figure(summary: pd.DataFrame, dataset: str, source: str = "summary.parquet") -> Figure:
    """x: worst-case attacker accuracy on z (lower hides more), y: fidelity; a panel per model x attribute."""
    require_columns(summary, COLUMNS, source)
    rows = rows_of(summary, dataset, source)
    models, attributes = panels(rows)
    method_colours = colours(summary["method"])
    figure = Figure(figsize=(5.6 * len(attributes) + 3.4, 4.6 * len(models)), layout="constrained")
    axes = figure.subplots(len(models), len(attributes), squeeze=False)
    for (i, model), (j, attribute) in ((m, a) for m in enumerate(models) for a in enumerate(attributes)):
        ax, panel = axes[i][j], rows[(rows["model"] == model) & (rows["attribute"] == attribute)]
        for record in panel.itertuples():
            baseline = record.method_name == BASELINE_METHOD_NAME
            x, y = 100 * record.efficacy_mean, 100 * record.fidelity_mean
            ax.errorbar(
                x,
                y,
                xerr=percent_error(record.efficacy_mean, record.efficacy_ci_low, record.efficacy_ci_high),
                yerr=percent_error(record.fidelity_mean, record.fidelity_ci_low, record.fidelity_ci_high),
                fmt="*" if baseline else "o",
                markersize=15 if baseline else 8,
                color=method_colours[record.method],
                markeredgecolor="black" if baseline else method_colours[record.method],
                capsize=3,
                label=method_label(record.method, record.method_name),
            )
            if baseline:
                ax.annotate("baseline-1", (x, y), xytext=(7, 7), textcoords="offset points", fontsize="small")
        _reference_lines(ax, panel)
        ax.set_xlabel("attacker accuracy on z, worst case (%)  [lower hides more]")
        ax.set_ylabel("fidelity: task accuracy on test (%)")
        ax.set_title(f"{dataset} · {model} · unlearning {attribute}", fontsize="medium")
        ax.grid(alpha=0.3)
    seeds = int(rows["n_seeds"].max())
    intervals = "bars: 95 % t intervals over seeds" if seeds > 1 else "one seed: no intervals"
    figure_title(figure, f"Fidelity–efficacy trade-off on {dataset} (best: top left)\nmeans over {seeds} seed{'s' * (seeds != 1)}; {intervals}")
    legend_outside(figure)
    return figure


def _reference_lines(ax, panel: pd.DataFrame) -> None:
    chance, given_task, task_chance = (panel[c].iloc[0] for c in ("chance", "chance_given_task", "task_chance"))
    ax.axvline(100 * chance, linestyle="--", color="0.35", label="chance: majority z")
    if not math.isnan(given_task):
        ax.axvline(100 * given_task, linestyle=":", color="0.15", label="chance given the task")
    if not math.isnan(task_chance):
        ax.axhline(100 * task_chance, linestyle="-.", color="0.6", label="task chance: majority y")
