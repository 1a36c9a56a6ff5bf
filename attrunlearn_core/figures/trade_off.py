"""The fidelity-efficacy trade-off of one dataset: where each method lands between keeping the task and hiding z.

A swept method (the grid's `sweep:` points of one base, e.g. one strength knob per method) is drawn as a front: its
points joined in the order of the swept values, each labelled with its value, in one colour and one legend entry. The
fine-tune control is marked, as baseline-1 is: a method's point is read against both."""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from attrunlearn_core.config import sweep_point
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
    method_colours = colours(summary["method"].map(lambda method: sweep_point(method)[0]))
    figure = Figure(figsize=(5.6 * len(attributes) + 3.4, 4.6 * len(models)), layout="constrained")
    axes = figure.subplots(len(models), len(attributes), squeeze=False)
    for (i, model), (j, attribute) in ((m, a) for m in enumerate(models) for a in enumerate(attributes)):
        ax, panel = axes[i][j], rows[(rows["model"] == model) & (rows["attribute"] == attribute)]
        labelled = set()
        for record in panel.itertuples():
            base, point = sweep_point(record.method)
            x, y = 100 * record.efficacy_mean, 100 * record.fidelity_mean
            reference = record.method_name in MARKERS
            style = {
                "markersize": 15 if record.method_name == BASELINE_METHOD_NAME else 8,
                "markeredgecolor": "black" if reference else method_colours[base],
            }
            if not point:
                style["label"] = method_label(record.method, record.method_name)
            elif base not in labelled:  # a front has one legend entry
                style["label"] = _front_label(base, point)
            ax.errorbar(
                x,
                y,
                xerr=percent_error(record.efficacy_mean, record.efficacy_ci_low, record.efficacy_ci_high),
                yerr=percent_error(record.fidelity_mean, record.fidelity_ci_low, record.fidelity_ci_high),
                fmt=MARKERS.get(record.method_name, "o"),
                color=method_colours[base],
                capsize=3,
                **style,
            )
            if point:
                labelled.add(base)
                ax.annotate(
                    ", ".join(_format(value) for value in point.values()), (x, y), xytext=(5, -10), textcoords="offset points", fontsize="x-small"
                )
            if record.method_name in NOTES:
                ax.annotate(NOTES[record.method_name], (x, y), xytext=(7, 7), textcoords="offset points", fontsize="small")
        _draw_fronts(ax, panel, method_colours)
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


MARKERS = {BASELINE_METHOD_NAME: "*", "finetune": "D"}  # the two references every method is read against
NOTES = {BASELINE_METHOD_NAME: "baseline-1", "finetune": "fine-tune control"}


def _format(value) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


def _front_label(base: str, point: dict) -> str:
    return f"{base}: {', '.join(point)} front"


def _draw_fronts(ax, panel: pd.DataFrame, method_colours: dict[str, str]) -> None:
    """Join each base's sweep points in the order of their swept values."""
    fronts: dict[str, list[tuple[tuple, float, float]]] = {}
    for record in panel.itertuples():
        base, point = sweep_point(record.method)
        if point:
            order = tuple((0, value) if isinstance(value, int | float) else (1, str(value)) for value in point.values())
            fronts.setdefault(base, []).append((order, 100 * record.efficacy_mean, 100 * record.fidelity_mean))
    for base, points in fronts.items():
        if len(points) > 1:
            points.sort()
            ax.plot([x for _, x, _ in points], [y for _, _, y in points], "-", color=method_colours[base], alpha=0.6, linewidth=1.5)


def _reference_lines(ax, panel: pd.DataFrame) -> None:
    chance, given_task, task_chance = (panel[c].iloc[0] for c in ("chance", "chance_given_task", "task_chance"))
    ax.axvline(100 * chance, linestyle="--", color="0.35", label="chance: majority z")
    if not math.isnan(given_task):
        ax.axvline(100 * given_task, linestyle=":", color="0.15", label="chance given the task")
    if not math.isnan(task_chance):
        ax.axhline(100 * task_chance, linestyle="-.", color="0.6", label="task chance: majority y")
