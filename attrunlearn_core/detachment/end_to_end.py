"""End-to-end mode: every step is one forward and one global backward through extractor, classifier and auxiliaries."""

from __future__ import annotations

import time
from collections.abc import Iterable

from attrunlearn_core.detachment.steps import DetachmentState, StatsMeter, StepBatch


def run_end_to_end_epoch(state: DetachmentState, batches: Iterable[StepBatch]) -> tuple[dict[str, float], dict[str, float]]:
    """Returns (mean losses, timing {wall_seconds})."""
    meter = StatsMeter()
    started = time.perf_counter()
    for batch in batches:
        meter.add(state.end_to_end_step(batch))
    stats = meter.means()  # .item() synchronises a GPU, so the wall time below is complete
    return stats, {"wall_seconds": time.perf_counter() - started}
