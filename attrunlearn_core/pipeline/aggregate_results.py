from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from attrunlearn_core.atomic import atomic_path, load_json
from attrunlearn_core.config import Cell, experiment_name, method_spec, training_recipe
from attrunlearn_core.results_table import ATTACK_SUMMARY_SCHEMA, ATTACKS_SCHEMA, CELLS_SCHEMA, METHOD_METRICS_SCHEMA, SUMMARY_SCHEMA
from attrunlearn_core.summary import summarise_attacks, summarise_cells
from attrunlearn_core.tracking import GridInfo, flatten_params, log_cell_runs

log = logging.getLogger(__name__)


def write_table(rows: list[dict], schema: pa.Schema, path: str | Path) -> None:
    table = pa.Table.from_pylist([{name: row.get(name) for name in schema.names} for row in rows], schema=schema)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def cell_params(config: dict, cell: Cell) -> dict:
    method_name, params = method_spec(config, cell.method)
    dataset = {k: v for k, v in config["datasets"][cell.dataset].items() if k != "training"}
    return flatten_params(
        "",
        {
            "method": {"name": method_name, **params},
            "dataset": dataset,
            "model": config["models"][cell.model],
            "training": training_recipe(config, cell.dataset),
            "attackers": config["attackers"],
            "data_seed": config["seed"],
        },
    )


def aggregate_results(
    config: dict,
    cells: list[Cell],
    metrics_paths: list[str | Path],
    cells_out: str | Path,
    attacks_out: str | Path,
    method_metrics_out: str | Path,
    summary_out: str | Path,
    attack_summary_out: str | Path,
    artifacts: dict[str, list[Path]] | None = None,
    mlflow_artifact_root: str | Path = "results/default/mlflow-artifacts",
    grid: GridInfo | None = None,
) -> pd.DataFrame:
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
                "params": cell_params(config, cell),
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
    counts = log_cell_runs(
        config["mlflow"]["tracking_uri"],
        experiment_name(config),
        Path(mlflow_artifact_root),
        runs,
        grid=grid or GridInfo(config.get("name", "default")),
    )
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
