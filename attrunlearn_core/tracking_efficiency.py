"""MLflow runs for the efficiency table (the paper's Table 2): one run per benchmarked model.

Nested under the grid's parent run; tags kind=efficiency, grid, dataset, model, device; every numeric
column of the row as a metric; the Parquet table as an artifact. Idempotent like tracking.log_cell_runs:
a run is keyed by its efficiency_id tag and a hash of its content and parent; an unchanged row keeps its
run, a changed one replaces it. Cell runs (keyed by cell_id) are never touched. Call it only where no other step
writes to the same sqlite store at the same time (the log_efficiency rule runs after aggregate).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pyarrow.parquet as pq
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from attrunlearn_core.tracking import PARENT_ID_TAG, GridInfo, _experiment_id, grid_run_id

TAG_COLUMNS = ("dataset", "model", "arch", "split_after", "device", "memory_measure")


def efficiency_id(row: dict) -> str:
    return f"efficiency/{row['dataset']}/{row['model']}"


def log_efficiency_runs(tracking_uri: str, experiment: str, artifact_root: Path, table_path: str | Path, grid: str = "default") -> dict:
    """Returns {"created": n, "kept": n, "run_ids": {efficiency_id: run id}}."""
    rows = pq.read_table(table_path).to_pylist()
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment_id = _experiment_id(client, experiment, Path(artifact_root))
    parent = grid_run_id(client, experiment_id, GridInfo(grid))
    existing: dict[str, list] = {}
    for run in client.search_runs([experiment_id], filter_string=f"tags.kind = 'efficiency' and tags.grid = '{grid}'", max_results=50000):
        existing.setdefault(run.data.tags.get("efficiency_id"), []).append(run)
    created = kept = 0
    run_ids = {}
    for row in rows:
        key = efficiency_id(row)
        content = hashlib.sha256(json.dumps([row, parent], sort_keys=True, default=str).encode()).hexdigest()[:16]
        runs = existing.get(key, [])
        if len(runs) == 1 and runs[0].data.tags.get("content_hash") == content:
            kept += 1
            run_ids[key] = runs[0].info.run_id
            continue
        for run in runs:
            client.delete_run(run.info.run_id)
        tags = {"kind": "efficiency", "grid": grid, PARENT_ID_TAG: parent, "efficiency_id": key, "content_hash": content} | {
            c: str(row[c]) for c in TAG_COLUMNS if row.get(c) is not None
        }
        run = client.create_run(experiment_id, run_name=key.replace("/", " | "), tags=tags)
        metrics = [
            Metric(k, float(v), 0, 0) for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(float(v))
        ]
        params = [Param(k, str(row[k])) for k in ("image_size", "batch_size", "steps_per_epoch", "timed_epochs") if row.get(k) is not None]
        client.log_batch(
            run.info.run_id, metrics=metrics, params=params, tags=[RunTag("mlflow.note.content", "Unlearning efficiency (paper Table 2)")]
        )
        client.log_artifact(run.info.run_id, str(table_path))
        client.set_terminated(run.info.run_id)
        run_ids[key] = run.info.run_id
        created += 1
    return {"created": created, "kept": kept, "run_ids": run_ids}
