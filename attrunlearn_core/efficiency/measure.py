"""One mode of one model, measured in a process of its own: set up, warm up untimed, time the epochs, read the peak
memory of the timed epochs (after the warm-up and local mode's probe; also minus the memory held right before the
first step, i.e. what training itself added)."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from attrunlearn_core.atomic import save_json
from attrunlearn_core.efficiency.memory import PeakMemory
from attrunlearn_core.efficiency.modes import CPU_ONLY_MODES
from attrunlearn_core.fast_steps import FastSteps

log = logging.getLogger(__name__)


def measure_mode(spec: dict, mode: str, prepared_path: str | Path, threads: int) -> dict:
    """In a process of its own: set up one mode, warm up, time `epochs` epochs, read the peak memory.

    `spec` comes from EfficiencySettings.measurement_spec.
    """
    import torch

    from attrunlearn_core.datasets.prepared import PreparedDataset
    from attrunlearn_core.detachment.steps import StatsMeter
    from attrunlearn_core.methods.base import UnlearningContext
    from attrunlearn_core.methods.detachment import Detachment
    from attrunlearn_core.models import build_split_model
    from attrunlearn_core.seeding import derive_seed, seed_everything
    from attrunlearn_core.training import TrainingRecipe, pick_device

    torch.set_num_threads(1 if mode == "end_to_end_one_thread" else max(1, int(threads)))
    device = pick_device(spec["device"])
    if mode in CPU_ONLY_MODES and device.type != "cpu":
        return {"mode": mode, "skipped": f"measured on a CPU only, this is {device}"}
    prepared = PreparedDataset.load(prepared_path)
    model_spec = spec["model_spec"]
    seed = derive_seed(spec["seed"], "efficiency", model_spec["arch"])
    generator = seed_everything(seed)
    model = build_split_model(
        model_spec["arch"], prepared.num_classes[spec["task"]], model_spec["split_after"], prepared.images.shape[-1], model_spec.get("kwargs")
    )
    recipe = TrainingRecipe(epochs=1, batch_size=spec["batch_size"], hflip=spec["hflip"])
    context = UnlearningContext(prepared, spec["task"], spec["attribute"], recipe, device, generator, seed)
    params = {
        **spec["params"],
        "mode": "local" if mode.startswith("local") else "end_to_end",
        "concurrent": mode != "local_sequential",
        "epochs": 1 + spec["epochs"],
        "warmup_epochs": 0,
    }
    if mode == "local_overlapped":
        params["probe_steps"] = 0
    method = Detachment(params)
    state, data, plan = method.prepare(model, context)
    if not spec.get("fast_steps", True):  # the steps as they ran before the GPU options (a GPU's "before" row)
        state.fast = FastSteps()
        model.to(memory_format=torch.contiguous_format)
    if spec["max_steps"]:
        plan = [steps[: spec["max_steps"]] for steps in plan]

    def run(steps):
        if mode == "fine_tune":
            meter, started = StatsMeter(), time.perf_counter()
            for batch in data.batches(steps):
                meter.add(state.fine_tune_step(batch))
            meter.means()
            return {"wall_seconds": time.perf_counter() - started}
        return method.run_epoch(state, data.batches(steps))[1]

    cuda = device.type == "cuda"
    memory = PeakMemory(device)
    setup_memory = memory.current_mb()
    run(plan[0][: spec["warmup_steps"]])
    if mode == "local":  # the probe picks the schedule in the warm-up, so the timed epochs run the choice
        schedule = method.local_schedule
        while schedule.choice is None:
            run(plan[0][: schedule.probe_steps])
    memory.reset()
    timings = [run(steps) for steps in plan[1:]]
    peak = memory.peak_mb()
    result = {
        "mode": mode,
        "device": torch.cuda.get_device_name(device) if cuda else f"cpu ({torch.get_num_threads()} threads)",
        "fast_steps": state.fast != FastSteps(),
        "image_size": int(prepared.images.shape[-1]),
        "batch_size": spec["batch_size"],
        "steps_per_epoch": len(plan[1]),
        "epoch_seconds": [t["wall_seconds"] for t in timings],
        "latency": sum(t["wall_seconds"] for t in timings) / len(timings),
        "memory_measure": memory.measure,
        "peak_memory_mb": peak,
        "training_memory_mb": peak - setup_memory,
    }
    for name in ("extractor_stage_seconds", "classifier_stage_seconds", "overlap_seconds"):
        if name in timings[0]:
            result[name] = sum(t[name] for t in timings) / len(timings)
    if mode == "local":
        probe = method.local_schedule.metrics()
        result["local_schedule"] = "overlapped" if probe["local_schedule_overlapped"] else "sequential"
        result |= {name: probe[name] for name in ("probe_overlapped_step_seconds", "probe_sequential_step_seconds") if name in probe}
    if "overlap_seconds" in result:
        result["overlap_fraction"] = result["overlap_seconds"] / max(
            min(result["extractor_stage_seconds"], result["classifier_stage_seconds"]), 1e-12
        )
    return result


def measure_efficiency(spec: dict, mode: str, prepared_path: str | Path, threads: int, output: str | Path) -> dict:
    """Measure one mode of one model (in this process, which must be a fresh one) and write it as JSON."""
    started_at = time.time()
    result = measure_mode(spec, mode, prepared_path, threads)
    measurement = {"dataset": spec["dataset"], "model": spec["model"], "model_spec": spec["model_spec"], **result}
    measurement |= {"pid": os.getpid(), "started_at": started_at, "finished_at": time.time()}  # which process, and when
    save_json(measurement, output)
    if "skipped" in result:
        log.info("%s %s: skipped (%s)", spec["model"], mode, result["skipped"])
    else:
        log.info("%s %s: %.3fs/epoch, peak %.0f MB (%s)", spec["model"], mode, result["latency"], result["peak_memory_mb"], result["memory_measure"])
    return measurement


def main(argv: list[str]) -> None:
    """SPEC (a JSON file of measurement_spec) MODE PREPARED THREADS OUT: one measurement in this fresh process."""
    spec_path, mode, prepared_path, threads, output = argv
    measure_efficiency(json.loads(Path(spec_path).read_text()), mode, prepared_path, int(threads), output)
