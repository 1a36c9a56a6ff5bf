"""The paper's Table 2: per model, the latency of one unlearning epoch in end-to-end and local mode,
the speed-up, the peak memory of each, and plain fine-tuning of the same model as the reference.

Every (model, mode) is measured in a process of its own, one after the other, so each peak memory is that
mode's own: the CUDA allocator's peak on a GPU, the process's peak RSS on a CPU, both over the timed epochs
(after the warm-up and local mode's probe; also reported minus the memory held right before the first step,
i.e. what training itself added). In the workflow each measurement is one
Snakemake job (rules/benchmark.smk); benchmarks/gpu_efficiency.py runs this module once per mode
(`python -m attrunlearn_core.pipeline.benchmark_efficiency SPEC MODE PREPARED THREADS OUT`). efficiency_table
joins the measurements into one row per model. The models start from fresh weights: latency and memory do not
depend on them, and the benchmark then needs no trained baseline per model. Timed epochs follow a few untimed
warm-up steps.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from attrunlearn_core.atomic import load_json, save_json
from attrunlearn_core.config import attribute_names, training_recipe
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.results_table import write_table

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

# Measured modes: the method's two modes (local as shipped: its probe picks the schedule, see
# LocalSchedule; the probe runs in the untimed warm-up), local mode with each schedule forced
# (overlapped stages; sequential stages, the same updates one stage after the other) to separate
# the pipelining gain, end-to-end on one intra-op thread (how well the operators alone already use
# the cores, which bounds what overlapping the stages can add; CPU only) and plain fine-tuning.
MODES = ("fine_tune", "end_to_end", "end_to_end_one_thread", "local_sequential", "local_overlapped", "local")
CPU_ONLY_MODES = ("end_to_end_one_thread",)

EFFICIENCY_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("model", pa.string()),
        ("arch", pa.string()),
        ("split_after", pa.string()),
        ("device", pa.string()),  # e.g. "cpu (2 threads)" or the GPU's name
        ("image_size", pa.int64()),
        ("batch_size", pa.int64()),
        ("steps_per_epoch", pa.int64()),
        ("timed_epochs", pa.int64()),
        ("latency_end_to_end", pa.float64()),  # seconds per unlearning epoch
        ("latency_local", pa.float64()),  # seconds per unlearning epoch, pipelined stages
        ("latency_local_sequential", pa.float64()),  # local updates without overlap
        ("latency_local_overlapped", pa.float64()),  # local updates, stages always overlapped
        ("local_schedule", pa.string()),  # the schedule local mode's probe picked: overlapped or sequential
        ("probe_overlapped_step_seconds", pa.float64()),  # the probe's seconds per step of each schedule
        ("probe_sequential_step_seconds", pa.float64()),
        ("latency_fine_tune", pa.float64()),  # plain fine-tuning epoch (task loss only), the overhead reference
        ("latency_end_to_end_one_thread", pa.float64()),  # end_to_end with one intra-op thread
        ("intra_op_scaling", pa.float64()),  # latency_end_to_end_one_thread / latency_end_to_end: the cores' use without pipelining
        ("speedup", pa.float64()),  # latency_end_to_end / latency_local
        ("speedup_from_overlap", pa.float64()),  # latency_local_sequential / latency_local_overlapped
        ("overhead_end_to_end", pa.float64()),  # latency_end_to_end / latency_fine_tune
        ("overhead_local", pa.float64()),  # latency_local / latency_fine_tune
        ("extractor_stage_seconds", pa.float64()),  # per epoch, busy time of stage 1 (extractor + auxiliary networks), overlapped run
        ("classifier_stage_seconds", pa.float64()),  # per epoch, busy time of stage 2 (attribute heads + classifier), overlapped run
        ("extractor_stage_seconds_alone", pa.float64()),  # the same in the sequential run (no contention between stages)
        ("classifier_stage_seconds_alone", pa.float64()),
        ("speedup_ceiling", pa.float64()),  # (stage 1 + stage 2) / max(stage 1, stage 2), from the sequential run
        ("overlap_fraction", pa.float64()),  # share of the shorter stage's busy time spent alongside the other (CPU only)
        ("memory_measure", pa.string()),  # what peak_memory_* is, over the timed epochs: cuda_max_allocated or peak_rss
        ("peak_memory_end_to_end_mb", pa.float64()),
        ("peak_memory_local_mb", pa.float64()),
        ("peak_memory_fine_tune_mb", pa.float64()),
        ("memory_ratio", pa.float64()),  # peak_memory_local_mb / peak_memory_end_to_end_mb
        ("training_memory_end_to_end_mb", pa.float64()),  # peak minus the memory held right before the first step
        ("training_memory_local_mb", pa.float64()),
        ("training_memory_fine_tune_mb", pa.float64()),
        ("training_memory_ratio", pa.float64()),
    ]
)


@dataclass
class BenchmarkSettings:
    """The config's `benchmark:` section (the keys this step reads)."""

    dataset: str
    models: list[str]
    epochs: int = 2  # timed epochs per mode
    warmup_steps: int = 3  # untimed steps first (allocator, kernel selection)
    batch_size: int = 0  # 0: the dataset's training batch size
    method: str | None = None  # a grid method name whose params the benchmark uses (its mode is overridden)
    params: dict = field(default_factory=dict)  # further overrides of the detachment params
    max_steps: int = 0  # >0: cap the steps of an epoch (quick runs, tests)

    @classmethod
    def from_config(cls, config: dict) -> BenchmarkSettings:
        section = dict(config.get("benchmark") or {})
        section.pop("recovery", None)  # read by the image-recovery step
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(section) - known)
        if unknown:
            raise ConfigError(f"benchmark: unknown key(s) {', '.join(unknown)} (known: recovery, {', '.join(sorted(known))})")
        for key in ("dataset", "models"):
            if key not in section:
                raise ConfigError(f"benchmark.{key}: missing (the dataset and models to time)")
        settings = cls(**section)
        if settings.dataset not in config["datasets"]:
            raise ConfigError(f"benchmark.dataset: {settings.dataset!r} is not defined under datasets:")
        for model in settings.models:
            if model not in config["models"]:
                raise ConfigError(f"benchmark.models: {model!r} is not defined under models:")
        if settings.method is not None and config["methods"].get(settings.method, {}).get("method") != "detachment":
            raise ConfigError(f"benchmark.method: {settings.method!r} is not a grid method of kind detachment")
        return settings

    def detachment_params(self, config: dict) -> dict:
        """Every detachment parameter, resolved over the method's defaults (a changed default reruns the measurement)."""
        from attrunlearn_core.methods.detachment import Detachment

        base = dict(config["methods"][self.method].get("params", {})) if self.method else {}
        return Detachment.resolve_params({**base, **self.params})

    def measurement_spec(self, config: dict, model_name: str) -> dict:
        """What measuring `model_name` reads of the config, whatever the mode (a measurement job's params)."""
        recipe = training_recipe(config, self.dataset)
        model = config["models"][model_name]
        return {
            "dataset": self.dataset,
            "model": model_name,
            "model_spec": {"split_after": "layer2", **{key: model[key] for key in ("arch", "split_after", "kwargs") if key in model}},
            "task": config["datasets"][self.dataset]["task"],
            "attribute": attribute_names(config, self.dataset)[0],
            "batch_size": self.batch_size or recipe["batch_size"],
            "hflip": recipe.get("hflip", True),
            "epochs": self.epochs,
            "warmup_steps": self.warmup_steps,
            "max_steps": self.max_steps,
            "params": self.detachment_params(config),
            "device": config.get("device", "auto"),
            "seed": config["seed"],
        }


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class PeakMemory:
    """The peak memory of the timed epochs only: the CUDA allocator's peak on a GPU, the peak RSS on a CPU.

    Why reset after the warm-up: local mode's probe runs a few overlapped steps before it settles on a
    schedule, and a peak over the whole process would charge a sequential run with the probe's transient.
    On Linux the RSS high-water mark is reset by writing 5 to /proc/self/clear_refs; where that is not
    possible the CPU peak covers the whole process and `measure` says so.
    """

    def __init__(self, device: torch.device):
        import torch  # here, not at the top: the DAG build and the table job import this module without torch

        self.cuda_api = torch.cuda
        self.device = device
        self.cuda = device.type == "cuda"
        self.measure = "cuda_max_allocated" if self.cuda else "peak_rss"

    def current_mb(self) -> float:
        if self.cuda:
            self.cuda_api.synchronize(self.device)
            return self.cuda_api.memory_allocated(self.device) / 2**20
        return _status_mb("VmRSS")

    def reset(self) -> None:
        if self.cuda:
            self.cuda_api.synchronize(self.device)
            self.cuda_api.reset_peak_memory_stats(self.device)
            return
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            self.measure = "peak_rss_whole_process"

    def peak_mb(self) -> float:
        if self.cuda:
            return self.cuda_api.max_memory_allocated(self.device) / 2**20
        if self.measure == "peak_rss":
            return _status_mb("VmHWM")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def measure_mode(spec: dict, mode: str, prepared_path: str | Path, threads: int) -> dict:
    """In a process of its own: set up one mode, warm up, time `epochs` epochs, read the peak memory.

    `spec` comes from BenchmarkSettings.measurement_spec.
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


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def efficiency_row(dataset: str, model_name: str, model_spec: dict, measured: dict[str, dict]) -> dict:
    e2e, local, sequential, fine_tune = (measured[m] for m in ("end_to_end", "local", "local_sequential", "fine_tune"))
    overlapped = measured.get("local_overlapped", local)
    one_thread = measured.get("end_to_end_one_thread", {}).get("latency")
    alone_a, alone_b = sequential["extractor_stage_seconds"], sequential["classifier_stage_seconds"]
    return {
        "dataset": dataset,
        "model": model_name,
        "arch": model_spec["arch"],
        "split_after": model_spec["split_after"],
        "device": local["device"],
        "image_size": local["image_size"],
        "batch_size": local["batch_size"],
        "steps_per_epoch": local["steps_per_epoch"],
        "timed_epochs": len(local["epoch_seconds"]),
        "latency_end_to_end": e2e["latency"],
        "latency_local": local["latency"],
        "latency_local_sequential": sequential["latency"],
        "latency_local_overlapped": overlapped["latency"],
        "local_schedule": local.get("local_schedule"),
        "probe_overlapped_step_seconds": local.get("probe_overlapped_step_seconds"),
        "probe_sequential_step_seconds": local.get("probe_sequential_step_seconds"),
        "latency_fine_tune": fine_tune["latency"],
        "latency_end_to_end_one_thread": one_thread,
        "intra_op_scaling": _ratio(one_thread, e2e["latency"]),
        "speedup": _ratio(e2e["latency"], local["latency"]),
        "speedup_from_overlap": _ratio(sequential["latency"], overlapped["latency"]),
        "overhead_end_to_end": _ratio(e2e["latency"], fine_tune["latency"]),
        "overhead_local": _ratio(local["latency"], fine_tune["latency"]),
        "extractor_stage_seconds": overlapped["extractor_stage_seconds"],
        "classifier_stage_seconds": overlapped["classifier_stage_seconds"],
        "extractor_stage_seconds_alone": alone_a,
        "classifier_stage_seconds_alone": alone_b,
        "speedup_ceiling": (alone_a + alone_b) / max(alone_a, alone_b, 1e-12),
        "overlap_fraction": overlapped.get("overlap_fraction"),
        "memory_measure": local["memory_measure"],
        "peak_memory_end_to_end_mb": e2e["peak_memory_mb"],
        "peak_memory_local_mb": local["peak_memory_mb"],
        "peak_memory_fine_tune_mb": fine_tune["peak_memory_mb"],
        "memory_ratio": _ratio(local["peak_memory_mb"], e2e["peak_memory_mb"]),
        "training_memory_end_to_end_mb": e2e["training_memory_mb"],
        "training_memory_local_mb": local["training_memory_mb"],
        "training_memory_fine_tune_mb": fine_tune["training_memory_mb"],
        "training_memory_ratio": _ratio(local["training_memory_mb"], e2e["training_memory_mb"]),
    }


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


def efficiency_table(measurement_paths: list[str | Path], output: str | Path) -> list[dict]:
    """One row per model (in the order first measured) from its modes' measurements; Parquet with EFFICIENCY_SCHEMA."""
    by_model: dict[str, list[dict]] = {}
    for path in measurement_paths:
        measurement = load_json(path)
        by_model.setdefault(measurement["model"], []).append(measurement)
    rows = []
    for model_name, measurements in by_model.items():
        first = measurements[0]
        measured = {m["mode"]: m for m in measurements if "skipped" not in m}
        rows.append(efficiency_row(first["dataset"], model_name, first["model_spec"], measured))
        log.info("%s: %s", model_name, {k: v for k, v in rows[-1].items() if isinstance(v, float)})
    write_table(rows, EFFICIENCY_SCHEMA, output)
    return rows


def main(argv: list[str]) -> None:
    """SPEC (a JSON file of measurement_spec) MODE PREPARED THREADS OUT: one measurement in this fresh process."""
    spec_path, mode, prepared_path, threads, output = argv
    measure_efficiency(json.loads(Path(spec_path).read_text()), mode, prepared_path, int(threads), output)


if __name__ == "__main__":
    main(sys.argv[1:])
