"""Running the Snakemake workflow from tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from helpers import REPO


def snakemake(workdir: Path, configfile: Path, *args: str, timeout: int = 900, snakefile: Path = REPO / "Snakefile") -> subprocess.CompletedProcess:
    # The jobs import this checkout's library, also where the venv's editable install points at another checkout.
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": python_path}
    command = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "--directory", str(workdir), "--configfile", str(configfile), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=workdir)


def job_counts(dry_run_output: str) -> dict[str, int]:
    """Parse the 'Job stats' table of `snakemake -n`."""
    section = dry_run_output.split("Job stats:", 1)[1]
    counts = {}
    for line in section.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            break
        counts[match.group(1)] = int(match.group(2))
    return counts
