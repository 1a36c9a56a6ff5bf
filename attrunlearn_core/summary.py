"""Per-seed rows to summary rows: every number over seeds with a 95 % Student-t interval, attackers with Wilson."""

from __future__ import annotations

import pandas as pd

from attrunlearn_core.results_table import ATTACK_SUMMARY_SCHEMA, GROUP_KEYS, SUMMARISED, SUMMARY_SCHEMA
from attrunlearn_core.statistics import t_interval, wilson_interval

KEYS = [name for name, _ in GROUP_KEYS]


def summarise_cells(cells: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for key, group in cells.groupby(KEYS, sort=False):
        row = dict(zip(KEYS, key, strict=True))
        row.update(
            {
                "method_name": group["method_name"].iloc[0],
                "n_seeds": group["seed"].nunique(),
                "chance": group["chance"].mean(),
                "chance_given_task": group["chance_given_task"].mean(),
                "task_chance": group["task_chance"].mean(),
                "efficacy_attacker": group["efficacy_attacker"].mode().sort_values().iloc[0],
                "efficacy_still_climbing": bool(group["efficacy_still_climbing"].any()),
                "shuffled_flagged": ",".join(sorted({name for names in group["shuffled_flagged"].fillna("") for name in names.split(",") if name})),
            }
        )
        for metric in SUMMARISED:
            row.update({f"{metric}_{stat}": value for stat, value in t_interval(group[metric]).items()})
        rows.append(row)
    return pd.DataFrame(rows, columns=SUMMARY_SCHEMA.names)


def summarise_attacks(attacks: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for key, group in attacks.groupby(KEYS + ["site", "attacker", "pool_fraction"], sort=False):
        interval = t_interval(group["accuracy"])
        low, high = wilson_interval(int(group["num_correct"].sum()), int(group["num_test"].sum()))
        rows.append(
            {
                **dict(zip(KEYS + ["site", "attacker", "pool_fraction"], key, strict=True)),
                "n_seeds": group["seed"].nunique(),
                **{f"accuracy_{stat}": value for stat, value in interval.items()},
                "wilson_low": low,
                "wilson_high": high,
                "num_test": int(group["num_test"].sum()),
            }
        )
    return pd.DataFrame(rows, columns=ATTACK_SUMMARY_SCHEMA.names)
