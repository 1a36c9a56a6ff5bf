"""One cell's attack: h and penultimate features under the model being attacked, every attacker on each site,
on the full pool and on a fraction of it; fidelity on the test split from the same model load."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import torch

from attrunlearn_core.atomic import save_json
from attrunlearn_core.attackers import attackers_for, get_attacker_class
from attrunlearn_core.attackers.base import AttackerRecipe, FitData
from attrunlearn_core.attackers.pool import pool_subset
from attrunlearn_core.checkpoints import load_model
from attrunlearn_core.config import Cell
from attrunlearn_core.datasets.prepared import PreparedDataset, joint_labels
from attrunlearn_core.features import extract_features
from attrunlearn_core.metrics import chance_given_task, majority_rate
from attrunlearn_core.seeding import derive_seed, seed_everything
from attrunlearn_core.statistics import wilson_interval
from attrunlearn_core.training import pick_device

log = logging.getLogger(__name__)


def attacker_recipe(spec: dict) -> AttackerRecipe:
    return AttackerRecipe(**{k: v for k, v in spec.get("recipe", {}).items() if k in {f.name for f in dataclasses.fields(AttackerRecipe)}})


def _shuffled_control(names, subset: FitData, recipe, cell: Cell, test_x: torch.Tensor, test_z: torch.Tensor, device) -> list[dict]:
    """Every attacker refit on the same pool with z permuted within it, read on attacker-test's true z. Nothing links
    h to the permuted z, so an attacker reading above chance here (its family-wise 95 % Wilson interval, Bonferroni over
    the cell's attackers, above the majority rate) learns something other than the attribute: the split, the pool, or
    the pipeline leaks. It is flagged."""
    generator = torch.Generator().manual_seed(derive_seed(cell.seed, "shuffled-control", cell.path))
    permuted = FitData(
        subset.fit_x,
        subset.fit_z[torch.randperm(len(subset.fit_z), generator=generator)],
        subset.val_x,
        subset.val_z[torch.randperm(len(subset.val_z), generator=generator)],
        subset.num_classes,
    )
    chance, records = majority_rate(test_z), []
    fitted = attackers_for(tuple(subset.fit_x.shape[1:]), names)
    confidence = 1 - 0.05 / len(fitted)  # family-wise 95 % over the cell's attackers: five tests at 95 % each flag one in four nulls
    for name in fitted:
        seed = derive_seed(cell.seed, "shuffled-attacker", cell.path, name)
        seed_everything(seed)
        attacker = get_attacker_class(name)(recipe, seed, device).fit(permuted)
        correct = int((attacker.predict(test_x) == test_z).sum())
        low, high = wilson_interval(correct, len(test_z), confidence)
        records.append(
            {
                "attacker": name,
                "accuracy": correct / len(test_z),
                "num_correct": correct,
                "num_test": len(test_z),
                "wilson_low": low,
                "wilson_high": high,
            }
        )
        records[-1]["flagged"] = low > chance
        log.info(
            "%s shuffled control %s: accuracy %.4f [%.4f, %.4f] (chance %.4f)%s",
            cell.path,
            name,
            correct / len(test_z),
            low,
            high,
            chance,
            " FLAGGED" if low > chance else "",
        )
    return records


def fit_cell_attackers(
    spec: dict,
    task: str,
    device_name: str,
    cell: Cell,
    prepared_path: str | Path,
    model_path: str | Path,
    attacks_out: str | Path,
    fidelity_out: str | Path,
) -> None:
    """`spec` is the config's `attackers:` section."""
    prepared = PreparedDataset.load(prepared_path)
    device = pick_device(device_name)
    model = load_model(model_path)
    labels, classes = joint_labels(prepared, cell.attribute)

    test = extract_features(model, prepared.split_images("test"), device)
    test_task = prepared.split_labels("test", task)
    fidelity = (test["logits"].argmax(1) == test_task).float().mean().item()
    save_json({"accuracy": fidelity, "chance": majority_rate(test_task), "num_test": len(test_task)}, fidelity_out)

    pool_splits, recipe = spec["pool"], attacker_recipe(spec)
    pool = [extract_features(model, prepared.split_images(split), device) for split in pool_splits]
    pool_z = torch.cat([labels[prepared.splits[split]] for split in pool_splits])
    held_out = extract_features(model, prepared.split_images("attacker_test"), device)
    test_z = labels[prepared.splits["attacker_test"]]
    attacks, shuffled = [], []
    for site in spec["sites"]:
        pool_x = torch.cat([part[site] for part in pool]).float()
        for fraction in sorted({1.0, spec["saturation_fraction"], *spec.get("curve_fractions", [])}, reverse=True):
            subset = pool_subset(
                pool_x,
                pool_z,
                fraction,
                recipe.validation_fraction,
                classes,
                torch.Generator().manual_seed(derive_seed(cell.seed, "attack-pool", cell.path, site, fraction)),
            )
            if site == "split" and fraction == 1.0 and spec.get("shuffled_control", True):
                shuffled = _shuffled_control(spec["names"], subset, recipe, cell, held_out[site].float(), test_z, device)
            for name in attackers_for(tuple(pool_x.shape[1:]), spec["names"]):
                seed = derive_seed(cell.seed, "attacker", cell.path, site, name, fraction)
                seed_everything(seed)
                started = time.perf_counter()
                attacker = get_attacker_class(name)(recipe, seed, device).fit(subset)
                correct = int((attacker.predict(held_out[site].float()) == test_z).sum())
                low, high = wilson_interval(correct, len(test_z))
                attacks.append(
                    {
                        "site": site,
                        "attacker": name,
                        "pool_fraction": fraction,
                        "accuracy": correct / len(test_z),
                        "num_correct": correct,
                        "num_test": len(test_z),
                        "wilson_low": low,
                        "wilson_high": high,
                        "chance": majority_rate(test_z),
                        "validation_accuracy": attacker.validation_accuracy,
                        "best_epoch": attacker.best_epoch,
                        "num_train": len(subset.fit_z) + len(subset.val_z),
                        "seconds": time.perf_counter() - started,
                    }
                )
                log.info(
                    "%s %s %s pool %.2f (%d): accuracy %.4f [%.4f, %.4f], best epoch %d, %.1f s",
                    cell.path,
                    site,
                    name,
                    fraction,
                    attacks[-1]["num_train"],
                    attacks[-1]["accuracy"],
                    low,
                    high,
                    attacker.best_epoch,
                    attacks[-1]["seconds"],
                )
    task_test = prepared.split_labels("attacker_test", task)
    save_json(
        {
            "chance": majority_rate(test_z),
            "chance_given_task": chance_given_task(test_z, task_test),
            "pool": pool_splits,
            "saturation_fraction": spec["saturation_fraction"],
            "attacks": attacks,
            "shuffled_control": shuffled,
        },
        attacks_out,
    )
