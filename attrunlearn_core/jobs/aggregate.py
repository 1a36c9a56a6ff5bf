from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from attrunlearn_core.atomic import load_json
from attrunlearn_core.config import Cell
from attrunlearn_core.results_table import (
    ATTACK_SUMMARY_SCHEMA,
    ATTACKS_SCHEMA,
    CELLS_SCHEMA,
    METHOD_METRICS_SCHEMA,
    SUMMARY_SCHEMA,
    write_table,
)
from attrunlearn_core.summary import summarise_attacks, summarise_cells
from attrunlearn_core.tracking import GridInfo, flatten_params, log_cell_runs

log = logging.getLogger(__name__)


def aggregate_results(
    cells: list[Cell],
    metrics_paths: list[str | Path],
    cells_out: str | Path,
    attacks_out: str | Path,
    method_metrics_out: str | Path,
    summary_out: str | Path,
    attack_summary_out: str | Path,
    *,
    cell_params: dict[str, dict],
    tracking_uri: str,
    experiment: str,
    grid: GridInfo,
    artifacts: dict[str, list[Path]] | None = None,
    mlflow_artifact_root: str | Path = "results/default/mlflow-artifacts",
) -> pd.DataFrame:
    """The grid's tables, and one MLflow run per cell under the grid's parent run.

    `cell_params`: Cell.path -> the settings its run records (config.cell_run_params); `artifacts`: Cell.path -> files
    attached to its run besides its metrics JSON.
    """
    rows, attack_rows, method_rows, runs = [], [], [], []
    keys = ("dataset", "model", "attribute", "method", "seed")
    for cell, path in zip(cells, metrics_paths, strict=True):
        metrics = load_json(path)
        row = metrics["row"]
        rows.append(row)
        attack_rows += [{**{k: row[k] for k in keys}, **attack} for attack in metrics["attacks"]]
        method_rows += [{**{k: row[k] for k in keys}, "name": name, "value": value} for name, value in metrics.get("method_metrics", {}).items()]
        runs.append(
            {
                "row": {**row, **{f"method.{k}": v for k, v in metrics.get("method_metrics", {}).items()}},
                "params": flatten_params("", cell_params[cell.path]),
                "artifacts": [Path(path), *(artifacts or {}).get(cell.path, [])],
            }
        )
    write_table(rows, CELLS_SCHEMA, cells_out)
    write_table(attack_rows, ATTACKS_SCHEMA, attacks_out)
    write_table(method_rows, METHOD_METRICS_SCHEMA, method_metrics_out)
    summary = summarise_cells(pd.DataFrame(rows, columns=CELLS_SCHEMA.names))
    write_table(summary.to_dict("records"), SUMMARY_SCHEMA, summary_out)
    write_table(
        summarise_attacks(pd.DataFrame(attack_rows, columns=ATTACKS_SCHEMA.names)).to_dict("records"), ATTACK_SUMMARY_SCHEMA, attack_summary_out
    )
    counts = log_cell_runs(tracking_uri, experiment, Path(mlflow_artifact_root), runs, grid=grid)
    log.info(
        "tables: %d cells, %d attacker rows; MLflow runs created %d, unchanged %d", len(rows), len(attack_rows), counts["created"], counts["kept"]
    )
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        log.info(
            "\n%s",
            summary[
                [
                    "dataset",
                    "model",
                    "attribute",
                    "method",
                    "n_seeds",
                    "fidelity_mean",
                    "efficacy_mean",
                    "efficacy_ci_low",
                    "efficacy_ci_high",
                    "efficacy_attacker",
                    "efficacy_still_climbing",
                    "shuffled_efficacy_mean",
                    "shuffled_flagged",
                    "chance",
                    "chance_given_task",
                    "aum_mean",
                    "aum_chance_normalised_mean",
                ]
            ]
            .round(4)
            .to_string(index=False),
        )
    return pd.DataFrame(rows)
