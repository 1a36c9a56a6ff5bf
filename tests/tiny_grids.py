"""The two tiny grids that the workflow tests share, run once per test session, one after the other in one directory.

Grid `a` is the whole tiny grid (two attributes, every attacker on both sites) for baseline-1 and detachment; grid
`b` runs baseline-2 and the peer methods on the joint attribute with one attacker. Each tiny grid costs a minute or
two on 2 cores, mostly process starts, so the tests of the tables, MLflow, the report and each method read these two.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from helpers import TINY_CONFIG, write_config

from workflow import snakemake

JOINT = "color+background"

PEER_METHODS = {
    "instance_unlearning_attribute": {
        "method": "instance_unlearning",
        "params": {"forget_set": "attribute", "forget_values": [0, 5], "max_steps": 4},
    },
    "instance_unlearning_random": {"method": "instance_unlearning", "params": {"forget_set": "random", "forget_size": 16, "max_steps": 4}},
    "leace": {"method": "leace"},
    "adversarial": {"method": "adversarial"},
}


def grid_a() -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config["name"] = "a"
    config["methods"]["detachment_local"] = {"method": "detachment", "params": {"mode": "local", "epochs": 1, "head_steps": 1}}
    config["grid"]["methods"] = list(config["methods"])
    return config


def grid_b() -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config["name"] = "b"
    config["datasets"]["embedded"]["attributes"] = [["color", "background"]]  # a joint z: every peer method supports it
    config["attackers"].update(names=["linear"], sites=["split"])
    config["methods"] |= {"baseline2": {"method": "gradcam_retrain", "params": {"attribute_epochs": 1, "fraction": 0.25}}, **PEER_METHODS}
    config["grid"]["methods"] = list(config["methods"])
    return config


@dataclass(frozen=True)
class TinyGrids:
    workdir: Path
    configs: dict[str, Path]  # grid name -> its config file
    settings: dict[str, dict]  # grid name -> the config as written

    def results(self, name: str) -> Path:
        return self.workdir / "results" / name


def run_tiny_grids(workdir: Path) -> TinyGrids:
    settings = {config["name"]: config for config in (grid_a(), grid_b())}
    configs = {name: write_config(config, workdir / f"{name}.yaml") for name, config in settings.items()}
    for configfile in configs.values():
        result = snakemake(workdir, configfile, "--cores", "2", timeout=2400)
        assert result.returncode == 0, result.stderr[-3000:]
    return TinyGrids(workdir, configs, settings)
