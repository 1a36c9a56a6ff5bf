from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

from attrunlearn_core.atomic import load_torch, save_json
from attrunlearn_core.attackers import attackers_for
from attrunlearn_core.attackers.fit import AttackerRecipe, fit_attacker
from attrunlearn_core.config import Cell
from attrunlearn_core.datasets.prepared import PreparedDataset, joint_labels
from attrunlearn_core.seeding import derive_seed, seed_everything
from attrunlearn_core.training import pick_device

log = logging.getLogger(__name__)


def fit_cell_attackers(config: dict, cell: Cell, site: str, prepared_path: str | Path, features_path: str | Path, output: str | Path) -> None:
    """Every configured attacker on one feature site, trained from scratch on attacker-train."""
    prepared = PreparedDataset.load(prepared_path)
    features = load_torch(features_path)
    labels, classes = joint_labels(prepared, cell.attribute)
    train_z, test_z = labels[prepared.splits["attacker_train"]], labels[prepared.splits["attacker_test"]]
    train_x, test_x = features["attacker_train"][site], features["attacker_test"][site]
    defaults = {f.name for f in dataclasses.fields(AttackerRecipe)}
    recipe = AttackerRecipe(**{k: v for k, v in config["attackers"].get("recipe", {}).items() if k in defaults})
    device = pick_device(config.get("device", "auto"))
    results = []
    for name in attackers_for(tuple(train_x.shape[1:]), config["attackers"]["names"]):
        generator = seed_everything(derive_seed(cell.seed, "attacker", cell.path, site, name))
        result = fit_attacker(name, train_x, train_z, test_x, test_z, classes, recipe, generator, device)
        result["site"] = site
        log.info("%s %s %s: accuracy %.4f (chance %.4f, best epoch %d)", cell.path, site, name, result["accuracy"], result["chance"], result["best_epoch"])
        results.append(result)
    save_json(results, output)
