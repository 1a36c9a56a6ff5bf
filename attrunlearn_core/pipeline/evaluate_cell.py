from __future__ import annotations

import logging
from pathlib import Path

from attrunlearn_core.atomic import load_json, save_json
from attrunlearn_core.config import Cell, method_spec
from attrunlearn_core.evaluation import cell_row

log = logging.getLogger(__name__)


def evaluate_cell(config: dict, cell: Cell, report_path: str | Path, fidelity_path: str | Path, attack_paths: list[str | Path], output: str | Path) -> None:
    attacks = [a for path in attack_paths for a in load_json(path)]
    report = load_json(report_path)
    method_seconds, method_metrics = float(report["method_seconds"]), report["method_metrics"]
    row = cell_row(cell, method_spec(config, cell.method)[0], config["datasets"][cell.dataset]["task"], load_json(fidelity_path), attacks, method_seconds)
    save_json({"row": row, "attacks": attacks, "method_metrics": method_metrics}, output)
    log.info("%s: fidelity %.4f efficacy %.4f (chance %.4f, %s) AUM %.4f", cell.path, row["fidelity"], row["efficacy"], row["chance"], row["efficacy_attacker"], row["aum"])
