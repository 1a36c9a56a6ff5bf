"""Local mode: module-wise updates with no backward locking, as a two-stage pipeline.

Stage 1 (the calling thread) runs, for batch t, the extractor forward, the auxiliary losses, their
backward and the extractor-side optimiser step, then hands a detached copy of h_t to stage 2.
Stage 2 (a worker thread) fits the attribute heads on h_t (the estimators need no gradient from the
extractor) and trains the classifier on h_t, while stage 1 already works on batch t+1. Stage 1 waits
for the heads' fit on h_t only right before batch t+1's attribute term, after its extractor
forward. Each module and optimiser belongs to one stage (BatchNorm buffers included), the stages
exchange h and labels through a FIFO queue, and no stage writes parameters the other is reading,
so the result equals running the stages one after the other (`concurrent=False`), bit for bit where
the kernels are deterministic.

Why this overlaps: PyTorch releases the GIL inside every operator and runs a CPU backward on the
calling thread, so the two Python threads execute kernels at the same time. Each stage sets its own
intra-op budget with torch.set_num_threads (with the OpenMP backend the setting applies to the
calling thread's parallel regions), e.g. one core each on a 2-core machine. On a GPU each stage
issues its kernels on its own CUDA stream; events order the handoffs between the streams.
"""
from __future__ import annotations

import contextlib
import queue
import threading
import time
from typing import Iterable

import torch

from attrunlearn_core.detachment.steps import DetachmentState, StatsMeter, StepBatch


class StageClock:
    """Busy time of one stage: perf_counter on the CPU, CUDA events on the stage's stream on a GPU."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"
        self.seconds = 0.0
        self.events: list[tuple] = []
        self.intervals: list[tuple[float, float]] = []  # CPU only: (start, end) for measuring overlap

    @contextlib.contextmanager
    def busy(self):
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            yield
            end.record()
            self.events.append((start, end))
        else:
            started = time.perf_counter()
            yield
            ended = time.perf_counter()
            self.seconds += ended - started
            self.intervals.append((started, ended))

    def total(self) -> float:
        if self.cuda:
            torch.cuda.synchronize()
            return sum(start.elapsed_time(end) for start, end in self.events) / 1000.0
        return self.seconds


def _overlap_seconds(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    """Total time during which both stages were busy (both interval lists are sorted and disjoint)."""
    total, j = 0.0, 0
    for start, end in a:
        while j < len(b) and b[j][1] <= start:
            j += 1
        k = j
        while k < len(b) and b[k][0] < end:
            total += max(0.0, min(end, b[k][1]) - max(start, b[k][0]))
            k += 1
    return total


def split_threads(total: int) -> tuple[int, int]:
    """Intra-op threads for (extractor stage, classifier stage): the cores split between the two."""
    total = max(2, total)
    return total - total // 2, total // 2


def _stream(device: torch.device):
    return torch.cuda.Stream(device) if device.type == "cuda" else None


def _on(stream):
    return torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()


def run_local_epoch(state: DetachmentState, batches: Iterable[StepBatch], concurrent: bool = True,
                    stage_threads: tuple[int, int] | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """Returns (mean losses of both stages, timing: wall, busy seconds per stage, seconds both were busy)."""
    clock_extractor, clock_classifier = StageClock(state.device), StageClock(state.device)
    meter_extractor, meter_classifier = StatsMeter(), StatsMeter()
    started = time.perf_counter()
    if concurrent:
        _run_pipelined(state, batches, clock_extractor, clock_classifier, meter_extractor, meter_classifier,
                       stage_threads or split_threads(torch.get_num_threads()))
    else:
        for batch in batches:
            with clock_extractor.busy():
                h, stats = state.extractor_step(batch)
            meter_extractor.add(stats)
            with clock_classifier.busy():
                meter_classifier.add({**state.estimator_step(h, batch.attribute_parts), **state.classifier_step(h, batch.task)})
    stats = {**meter_extractor.means(), **meter_classifier.means()}
    wall = time.perf_counter() - started
    timing = {"wall_seconds": wall, "extractor_stage_seconds": clock_extractor.total(), "classifier_stage_seconds": clock_classifier.total()}
    if not clock_extractor.cuda:
        timing["overlap_seconds"] = _overlap_seconds(clock_extractor.intervals, clock_classifier.intervals)
    return stats, timing


class _HeadsFitted:
    """How many batches stage 2 has fitted the attribute heads on; stage 1 waits on it (or on stage 2's failure)."""

    def __init__(self, cuda: bool):
        self.count = 0
        self.events: list = []  # CUDA: event recorded on stage 2's stream after each fit
        self.failed = False
        self.cuda = cuda
        self.condition = threading.Condition()

    def done(self) -> None:
        with self.condition:
            if self.cuda:
                event = torch.cuda.Event()
                event.record()
                self.events.append(event)
            self.count += 1
            self.condition.notify_all()

    def fail(self) -> None:
        with self.condition:
            self.failed = True
            self.condition.notify_all()

    def wait_for(self, count: int) -> None:
        with self.condition:
            self.condition.wait_for(lambda: self.count >= count or self.failed)
            if self.failed:
                raise RuntimeError("the classifier stage failed")
            if self.cuda and count:
                torch.cuda.current_stream().wait_event(self.events[count - 1])


def _run_pipelined(state, batches, clock_extractor, clock_classifier, meter_extractor, meter_classifier, stage_threads) -> None:
    handoff: queue.Queue = queue.Queue(maxsize=1)
    failure: list[BaseException] = []
    stream_extractor, stream_classifier = _stream(state.device), _stream(state.device)
    fitted = _HeadsFitted(stream_extractor is not None)

    def classifier_stage() -> None:
        torch.set_num_threads(stage_threads[1])
        try:
            with _on(stream_classifier):
                while (item := handoff.get()) is not None:
                    h, task, parts, ready = item
                    if ready is not None:
                        torch.cuda.current_stream().wait_event(ready)
                        h.record_stream(torch.cuda.current_stream())
                    with clock_classifier.busy():
                        stats = state.estimator_step(h, parts)
                        fitted.done()
                        stats |= state.classifier_step(h, task)
                    meter_classifier.add(stats)
        except BaseException as error:  # noqa: BLE001 - re-raised in the calling thread
            failure.append(error)
            fitted.fail()
            while handoff.get() is not None:  # keep draining so stage 1 never blocks on a full queue
                pass

    previous_threads = torch.get_num_threads()
    worker = threading.Thread(target=classifier_stage, name="detachment-classifier-stage", daemon=True)
    torch.set_num_threads(stage_threads[0])
    worker.start()
    try:
        with _on(stream_extractor):
            for step, batch in enumerate(batches):
                with clock_extractor.busy():
                    h, stats = state.extractor_step(batch, heads_ready=lambda: fitted.wait_for(step))
                meter_extractor.add(stats)
                ready = None
                if stream_extractor is not None:
                    ready = torch.cuda.Event()
                    ready.record()
                handoff.put((h, batch.task, batch.attribute_parts, ready))
    except RuntimeError:
        if not failure:
            raise
    finally:
        handoff.put(None)
        worker.join()
        torch.set_num_threads(previous_threads)
        if stream_extractor is not None:
            torch.cuda.synchronize(state.device)  # both streams done before anyone reads their results
    if failure:
        raise failure[0]
