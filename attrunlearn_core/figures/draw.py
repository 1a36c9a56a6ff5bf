"""Draw one of the summary figures for one dataset from the summary tables on disk (what the workflow calls)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from attrunlearn_core.figures.attacker_accuracy import attacker_accuracy_figure
from attrunlearn_core.figures.attacker_pool import attacker_pool_figure
from attrunlearn_core.figures.common import save_figure
from attrunlearn_core.figures.trade_off import trade_off_figure

FIGURES = {
    "trade_off": lambda summary, attacks, dataset: trade_off_figure(summary, dataset),
    "attacker_accuracy": lambda summary, attacks, dataset: attacker_accuracy_figure(attacks, summary, dataset),
    "attacker_pool": lambda summary, attacks, dataset: attacker_pool_figure(attacks, summary, dataset),
}


def draw_summary_figure(figure: str, summary: str | Path, attack_summary: str | Path, dataset: str, out: str | Path) -> None:
    drawn = FIGURES[figure](pd.read_parquet(summary), pd.read_parquet(attack_summary), dataset)
    save_figure(drawn, out)
