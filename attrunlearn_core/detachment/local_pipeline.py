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
issues its kernels on its own CUDA stream; events order the handoffs between the streams, both
streams first wait for what the caller's stream queued, the tensors handed over are recorded on
the consuming stream (the allocator never reuses them early), and nothing in the loop asks the
host to wait (the loss meters are read once per epoch).

Whether the overlap pays depends on the machine: `LocalSchedule` measures it at the start of a
run and picks overlapped or sequential stages.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import queue
import threading
import time
from collections.abc import Iterable

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


def stage_streams(state: DetachmentState) -> tuple:
    """The two stages' CUDA streams (None, None off a GPU), made once per training state and reused by every
    overlapped run. Why once: cuBLAS keeps a workspace in the allocator for every (handle, stream) pair it has
    seen, for the life of the process, so fresh streams per epoch or probe round would add a workspace each time
    (the first GPU benchmark's local runs held 190-260 MB more than end-to-end after a probe and one epoch)."""
    if state.device.type != "cuda":
        return None, None
    if state.stage_streams is None:
        state.stage_streams = (torch.cuda.Stream(state.device), torch.cuda.Stream(state.device))
    return state.stage_streams


def _on(stream):
    return torch.cuda.stream(stream) if stream is not None else contextlib.nullcontext()


class _EpochRecord:
    """The stage clocks and loss meters of one epoch, whatever schedule(s) its steps ran with."""

    def __init__(self, device: torch.device):
        self.clock_extractor, self.clock_classifier = StageClock(device), StageClock(device)
        self.meter_extractor, self.meter_classifier = StatsMeter(), StatsMeter()
        self.started = time.perf_counter()

    def finish(self) -> tuple[dict[str, float], dict[str, float]]:
        stats = {**self.meter_extractor.means(), **self.meter_classifier.means()}  # .item() synchronises a GPU: the wall time is complete
        timing = {
            "wall_seconds": time.perf_counter() - self.started,
            "extractor_stage_seconds": self.clock_extractor.total(),
            "classifier_stage_seconds": self.clock_classifier.total(),
        }
        if not self.clock_extractor.cuda:
            timing["overlap_seconds"] = _overlap_seconds(self.clock_extractor.intervals, self.clock_classifier.intervals)
        return stats, timing


def _run_jobs(state: DetachmentState, batches: Iterable[StepBatch], record: _EpochRecord, overlapped: bool, stage_threads: tuple[int, int]) -> int:
    """Runs the batches with one schedule; returns how many there were."""
    if overlapped:
        return _run_pipelined(state, batches, record, stage_threads)
    count = 0
    for batch in batches:  # sequential: each stage in turn on the calling thread, with every intra-op thread
        with record.clock_extractor.busy():
            h, stats = state.extractor_step(batch)  # its backward has freed the extractor's graph before stage 2 runs
        record.meter_extractor.add(stats)
        with record.clock_classifier.busy():
            record.meter_classifier.add({**state.estimator_step(h, batch.attribute_parts), **state.classifier_step(h, batch.task)})
        count += 1
    return count


def run_local_epoch(
    state: DetachmentState, batches: Iterable[StepBatch], concurrent: bool = True, stage_threads: tuple[int, int] | None = None
) -> tuple[dict[str, float], dict[str, float]]:
    """One epoch with a fixed schedule. Returns (mean losses of both stages, timing: wall, busy seconds per stage, seconds both were busy)."""
    record = _EpochRecord(state.device)
    _run_jobs(state, batches, record, concurrent, stage_threads or split_threads(torch.get_num_threads()))
    return record.finish()


SCHEDULES = ("overlapped", "sequential")


class LocalSchedule:
    """Which schedule local mode runs on this machine: overlapped stages or sequential stages, picked by a measured probe.

    Why a probe: overlapping the stages pays only where the two stages together leave cores idle.
    On a small CPU, end-to-end's operators already spread over every core through intra-op threads
    (measured on 2 cores: 1.86-1.92x over one thread), so two stages with one core each lose to one
    stage at a time with both cores; on a GPU or a larger CPU the overlap wins. Which one holds
    depends on the machine, the model and the load, so the first steps of a run alternate between
    the two schedules, `probe_steps` steps at a time for `probe_rounds` rounds each (after three
    untimed steps that take each schedule's first-call costs), and the faster per step runs the rest.
    The probe's steps are ordinary training
    steps: both schedules make exactly the same updates, so the probe changes the speed, never the
    result. The probe may span epochs (it continues where the last epoch stopped).
    """

    def __init__(self, fixed: str | None = None, probe_steps: int = 3, probe_rounds: int = 2):
        if fixed not in (None, *SCHEDULES):
            raise ValueError(f"schedule {fixed!r} is not one of {', '.join(SCHEDULES)}")
        self.choice = fixed
        self.probed = fixed is None
        self.probe_steps, self.probe_rounds = max(2, probe_steps), max(1, probe_rounds)
        self.warmed = False
        self.timed = {name: [0.0, 0] for name in SCHEDULES}  # seconds, steps

    def run_epoch(
        self, state: DetachmentState, batches: Iterable[StepBatch], stage_threads: tuple[int, int] | None = None
    ) -> tuple[dict[str, float], dict[str, float]]:
        threads = stage_threads or split_threads(torch.get_num_threads())
        record = _EpochRecord(state.device)
        batches = iter(batches)
        while self.choice is None:
            if not self.warmed:
                # Untimed: one sequential step, then two overlapped ones. First-call costs (the allocator, kernel
                # selection; for the overlapped schedule its streams, their cuBLAS workspaces and the worker thread's
                # handles) would otherwise bias the arm that pays them (on an H200 the probe once chose sequential
                # while overlapped ran 15 % faster).
                self.warmed = _run_jobs(state, itertools.islice(batches, 1), record, False, threads) > 0
                if not self.warmed:
                    break
                _run_jobs(state, itertools.islice(batches, 2), record, True, threads)
                continue
            schedule = min(SCHEDULES, key=lambda name: self.timed[name][1])  # the arm with fewer timed steps; overlapped first
            _sync(state.device)
            started = time.perf_counter()
            count = _run_jobs(state, itertools.islice(batches, self.probe_steps), record, schedule == "overlapped", threads)
            _sync(state.device)
            if count == 0:
                break  # the epoch ended; the probe goes on in the next one
            self.timed[schedule][0] += time.perf_counter() - started
            self.timed[schedule][1] += count
            if all(steps >= self.probe_steps * self.probe_rounds for _, steps in self.timed.values()):
                self.choice = min(SCHEDULES, key=self._step_seconds)
        if self.choice is not None:
            _run_jobs(state, batches, record, self.choice == "overlapped", threads)
        return record.finish()

    def _step_seconds(self, schedule: str) -> float:
        seconds, steps = self.timed[schedule]
        return seconds / steps if steps else math.inf

    def metrics(self) -> dict[str, float]:
        """For the method's metrics: the schedule that ran (1 overlapped, 0 sequential) and the probe's seconds per step."""
        metrics = {}
        if self.choice is not None:
            metrics["local_schedule_overlapped"] = float(self.choice == "overlapped")
        if self.probed:
            metrics["probe_steps"] = float(sum(steps for _, steps in self.timed.values()))
            for schedule in SCHEDULES:
                if self.timed[schedule][1]:
                    metrics[f"probe_{schedule}_step_seconds"] = self._step_seconds(schedule)
        return metrics


def _sync(device: torch.device) -> None:
    """Probe only (never in the hot loop): the timed arm's kernels are finished."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


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


def _run_pipelined(state: DetachmentState, batches: Iterable[StepBatch], record: _EpochRecord, stage_threads: tuple[int, int]) -> int:
    clock_extractor, clock_classifier = record.clock_extractor, record.clock_classifier
    meter_extractor, meter_classifier = record.meter_extractor, record.meter_classifier
    handoff: queue.Queue = queue.Queue(maxsize=1)
    failure: list[BaseException] = []
    stream_extractor, stream_classifier = stage_streams(state)
    fitted = _HeadsFitted(stream_extractor is not None)

    def classifier_stage() -> None:
        torch.set_num_threads(stage_threads[1])
        try:
            with _on(stream_classifier):
                while (item := handoff.get()) is not None:
                    h, task, parts, ready = item
                    if ready is not None:
                        torch.cuda.current_stream().wait_event(ready)
                        for tensor in (h, task, *(labels for labels, _ in parts)):
                            if tensor.is_cuda:  # made on stage 1's stream: not reused until stage 2's kernels on it are done
                                tensor.record_stream(torch.cuda.current_stream())
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

    if stream_extractor is not None:  # both streams start after what the caller's stream already queued (earlier steps, the data)
        stream_extractor.wait_stream(torch.cuda.current_stream())
        stream_classifier.wait_stream(torch.cuda.current_stream())
    count = 0
    previous_threads = torch.get_num_threads()
    worker = threading.Thread(target=classifier_stage, name="detachment-classifier-stage", daemon=True)
    torch.set_num_threads(stage_threads[0])
    worker.start()
    try:
        with _on(stream_extractor):
            for step, batch in enumerate(batches):
                with clock_extractor.busy():
                    h, stats = state.extractor_step(batch, heads_ready=lambda step=step: fitted.wait_for(step))
                meter_extractor.add(stats)
                ready = None
                if stream_extractor is not None:
                    ready = torch.cuda.Event()
                    ready.record()
                handoff.put((h, batch.task, batch.attribute_parts, ready))
                count += 1
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
    return count
