"""MLflow: one experiment, one run per grid cell. Only the aggregate step calls this (sqlite has one writer).

Re-running is idempotent: a run is keyed by its cell_id tag and a hash of its logged content;
an unchanged cell is left alone, a changed one replaces its old run.
"""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

AXES = ("dataset", "model", "attribute", "method", "seed")


def _experiment_id(client: MlflowClient, name: str, artifact_root: Path) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(name, artifact_location=artifact_root.resolve().as_uri())


def _content_hash(row: dict, params: dict, artifacts: list[Path]) -> str:
    digest = hashlib.sha256(json.dumps([row, params], sort_keys=True, default=str).encode())
    for path in artifacts:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def log_cell_runs(tracking_uri: str, experiment: str, artifact_root: Path, cells: list[dict]) -> dict:
    """cells: [{"row": table row, "params": {...}, "artifacts": [paths]}]. Returns counts of created/kept runs."""
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment_id = _experiment_id(client, experiment, artifact_root)
    existing: dict[str, list] = {}
    for run in client.search_runs([experiment_id], max_results=50000):
        existing.setdefault(run.data.tags.get("cell_id"), []).append(run)
    created = kept = 0
    for cell in cells:
        row, artifacts = cell["row"], [Path(p) for p in cell.get("artifacts", [])]
        content = _content_hash(row, cell["params"], artifacts)
        runs = existing.get(row["cell_id"], [])
        if len(runs) == 1 and runs[0].data.tags.get("content_hash") == content:
            kept += 1
            continue
        for run in runs:
            client.delete_run(run.info.run_id)
        tags = {axis: str(row[axis]) for axis in AXES} | {"cell_id": row["cell_id"], "content_hash": content, "method_name": row.get("method_name", "")}
        run = client.create_run(experiment_id, run_name=row["cell_id"].replace("/", " | "), tags=tags)
        metrics = [Metric(k, float(v), 0, 0) for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "seed" and not math.isnan(v)]
        params = [Param(k, str(v)[:6000]) for k, v in sorted(cell["params"].items())]
        client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=[RunTag("task", str(row.get("task", "")))])
        for path in artifacts:
            client.log_artifact(run.info.run_id, str(path))
        client.set_terminated(run.info.run_id)
        created += 1
    return {"created": created, "kept": kept}


def flatten_params(prefix: str, value, out: dict | None = None) -> dict:
    out = {} if out is None else out
    if isinstance(value, dict):
        for key, sub in value.items():
            flatten_params(f"{prefix}.{key}" if prefix else str(key), sub, out)
    else:
        out[prefix] = value
    return out
