"""MLflow: one parent run per grid, its cells as nested runs. Only steps that run one at a time call this
(the sqlite store has one writer): aggregate, then log_grid_tables, then log_efficiency.

Re-running is idempotent: the parent is found by its `grid` tag and kept; a cell run is keyed by its cell_id
tag and a hash of its logged content and parent; an unchanged cell is left alone, a changed one replaces its run.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from attrunlearn_core.artifacts import file_digest
from attrunlearn_core.errors import ConfigError

AXES = ("dataset", "model", "attribute", "method", "seed")
PARENT_ID_TAG = "mlflow.parentRunId"
GIT_COMMIT_TAG = "mlflow.source.git.commit"


@dataclass(frozen=True)
class GridInfo:
    """What the parent run of a grid records: its name, the code's git commit and a digest per prepared dataset."""

    name: str = "default"
    git_commit: str | None = None
    data_digests: dict[str, str] = field(default_factory=dict)


def git_commit(path: str | Path) -> str | None:
    """HEAD of the git repository holding `path` (with '-dirty' when tracked files changed); None outside git."""
    try:
        head = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def grid_info(name: str, prepared: dict[str, str | Path], code_dir: str | Path | None = None) -> GridInfo:
    """prepared: dataset name -> its prepared tensor cache. code_dir: where the running code lives (for the commit)."""
    if code_dir is None:
        code_dir = Path(__file__).resolve().parent
    return GridInfo(name, git_commit(code_dir), {dataset: file_digest(path) for dataset, path in sorted(prepared.items())})


# A grid's experiment is model training. MLflow's UI does not open it by this tag (tracking_links says what does);
# the tag marks the grid experiments in a store shared with other work, and tracking_links finds them by it.
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")


def _experiment_id(client: MlflowClient, name: str, artifact_root: Path) -> str:
    location = Path(artifact_root).resolve().as_uri()
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        return client.create_experiment(name, artifact_location=location, tags=dict([EXPERIMENT_KIND]))
    if experiment.tags.get(EXPERIMENT_KIND[0]) != EXPERIMENT_KIND[1]:  # made before the tag existed
        client.set_experiment_tag(experiment.experiment_id, *EXPERIMENT_KIND)
    if experiment.artifact_location != location:
        # A run's artifacts go where its experiment says; sharing one would put this grid's files in another grid's folder.
        raise ConfigError(
            f"mlflow.experiment: experiment {name!r} keeps its artifacts in {experiment.artifact_location}, not in this grid's "
            f"{location}; give this grid its own mlflow.experiment (or delete the MLflow store)"
        )
    return experiment.experiment_id


def grid_run_id(client: MlflowClient, experiment_id: str, grid: GridInfo) -> str:
    """The grid's parent run: found by its tags (created the first time), with provenance tags brought up to date."""
    runs = client.search_runs(
        [experiment_id], filter_string=f"tags.kind = 'grid' and tags.grid = '{grid.name}'", max_results=50000, order_by=["attributes.start_time ASC"]
    )
    if runs:
        run_id = runs[0].info.run_id
        for extra in runs[1:]:
            client.delete_run(extra.info.run_id)
    else:
        run_id = client.create_run(experiment_id, run_name=f"grid {grid.name}", tags={"kind": "grid", "grid": grid.name}).info.run_id
    tags = [RunTag(f"data_digest.{dataset}", digest) for dataset, digest in grid.data_digests.items()]
    if grid.git_commit:
        tags.append(RunTag(GIT_COMMIT_TAG, grid.git_commit))
    if tags:
        client.log_batch(run_id, tags=tags)
    client.set_terminated(run_id)
    return run_id


def _content_hash(row: dict, params: dict, artifacts: list[Path], parent: str) -> str:
    digest = hashlib.sha256(json.dumps([row, params, parent], sort_keys=True, default=str).encode())
    for path in artifacts:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def log_cell_runs(tracking_uri: str, experiment: str, artifact_root: Path, cells: list[dict], grid: GridInfo | None = None) -> dict:
    """cells: [{"row": table row, "params": {...}, "artifacts": [paths]}]. Returns counts of created/kept runs and the parent's id."""
    grid = grid or GridInfo()
    client = MlflowClient(tracking_uri=tracking_uri)
    experiment_id = _experiment_id(client, experiment, artifact_root)
    parent = grid_run_id(client, experiment_id, grid)
    existing: dict[str, list] = {}
    for run in client.search_runs([experiment_id], filter_string=f"tags.kind = 'cell' and tags.grid = '{grid.name}'", max_results=50000):
        existing.setdefault(run.data.tags.get("cell_id"), []).append(run)
    created = kept = 0
    for cell in cells:
        row, artifacts = cell["row"], [Path(p) for p in cell.get("artifacts", [])]
        content = _content_hash(row, cell["params"], artifacts, parent)
        runs = existing.get(row["cell_id"], [])
        if len(runs) == 1 and runs[0].data.tags.get("content_hash") == content:
            kept += 1
            continue
        for run in runs:
            client.delete_run(run.info.run_id)
        tags = {axis: str(row[axis]) for axis in AXES} | {
            "kind": "cell",
            "grid": grid.name,
            PARENT_ID_TAG: parent,
            "cell_id": row["cell_id"],
            "content_hash": content,
            "method_name": row.get("method_name", ""),
        }
        if row.get("dataset") in grid.data_digests:
            tags["data_digest"] = grid.data_digests[row["dataset"]]
        run = client.create_run(experiment_id, run_name=row["cell_id"].replace("/", " | "), tags=tags)
        metrics = [
            Metric(k, float(v), 0, 0)
            for k, v in row.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "seed" and not math.isnan(v)
        ]
        params = [Param(k, str(v)[:6000]) for k, v in sorted(cell["params"].items())]
        client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=[RunTag("task", str(row.get("task", "")))])
        for path in artifacts:
            client.log_artifact(run.info.run_id, str(path))
        client.set_terminated(run.info.run_id)
        created += 1
    return {"created": created, "kept": kept, "parent_run_id": parent}


def log_grid_tables(tracking_uri: str, experiment: str, artifact_root: Path, grid: GridInfo, tables: list[str | Path]) -> str:
    """The grid's tables (summary, attack summary, ...) as artifacts of its parent run under tables/, each Parquet
    table also as a CSV for reading in the browser. A re-run replaces the copies (log_table would append to them).
    Returns the parent's run id."""
    import tempfile

    import pandas as pd

    client = MlflowClient(tracking_uri=tracking_uri)
    parent = grid_run_id(client, _experiment_id(client, experiment, artifact_root), grid)
    with tempfile.TemporaryDirectory() as folder:
        for table in map(Path, tables):
            client.log_artifact(parent, str(table), artifact_path="tables")
            if table.suffix == ".parquet":
                csv = Path(folder) / f"{table.stem}.csv"
                pd.read_parquet(table).to_csv(csv, index=False)
                client.log_artifact(parent, str(csv), artifact_path="tables")
    return parent


def flatten_params(prefix: str, value, out: dict | None = None) -> dict:
    out = {} if out is None else out
    if isinstance(value, dict):
        for key, sub in value.items():
            flatten_params(f"{prefix}.{key}" if prefix else str(key), sub, out)
    else:
        out[prefix] = value
    return out
