"""The peak memory of the timed epochs only: the CUDA allocator's peak on a GPU, the peak RSS on a CPU."""

from __future__ import annotations

import resource
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class PeakMemory:
    """Why reset after the warm-up: local mode's probe runs a few overlapped steps before it settles on a
    schedule, and a peak over the whole process would charge a sequential run with the probe's transient.
    On Linux the RSS high-water mark is reset by writing 5 to /proc/self/clear_refs; where that is not
    possible the CPU peak covers the whole process and `measure` says so.
    """

    def __init__(self, device: torch.device):
        import torch  # here, not at the top: the DAG build imports this package without torch

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
