"""The paper's Table 2: per model, the latency of one unlearning epoch in end-to-end and local mode,
the speed-up, the peak memory of each, and plain fine-tuning of the same model as the reference.

Every mode runs in a fresh Python process (this module run as `python -m ... SPEC OUT`), one after
the other, so each peak memory is that mode's own: the CUDA allocator's peak on a GPU, the
process's peak RSS on a CPU (also reported minus the RSS right before the first step, i.e. what
training itself added). The models start from fresh weights: latency and memory do not depend on
them, and the benchmark then needs no trained baseline per model. Timed epochs follow a few
untimed warm-up steps.
"""

from __future__ import annotations

import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from attrunlearn_core.atomic import atomic_path
from attrunlearn_core.errors import AttrUnlearnError, ConfigError

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
        ("memory_measure", pa.string()),  # what peak_memory_* is: cuda_max_allocated or peak_rss
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
        base = dict(config["methods"][self.method].get("params", {})) if self.method else {}
        return {**base, **self.params}


def benchmark_efficiency(config: dict, prepared_path: str | Path, output: str | Path, threads: int) -> list[dict]:
    from attrunlearn_core.training import pick_device

    settings = BenchmarkSettings.from_config(config)
    dataset = config["datasets"][settings.dataset]
    recipe = {**config["training"], **dataset.get("training", {})}
    device = pick_device(config.get("device", "auto"))
    rows = []
    for model_name in settings.models:
        model_spec = {"split_after": "layer2", **config["models"][model_name]}
        spec = {
            "prepared": str(prepared_path),
            "task": dataset["task"],
            "attribute": _first_attribute(dataset["attributes"]),
            "model": model_spec,
            "batch_size": settings.batch_size or recipe["batch_size"],
            "hflip": recipe.get("hflip", True),
            "epochs": settings.epochs,
            "warmup_steps": settings.warmup_steps,
            "max_steps": settings.max_steps,
            "params": settings.detachment_params(config),
            "device": str(device),
            "threads": threads,
            "seed": config["seed"],
        }
        modes = [mode for mode in MODES if device.type == "cpu" or mode not in CPU_ONLY_MODES]
        measured = {mode: measure_in_fresh_process({**spec, "mode": mode}) for mode in modes}
        rows.append(efficiency_row(settings.dataset, model_name, model_spec, measured))
        log.info("%s: %s", model_name, {k: v for k, v in rows[-1].items() if isinstance(v, float)})
    write_efficiency_table(rows, output)
    return rows


def write_efficiency_table(rows: list[dict], output: str | Path) -> None:
    """Atomically, with the documented schema (not via aggregate_results: the GPU script runs without mlflow)."""
    table = pa.Table.from_pylist([{name: row.get(name) for name in EFFICIENCY_SCHEMA.names} for row in rows], schema=EFFICIENCY_SCHEMA)
    with atomic_path(output) as tmp:
        pq.write_table(table, tmp)


def _first_attribute(attributes: list) -> str:
    first = attributes[0]
    return "+".join(first) if isinstance(first, list) else first


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


def measure_in_fresh_process(spec: dict) -> dict:
    with tempfile.TemporaryDirectory(prefix="attrunlearn-bench-") as folder:
        spec_path, result_path = Path(folder) / "spec.json", Path(folder) / "result.json"
        spec_path.write_text(json.dumps(spec))
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", __name__, str(spec_path), str(result_path)], capture_output=True, text=True)
        if done.returncode != 0 or not result_path.exists():
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            log.error("benchmark child (%s) failed:\n%s", spec["mode"], done.stderr[-4000:])
            raise AttrUnlearnError(f"efficiency benchmark: mode {spec['mode']} of {spec['model']['arch']} failed: {last}")
        result = json.loads(result_path.read_text())
    log.info(
        "%s %s: %.3fs/epoch, peak %.0f MB (%s), child ran %.1fs",
        spec["model"]["arch"],
        spec["mode"],
        result["latency"],
        result["peak_memory_mb"],
        result["memory_measure"],
        time.perf_counter() - started,
    )
    return result


# ---------------------------------------------------------------- the child process


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def measure_mode(spec: dict) -> dict:
    """Runs in the fresh process: set up one mode, warm up, time `epochs` epochs, read the peak memory."""
    from attrunlearn_core.datasets.prepared import PreparedDataset
    from attrunlearn_core.detachment.steps import StatsMeter
    from attrunlearn_core.methods.base import UnlearningContext
    from attrunlearn_core.methods.detachment import Detachment
    from attrunlearn_core.models import build_split_model
    from attrunlearn_core.seeding import derive_seed, seed_everything
    from attrunlearn_core.training import TrainingRecipe

    torch.set_num_threads(1 if spec["mode"] == "end_to_end_one_thread" else max(1, int(spec["threads"])))
    device = torch.device(spec["device"])
    prepared = PreparedDataset.load(spec["prepared"])
    seed = derive_seed(spec["seed"], "efficiency", spec["model"]["arch"])
    generator = seed_everything(seed)
    model = build_split_model(
        spec["model"]["arch"],
        prepared.num_classes[spec["task"]],
        spec["model"]["split_after"],
        prepared.images.shape[-1],
        spec["model"].get("kwargs"),
    )
    recipe = TrainingRecipe(epochs=1, batch_size=spec["batch_size"], hflip=spec["hflip"])
    context = UnlearningContext(prepared, spec["task"], spec["attribute"], recipe, device, generator, seed)
    mode = spec["mode"]
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
    if cuda:
        torch.cuda.synchronize(device)
        setup_memory = torch.cuda.memory_allocated(device) / 2**20
        torch.cuda.reset_peak_memory_stats(device)
    else:
        setup_memory = _rss_mb()
    run(plan[0][: spec["warmup_steps"]])
    if mode == "local":  # the probe picks the schedule in the warm-up, so the timed epochs run the choice
        schedule = method.local_schedule
        while schedule.choice is None:
            run(plan[0][: schedule.probe_steps])
    timings = [run(steps) for steps in plan[1:]]
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if cuda else _peak_rss_mb()
    result = {
        "mode": mode,
        "device": torch.cuda.get_device_name(device) if cuda else f"cpu ({torch.get_num_threads()} threads)",
        "image_size": int(prepared.images.shape[-1]),
        "batch_size": spec["batch_size"],
        "steps_per_epoch": len(plan[1]),
        "epoch_seconds": [t["wall_seconds"] for t in timings],
        "latency": sum(t["wall_seconds"] for t in timings) / len(timings),
        "memory_measure": "cuda_max_allocated" if cuda else "peak_rss",
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


def main(argv: list[str]) -> None:
    spec_path, result_path = argv
    result = measure_mode(json.loads(Path(spec_path).read_text()))
    Path(result_path).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
