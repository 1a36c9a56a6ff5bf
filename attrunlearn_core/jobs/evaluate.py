from __future__ import annotations

import logging
from pathlib import Path

from attrunlearn_core.atomic import load_json, save_json
from attrunlearn_core.config import Cell
from attrunlearn_core.evaluation import cell_row

log = logging.getLogger(__name__)


def evaluate_cell(
    method_name: str, task: str, cell: Cell, report_path: str | Path, fidelity_path: str | Path, attacks_path: str | Path, output: str | Path
) -> None:
    attack = load_json(attacks_path)
    report = load_json(report_path)
    row = cell_row(cell, method_name, task, load_json(fidelity_path), attack, float(report["method_seconds"]))
    row["baseline_epochs"] = report.get("baseline_epochs")
    save_json({"row": row, "attacks": attack["attacks"], "method_metrics": report["method_metrics"]}, output)
    log.info(
        "%s: fidelity %.4f efficacy %.4f (%s; half pool %.4f) chance %.4f | given task %.4f, AUM %.4f",
        cell.path,
        row["fidelity"],
        row["efficacy"],
        row["efficacy_attacker"],
        row["efficacy_half_pool"],
        row["chance"],
        row["chance_given_task"],
        row["aum"],
    )
