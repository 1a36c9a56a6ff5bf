"""The attacker-pool check: each attacker trained on part of its pool (50 % by default, the config's
saturation_fraction) and on all of it. A rise to the full pool means the attackers had not converged on the
data they had, so efficacy may understate the leak."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from attrunlearn_core.figures.attacker_accuracy import COLUMNS, SUMMARY_COLUMNS, decorate_attacker_panel
from attrunlearn_core.figures.common import colours, figure_title, legend_outside, panels, require_columns, rows_of


def attacker_pool_figure(attack_summary: pd.DataFrame, summary: pd.DataFrame, dataset: str, site: str = "split") -> Figure:
    require_columns(attack_summary, COLUMNS, "attack_summary.parquet")
    require_columns(summary, SUMMARY_COLUMNS, "summary.parquet")
    attacks = rows_of(attack_summary, dataset, "attack_summary.parquet")
    attacks = attacks[attacks["site"] == site]
    models, attributes = panels(attacks)
    smaller = sorted(f for f in attacks["pool_fraction"].unique() if f < 1.0)
    part = smaller[0] if smaller else 0.5
    attacker_colours = colours(attack_summary["attacker"])
    figure = Figure(figsize=(max(6.0, 1.1 * attacks["method"].nunique()) * len(attributes) + 2.8, 4.8 * len(models)), layout="constrained")
    axes = figure.subplots(len(models), len(attributes), squeeze=False)
    for (i, model), (j, attribute) in ((m, a) for m in enumerate(models) for a in enumerate(attributes)):
        ax = axes[i][j]
        panel = attacks[(attacks["model"] == model) & (attacks["attribute"] == attribute)]
        about = summary[(summary["dataset"] == dataset) & (summary["model"] == model) & (summary["attribute"] == attribute)]
        methods, attackers = list(dict.fromkeys(panel["method"])), list(dict.fromkeys(panel["attacker"]))
        width = 0.8 / len(attackers)
        for k, attacker in enumerate(attackers):
            for position, method in enumerate(methods):
                x = position + (k - (len(attackers) - 1) / 2) * width
                pair = panel[(panel["attacker"] == attacker) & (panel["method"] == method)]
                accuracy = {pool: 100 * pair.loc[np.isclose(pair["pool_fraction"], pool), "accuracy_mean"].mean() for pool in (part, 1.0)}
                colour = attacker_colours[attacker]
                ax.plot([x, x], [accuracy[part], accuracy[1.0]], color=colour, linewidth=1.5)
                ax.plot(x, accuracy[part], "o", markerfacecolor="white", markeredgecolor=colour, markersize=7)
                ax.plot(x, accuracy[1.0], "o", color=colour, markersize=7, label=f"attacker: {attacker}")
        if not smaller:
            ax.text(0.5, 0.5, "no partial-pool rows in attack_summary", transform=ax.transAxes, ha="center", color="0.4")
        decorate_attacker_panel(ax, about, methods, f"{dataset} · {model} · unlearning {attribute}")
    axes[0][-1].plot(
        [], [], "o", markerfacecolor="white", markeredgecolor="black", linestyle="none", label=f"{100 * part:.0f} % of the attacker pool"
    )
    axes[0][-1].plot([], [], "o", color="black", linestyle="none", label="100 % of the attacker pool")
    figure_title(
        figure,
        f"Attacker pool on {'h (split point)' if site == 'split' else site + ' features'}: {100 * part:.0f} % (hollow) vs all (filled)\n"
        "mean over seeds; a rise means more data would leak more",
    )
    legend_outside(figure)
    return figure
