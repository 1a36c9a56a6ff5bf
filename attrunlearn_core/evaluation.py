"""Combine fidelity and attacker results of one grid cell into its table row."""

from __future__ import annotations

import math

from attrunlearn_core.config import Cell
from attrunlearn_core.metrics import aum, chance_normalised_aum

# The full pool beating the half pool by more than this means the efficacy still climbs with attacker data.
SATURATION_MARGIN = 0.02


def _worst(attacks: list[dict], site: str, fraction: float) -> dict | None:
    candidates = [a for a in attacks if a["site"] == site and a["pool_fraction"] == fraction]
    return max(candidates, key=lambda a: a["accuracy"], default=None)


def cell_row(cell: Cell, method_name: str, task: str, fidelity: dict, attack: dict, method_seconds: float) -> dict:
    """`attack` is what the cell's attack step wrote: chance levels and one record per site x attacker x pool fraction."""
    attacks, shuffled = attack["attacks"], attack.get("shuffled_control", [])
    worst = _worst(attacks, "split", 1.0)
    if worst is None:
        raise ValueError(f"{cell.path}: no attacker ran on the split features with the full pool")
    fractions = sorted({a["pool_fraction"] for a in attacks if a["pool_fraction"] < 1.0})
    # the still-climbing check compares with the saturation fraction, whatever learning-curve fractions ran beside it
    part = attack.get("saturation_fraction", fractions[-1] if fractions else None)
    worst_half = _worst(attacks, "split", part) if part is not None else None
    penultimate = _worst(attacks, "penultimate", 1.0)
    efficacy, chance, given_task = worst["accuracy"], attack["chance"], attack["chance_given_task"]
    half = worst_half["accuracy"] if worst_half else math.nan
    return {
        "dataset": cell.dataset,
        "model": cell.model,
        "attribute": cell.attribute,
        "method": cell.method,
        "seed": cell.seed,
        "method_name": method_name,
        "task": task,
        "fidelity": fidelity["accuracy"],
        "task_chance": fidelity["chance"],
        "efficacy": efficacy,
        "efficacy_attacker": worst["attacker"],
        "efficacy_site": worst["site"],
        "chance": chance,
        "chance_given_task": given_task,
        "efficacy_half_pool": half,
        "efficacy_still_climbing": bool(efficacy - half > SATURATION_MARGIN) if worst_half else False,
        "efficacy_penultimate": penultimate["accuracy"] if penultimate else math.nan,
        "shuffled_efficacy": max((a["accuracy"] for a in shuffled), default=math.nan),
        "shuffled_flagged": ",".join(sorted(a["attacker"] for a in shuffled if a["flagged"])),
        "aum": aum(efficacy, fidelity["accuracy"]),
        "aum_chance_normalised": chance_normalised_aum(efficacy, max(chance, given_task), fidelity["accuracy"], fidelity["chance"]),
        "method_seconds": method_seconds,
        "cell_id": cell.path,
    }
