"""The Parquet tables' columns, written once here (docs/outputs.md copies this list)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from attrunlearn_core.atomic import atomic_path

CELL_KEYS = [("dataset", pa.string()), ("model", pa.string()), ("attribute", pa.string()), ("method", pa.string()), ("seed", pa.int64())]
GROUP_KEYS = CELL_KEYS[:4]  # a summary row: every seed of one dataset x model x attribute x method

# One row per grid cell.
CELLS_SCHEMA = pa.schema(
    CELL_KEYS
    + [
        ("method_name", pa.string()),  # registered method behind the grid name ("original" = baseline-1)
        ("task", pa.string()),
        ("fidelity", pa.float64()),  # task top-1 accuracy on the test split
        ("task_chance", pa.float64()),  # majority rate of the task on the test split
        ("efficacy", pa.float64()),  # worst case: the best attacker's accuracy on h at the split, full pool
        ("efficacy_attacker", pa.string()),  # which attacker achieved it
        ("efficacy_site", pa.string()),
        ("chance", pa.float64()),  # majority rate of the attribute on attacker-test
        ("chance_given_task", pa.float64()),  # accuracy of guessing the attribute from the task label alone
        ("efficacy_half_pool", pa.float64()),  # the same worst case with attackers fitted on half their pool
        ("efficacy_still_climbing", pa.bool_()),  # efficacy - efficacy_half_pool > 0.02: a lower bound, more data would find more
        ("efficacy_penultimate", pa.float64()),  # best attacker accuracy on the classifier's penultimate features
        ("shuffled_efficacy", pa.float64()),  # the best attacker refit on permuted z (split, full pool): chance expected; NaN when off
        ("shuffled_flagged", pa.string()),  # attackers reading above chance on permuted z (Wilson low > chance), comma-separated
        ("aum", pa.float64()),  # harmonic mean of (1 - efficacy) and fidelity (paper, eq. 5)
        ("aum_chance_normalised", pa.float64()),  # floor max(chance, chance_given_task); see metrics.py
        ("method_seconds", pa.float64()),  # wall time of the method itself (0 for the original model)
        ("baseline_epochs", pa.float64()),  # epochs the starting model (baseline-1; baseline-2 for its cells) trained before it stopped
        ("cell_id", pa.string()),
    ]
)

# One row per grid cell x number a method reported about itself (losses, forget accuracy, stage times).
METHOD_METRICS_SCHEMA = pa.schema(CELL_KEYS + [("name", pa.string()), ("value", pa.float64())])

# One row per grid cell x feature site x attacker x pool fraction: the long table every per-attacker view derives from.
ATTACKS_SCHEMA = pa.schema(
    CELL_KEYS
    + [
        ("site", pa.string()),  # split (h) or penultimate
        ("attacker", pa.string()),
        ("pool_fraction", pa.float64()),  # 1.0: the whole pool; 0.5: the saturation check
        ("accuracy", pa.float64()),  # on attacker-test
        ("num_correct", pa.int64()),
        ("num_test", pa.int64()),
        ("wilson_low", pa.float64()),  # 95 % Wilson interval of the accuracy from num_test
        ("wilson_high", pa.float64()),
        ("chance", pa.float64()),
        ("validation_accuracy", pa.float64()),  # on the pool's validation slice (neural) or cross-validated (scikit-learn)
        ("best_epoch", pa.int64()),  # -1 for attackers not trained by epochs
        ("num_train", pa.int64()),  # pool pairs used, validation slice included
        ("seconds", pa.float64()),
    ]
)

SUMMARISED = ["fidelity", "efficacy", "aum", "aum_chance_normalised", "method_seconds", "baseline_epochs", "shuffled_efficacy"]

# One row per dataset x model x attribute x method: each number over seeds as mean, std and a 95 % Student-t interval.
SUMMARY_SCHEMA = pa.schema(
    GROUP_KEYS
    + [
        ("method_name", pa.string()),
        ("n_seeds", pa.int64()),
        ("chance", pa.float64()),  # means over seeds (they differ only where splits differ)
        ("chance_given_task", pa.float64()),
        ("task_chance", pa.float64()),
        ("efficacy_attacker", pa.string()),  # the attacker most often the worst case
        ("efficacy_still_climbing", pa.bool_()),  # true if any seed's efficacy was still climbing with pool size
        ("shuffled_flagged", pa.string()),  # attackers any seed's shuffled control flagged
    ]
    + [(f"{metric}_{stat}", pa.float64()) for metric in SUMMARISED for stat in ("mean", "std", "ci_low", "ci_high")]
)

# One row per dataset x model x attribute x method x site x attacker x pool fraction.
ATTACK_SUMMARY_SCHEMA = pa.schema(
    GROUP_KEYS
    + [
        ("site", pa.string()),
        ("attacker", pa.string()),
        ("pool_fraction", pa.float64()),
        ("n_seeds", pa.int64()),
        ("accuracy_mean", pa.float64()),
        ("accuracy_std", pa.float64()),
        ("accuracy_ci_low", pa.float64()),
        ("accuracy_ci_high", pa.float64()),  # Student-t over seeds
        ("wilson_low", pa.float64()),
        ("wilson_high", pa.float64()),  # Wilson on the seeds' pooled test predictions
        ("num_test", pa.int64()),  # summed over seeds
    ]
)


def write_table(rows: list[dict], schema: pa.Schema, path: str | Path) -> None:
    """Rows (dicts; missing columns are null) as a Parquet file with exactly `schema`, written atomically."""
    table = pa.Table.from_pylist([{name: row.get(name) for name in schema.names} for row in rows], schema=schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
