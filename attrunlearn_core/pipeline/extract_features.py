from __future__ import annotations

import logging
from pathlib import Path

import torch

from attrunlearn_core.atomic import save_json, save_torch
from attrunlearn_core.checkpoints import load_model
from attrunlearn_core.datasets.prepared import PreparedDataset
from attrunlearn_core.features import extract_features as extract
from attrunlearn_core.metrics import majority_rate
from attrunlearn_core.training import pick_device

log = logging.getLogger(__name__)


def extract_cell_features(config: dict, dataset: str, prepared_path: str | Path, model_path: str | Path, features_out: str | Path, fidelity_out: str | Path) -> None:
    """Features of the attacker splits (float16 to keep them small) and task accuracy on the test split."""
    prepared = PreparedDataset.load(prepared_path)
    task = config["datasets"][dataset]["task"]
    device = pick_device(config.get("device", "auto"))
    model = load_model(model_path)
    features = {}
    for split in ("attacker_train", "attacker_test"):
        extracted = extract(model, prepared.split_images(split), device)
        features[split] = {"split": extracted["split"].half(), "penultimate": extracted["penultimate"].half()}
    test = extract(model, prepared.split_images("test"), device)
    targets = prepared.split_labels("test", task)
    fidelity = (test["logits"].argmax(1) == targets).float().mean().item()
    save_torch(features, features_out)
    save_json({"accuracy": fidelity, "chance": majority_rate(targets), "num_test": len(targets)}, fidelity_out)
    log.info("fidelity %.4f; h %s; penultimate %s", fidelity, tuple(features["attacker_train"]["split"].shape[1:]), tuple(features["attacker_train"]["penultimate"].shape[1:]))
