"""The efficiency table: one row per model from its modes' measurements, Parquet with EFFICIENCY_SCHEMA."""

from __future__ import annotations

import logging
from pathlib import Path

import pyarrow as pa

from attrunlearn_core.atomic import load_json
from attrunlearn_core.results_table import write_table

log = logging.getLogger(__name__)

EFFICIENCY_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("model", pa.string()),
        ("arch", pa.string()),
        ("split_after", pa.string()),
        ("device", pa.string()),  # e.g. "cpu (2 threads)" or the GPU's name
        ("fast_steps", pa.bool_()),  # the GPU options were on (attrunlearn_core/fast_steps.py; always off on a CPU)
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
        "fast_steps": local.get("fast_steps", False),
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
