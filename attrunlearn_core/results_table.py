"""The Parquet tables' columns, written once here (the README copies this list)."""
from __future__ import annotations

import pyarrow as pa

CELL_KEYS = [("dataset", pa.string()), ("model", pa.string()), ("attribute", pa.string()), ("method", pa.string()), ("seed", pa.int64())]

# One row per grid cell.
CELLS_SCHEMA = pa.schema(CELL_KEYS + [
    ("method_name", pa.string()),          # registered method behind the grid name
    ("task", pa.string()),
    ("fidelity", pa.float64()),            # task top-1 accuracy on the test split
    ("task_chance", pa.float64()),         # majority rate of the task on the test split
    ("efficacy", pa.float64()),            # worst case: best attacker accuracy on h at the split
    ("efficacy_attacker", pa.string()),    # which attacker achieved it
    ("chance", pa.float64()),              # majority rate of the attribute on attacker-test
    ("efficacy_linear", pa.float64()),
    ("efficacy_mlp", pa.float64()),
    ("efficacy_resnet", pa.float64()),
    ("efficacy_penultimate", pa.float64()),  # best probe accuracy on penultimate features
    ("aum", pa.float64()),                 # harmonic mean of (1 - efficacy) and fidelity (paper, eq. 5)
    ("aum_chance_normalised", pa.float64()),
    ("method_seconds", pa.float64()),      # wall time of the method itself (0 for the original model)
    ("cell_id", pa.string()),
])

# One row per grid cell x number a method reported about itself (losses, forget accuracy, stage times).
METHOD_METRICS_SCHEMA = pa.schema(CELL_KEYS + [("name", pa.string()), ("value", pa.float64())])

# One row per grid cell x feature site x attacker.
ATTACKS_SCHEMA = pa.schema(CELL_KEYS + [
    ("site", pa.string()),
    ("attacker", pa.string()),
    ("accuracy", pa.float64()),
    ("chance", pa.float64()),
    ("validation_accuracy", pa.float64()),
    ("best_epoch", pa.int64()),
    ("num_train", pa.int64()),
    ("num_test", pa.int64()),
])
