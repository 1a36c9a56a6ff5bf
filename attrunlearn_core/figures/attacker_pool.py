"""The attacker-pool check: each attacker trained on 50 % and on 100 % of attacker-train. A rise from 50 % to 100 %
means the attackers had not converged on the data they had, so efficacy may understate the leak."""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from attrunlearn_core.figures.attacker_accuracy import COLUMNS, SUMMARY_COLUMNS
from attrunlearn_core.figures.common import colours, legend_outside, method_label, panels, require_columns, rows_of

POOLS = (0.5, 1.0)


def attacker_pool_figure(attack_summary: pd.DataFrame, summary: pd.DataFrame, dataset: str, site: str = "split") -> Figure:
    require_columns(attack_summary, COLUMNS, "attack_summary.parquet")
    require_columns(summary, SUMMARY_COLUMNS, "summary.parquet")
    attacks = rows_of(attack_summary, dataset, "attack_summary.parquet")
    attacks = attacks[attacks["site"] == site]
    models, attributes = panels(attacks)
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
                accuracy = {pool: 100 * pair.loc[np.isclose(pair["pool_fraction"], pool), "accuracy_mean"].mean() for pool in POOLS}
                colour = attacker_colours[attacker]
                ax.plot([x, x], [accuracy[0.5], accuracy[1.0]], color=colour, linewidth=1.5)
                ax.plot(x, accuracy[0.5], "o", markerfacecolor="white", markeredgecolor=colour, markersize=7)
                ax.plot(x, accuracy[1.0], "o", color=colour, markersize=7, label=f"attacker: {attacker}")
        if not np.isclose(panel["pool_fraction"], 0.5).any():
            ax.text(0.5, 0.5, "no 50 % pool rows in attack_summary", transform=ax.transAxes, ha="center", color="0.4")
        if not about.empty:
            ax.axhline(100 * about["chance"].iloc[0], linestyle="--", color="0.3", label="chance: majority z")
        names = about.set_index("method")["method_name"].to_dict()
        ax.set_xticks(range(len(methods)), [method_label(m, names.get(m, "")) for m in methods], rotation=30, ha="right")
        ax.set_ylim(0, 100)
        ax.set_ylabel("attacker accuracy on z, attacker-test (%)")
        ax.set_title(f"{dataset} · {model} · unlearning {attribute}", fontsize="medium")
        ax.grid(axis="y", alpha=0.3)
    axes[0][-1].plot([], [], "o", markerfacecolor="white", markeredgecolor="black", linestyle="none", label="50 % of attacker-train")
    axes[0][-1].plot([], [], "o", color="black", linestyle="none", label="100 % of attacker-train")
    figure.suptitle(f"Attacker pool on {'h (split point)' if site == 'split' else site + ' features'}: accuracy with half (hollow) "
                    "and all (filled) of attacker-train, mean over seeds; a rise means more data would leak more", fontsize="medium")
    legend_outside(figure)
    return figure
