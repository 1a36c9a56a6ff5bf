from __future__ import annotations

import logging
import time
from pathlib import Path

from attrunlearn_core.atomic import save_json
from attrunlearn_core.checkpoints import load_checkpoint, save_checkpoint
from attrunlearn_core.config import Cell
from attrunlearn_core.datasets.prepared import PreparedDataset
from attrunlearn_core.methods import UnlearningContext, get_method_class
from attrunlearn_core.seeding import derive_seed, seed_everything
from attrunlearn_core.training import TrainingRecipe, pick_device

log = logging.getLogger(__name__)


def apply_method(
    cell: Cell,
    prepared_path: str | Path,
    start_path: str | Path,
    output: str | Path,
    report_out: str | Path,
    *,
    method: dict,
    task: str,
    recipe: dict,
    model_spec: dict,
    device: str = "auto",
) -> None:
    """Unlearn one cell: the model to `output`; its wall time and self-reported numbers to `report_out` (JSON, read by evaluate).

    `method` is the grid method's config entry ({method: <registered name>, params: {...}}), `recipe` the dataset's
    training recipe and `model_spec` the model's config entry (the starting checkpoint must have been written for it).
    """
    prepared = PreparedDataset.load(prepared_path)
    method_name, params = method["method"], method.get("params", {})
    unlearning = get_method_class(method_name)(params)
    seed = derive_seed(cell.seed, "method", cell.path)
    context = UnlearningContext(
        prepared=prepared,
        task=task,
        attribute=cell.attribute,
        recipe=TrainingRecipe.from_config(recipe),
        device=pick_device(device),
        generator=seed_everything(seed),
        seed=seed,
    )
    start = load_checkpoint(start_path, expected={"dataset": cell.dataset, "model": model_spec, "seed": cell.seed})
    context.start_info = {k: v for k, v in start.items() if k not in ("model", "optimizer")}
    model = start["model"].to(context.device)
    started = time.perf_counter()
    result = unlearning.unlearn(model, context)
    seconds = time.perf_counter() - started + result.extra_seconds
    log.info("%s: %s took %.1fs %s", cell.path, method_name, seconds, result.metrics)
    save_checkpoint(
        output,
        result.model,
        config={"method": method_name, "params": unlearning.params, "cell": cell.path},
        method_seconds=seconds,
        method_metrics=result.metrics,
    )
    numbers = {k: float(v) for k, v in result.metrics.items() if isinstance(v, (int, float))}
    report = {"cell": cell.path, "method": method_name, "method_seconds": seconds, "method_metrics": numbers}
    # How long the starting model (baseline-1, or baseline-2) trained before its validation plateau; 0 for a user's own.
    report["baseline_epochs"] = int(start.get("epoch") or 0)
    save_json(report, report_out)
