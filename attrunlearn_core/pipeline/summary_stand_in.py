"""STAND-IN for issue 9's summary tables, so the figures and the report run before that branch lands.

Writes summary.parquet and attack_summary.parquet in the columns of issue 9's table contract from today's
cells.parquet and attacks.parquet. Columns today's tables lack (chance_given_task, efficacy_still_climbing,
the 50 % pool) come out empty. Delete this file, workflow_scripts/summary_stand_in.py and
rules/summary_stand_in.smk once the aggregate rule writes the two tables itself.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from attrunlearn_core.atomic import atomic_path

KEYS = ["dataset", "model", "attribute", "method"]
SUMMARISED = ["fidelity", "efficacy", "aum", "aum_chance_normalised", "method_seconds"]


def t_interval(values: pd.Series) -> tuple[float, float, float, float]:
    """mean, std, and the 95 % Student-t interval over seeds (NaN interval with one seed)."""
    values = values.dropna().astype(float)
    mean = values.mean()
    if len(values) < 2:
        return mean, math.nan, math.nan, math.nan
    std = values.std(ddof=1)
    half = stats.t.ppf(0.975, len(values) - 1) * std / math.sqrt(len(values))
    return mean, std, mean - half, mean + half


def wilson_interval(correct: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    if total == 0:
        return math.nan, math.nan
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return centre - half, centre + half


def summarise_cells(cells: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for keys, group in cells.groupby(KEYS, sort=False):
        row = dict(zip(KEYS, keys))
        row |= {"method_name": group["method_name"].iloc[0], "n_seeds": len(group), "chance": group["chance"].mean(),
                "chance_given_task": group["chance_given_task"].mean() if "chance_given_task" in group else math.nan,
                "task_chance": group["task_chance"].mean(), "efficacy_attacker": group["efficacy_attacker"].mode().iloc[0],
                "efficacy_still_climbing": bool(group["efficacy_still_climbing"].any()) if "efficacy_still_climbing" in group else False}
        for metric in SUMMARISED:
            row |= dict(zip([f"{metric}_mean", f"{metric}_std", f"{metric}_ci_low", f"{metric}_ci_high"], t_interval(group[metric])))
        rows.append(row)
    return pd.DataFrame(rows)


def summarise_attacks(attacks: pd.DataFrame) -> pd.DataFrame:
    attacks = attacks.copy()
    if "pool_fraction" not in attacks:
        attacks["pool_fraction"] = 1.0
    if "num_correct" not in attacks:
        attacks["num_correct"] = np.rint(attacks["accuracy"] * attacks["num_test"]).astype(int)
    rows = []
    for keys, group in attacks.groupby(KEYS + ["site", "attacker", "pool_fraction"], sort=False):
        row = dict(zip(KEYS + ["site", "attacker", "pool_fraction"], keys)) | {"n_seeds": len(group)}
        row |= dict(zip(["accuracy_mean", "accuracy_std", "accuracy_ci_low", "accuracy_ci_high"], t_interval(group["accuracy"])))
        row |= dict(zip(["wilson_low", "wilson_high"], wilson_interval(int(group["num_correct"].sum()), int(group["num_test"].sum()))))
        row["num_test"] = int(group["num_test"].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def write_summary_tables(cells_path, attacks_path, summary_out, attack_summary_out) -> None:
    for frame, path in ((summarise_cells(pd.read_parquet(cells_path)), summary_out), (summarise_attacks(pd.read_parquet(attacks_path)), attack_summary_out)):
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, index=False)
