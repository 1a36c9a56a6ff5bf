"""Each attacker's learning curve: its accuracy on z against the share of the attacker pool it fit on, per method.

An efficacy read from a pool on which the attacker was still improving is a lower bound. Where a grid fits attackers
on several pool fractions (`attackers.curve_fractions`), `saturation_points` says from which fraction on each
attacker stops climbing (every larger pool within SATURATION_MARGIN of the full pool) and what it reads there; the
figure draws the curves and marks that point.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from attrunlearn_core.evaluation import SATURATION_MARGIN
from attrunlearn_core.figures.attacker_accuracy import COLUMNS, SUMMARY_COLUMNS
from attrunlearn_core.figures.common import colours, figure_title, legend_outside, require_columns, rows_of

PANEL_KEYS = ["dataset", "model", "attribute", "method"]


def saturation_points(attack_summary: pd.DataFrame, site: str = "split") -> pd.DataFrame:
    """One row per dataset x model x attribute x method x attacker on `site`: the smallest pool fraction from which
    accuracy stays within SATURATION_MARGIN of the full pool's, the accuracy there and on the full pool, and
    `saturated`: false when only the full pool itself qualifies (the curve was still climbing at its end)."""
    rows = []
    attacks = attack_summary[attack_summary["site"] == site]
    for key, group in attacks.groupby(PANEL_KEYS + ["attacker"], sort=False):
        curve = group.sort_values("pool_fraction")
        fractions, accuracy = curve["pool_fraction"].to_numpy(), curve["accuracy_mean"].to_numpy()
        full = accuracy[-1]
        within = np.abs(accuracy - full) <= SATURATION_MARGIN + 1e-9  # accuracies are ratios: 0.88 - 0.86 is not > 0.02
        # the first fraction from which every larger one is within the margin
        first = len(within) - int(np.argmin(within[::-1])) if not within.all() else 0
        rows.append(
            {
                **dict(zip(PANEL_KEYS + ["attacker"], key, strict=True)),
                "fractions": len(fractions),
                "saturation_fraction": float(fractions[first]),
                "accuracy_at_saturation": float(accuracy[first]),
                "accuracy_full_pool": float(full),
                "saturated": bool(first < len(fractions) - 1),
            }
        )
    return pd.DataFrame(rows)


def learning_curve_figure(attack_summary: pd.DataFrame, summary: pd.DataFrame, dataset: str, site: str = "split") -> Figure:
    require_columns(attack_summary, COLUMNS, "attack_summary.parquet")
    require_columns(summary, SUMMARY_COLUMNS, "summary.parquet")
    attacks = rows_of(attack_summary, dataset, "attack_summary.parquet")
    attacks = attacks[attacks["site"] == site]
    points = saturation_points(attacks, site)
    keys = list(dict.fromkeys(attacks[PANEL_KEYS[1:]].itertuples(index=False, name=None)))
    columns = min(4, len(keys))
    rows = math.ceil(len(keys) / columns)
    attacker_colours = colours(attack_summary["attacker"])
    figure = Figure(figsize=(4.2 * columns + 2.8, 3.6 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).flatten()
    for ax, (model, attribute, method) in zip(axes, keys, strict=False):
        panel = attacks[(attacks["model"] == model) & (attacks["attribute"] == attribute) & (attacks["method"] == method)]
        for attacker, curve in panel.groupby("attacker", sort=False):
            curve = curve.sort_values("pool_fraction")
            colour = attacker_colours[attacker]
            ax.plot(curve["pool_fraction"], 100 * curve["accuracy_mean"], "o-", color=colour, markersize=4, label=f"attacker: {attacker}")
            point = points[
                (points["model"] == model) & (points["attribute"] == attribute) & (points["method"] == method) & (points["attacker"] == attacker)
            ]
            if len(point) and point["saturated"].iloc[0]:
                ax.plot(point["saturation_fraction"], 100 * point["accuracy_at_saturation"], "s", color=colour, markersize=9, fillstyle="none")
        about = summary[
            (summary["dataset"] == dataset) & (summary["model"] == model) & (summary["attribute"] == attribute) & (summary["method"] == method)
        ]
        if len(about):
            ax.axhline(100 * about["chance"].iloc[0], linestyle="--", color="0.35", label="chance: majority z")
        ax.set_xscale("log", base=2)
        ax.set_title(f"{method} · {model} · {attribute}", fontsize="medium")
        ax.set_xlabel("share of the attacker pool")
        ax.set_ylabel("attacker accuracy on z (%)")
        ax.grid(alpha=0.3)
    for ax in axes[len(keys) :]:
        ax.set_visible(False)
    axes[0].plot([], [], "s", color="black", fillstyle="none", linestyle="none", label=f"saturated: every larger pool within {SATURATION_MARGIN:g}")
    figure_title(figure, f"Attacker learning curves on {dataset}, {'h (split point)' if site == 'split' else site + ' features'}\nmean over seeds")
    legend_outside(figure)
    return figure
