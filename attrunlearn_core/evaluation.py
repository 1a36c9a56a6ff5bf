"""Combine fidelity and attacker results of one grid cell into its table row."""
from __future__ import annotations

import math

from attrunlearn_core.config import Cell
from attrunlearn_core.metrics import aum, chance_normalised_aum


def cell_row(cell: Cell, method_name: str, task: str, fidelity: dict, attacks: list[dict], method_seconds: float) -> dict:
    at_split = [a for a in attacks if a["site"] == "split"]
    at_penultimate = [a for a in attacks if a["site"] == "penultimate"]
    if not at_split:
        raise ValueError(f"{cell.path}: no attacker ran on the split features")
    worst = max(at_split, key=lambda a: a["accuracy"])
    by_name = {a["attacker"]: a["accuracy"] for a in at_split}
    efficacy, chance = worst["accuracy"], worst["chance"]
    return {
        "dataset": cell.dataset, "model": cell.model, "attribute": cell.attribute, "method": cell.method, "seed": cell.seed,
        "method_name": method_name,
        "task": task,
        "fidelity": fidelity["accuracy"],
        "task_chance": fidelity["chance"],
        "efficacy": efficacy,
        "efficacy_attacker": worst["attacker"],
        "chance": chance,
        "efficacy_linear": by_name.get("linear", math.nan),
        "efficacy_mlp": by_name.get("mlp", math.nan),
        "efficacy_resnet": by_name.get("resnet", math.nan),
        "efficacy_penultimate": max((a["accuracy"] for a in at_penultimate), default=math.nan),
        "aum": aum(efficacy, fidelity["accuracy"]),
        "aum_chance_normalised": chance_normalised_aum(efficacy, chance, fidelity["accuracy"], fidelity["chance"]),
        "method_seconds": method_seconds,
        "cell_id": cell.path,
    }
