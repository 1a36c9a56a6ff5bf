"""The tiny grid through profiles/slurm on a real Slurm gives the tables of a local run (`make test-slurm`).

`make test-slurm` starts a one-node Slurm (scripts/single-node-slurm.sh), sets ATTRUNLEARN_SLURM_TEST=1
and stops the daemons afterwards; without it this module is skipped, so no other run submits jobs anywhere.
"""

import copy
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from helpers import REPO, TINY_CONFIG, write_config

from workflow import snakemake

pytestmark = pytest.mark.skipif(not os.environ.get("ATTRUNLEARN_SLURM_TEST"), reason="needs the one-node Slurm of `make test-slurm`")

# Fits the 2-core node, and both runs give every job the same threads (so the same arithmetic).
RESOURCES = {
    "default": {"threads": 1, "mem_mb": 1500, "runtime": 15},
    "prepare": {"threads": 2},
    "train_baseline": {"threads": 2},
    "unlearn": {"threads": 2},
}
# squeue instead of sacct (no accounting here); the first status check after 2 s instead of 40.
SLURM_TEST_ARGS = ["--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2", "--jobs", "4"]


def comparable(path: Path) -> pd.DataFrame:
    """The table without its timing columns (and timing rows of method_metrics), in a fixed row order."""
    table = pd.read_parquet(path)
    table = table.drop(columns=[column for column in table.columns if "seconds" in column])
    if "name" in table.columns:
        table = table[~table["name"].astype(str).str.contains("seconds")]
    return table.sort_values(list(table.columns), ignore_index=True)


def run_grid(workdir: Path, *args: str) -> tuple[Path, str]:
    """The tables folder and Snakemake's log of the run."""
    workdir.mkdir()
    config = {**copy.deepcopy(TINY_CONFIG), "resources": RESOURCES}
    result = snakemake(workdir, write_config(config, workdir / "tiny.yaml"), *args, timeout=2400)
    assert result.returncode == 0, result.stderr[-4000:]
    return workdir / "results" / "default" / "tables", result.stdout + result.stderr


def test_the_tiny_grid_on_slurm_gives_the_local_tables(tmp_path):
    # Side by side: the Slurm run spends much of its time waiting on sbatch, squeue and job start-up.
    with ThreadPoolExecutor(max_workers=2) as pool:
        local_run = pool.submit(run_grid, tmp_path / "local", "--cores", "2")
        slurm_run = pool.submit(run_grid, tmp_path / "slurm", "--profile", str(REPO / "profiles" / "slurm"), *SLURM_TEST_ARGS)
        (local, _), (on_slurm, log) = local_run.result(), slurm_run.result()
    assert re.search(r"^rule train_baseline:", log, re.MULTILINE) and "submitted with SLURM jobid" in log
    assert re.search(r"^localrule aggregate:", log, re.MULTILINE)  # the MLflow writer never became a Slurm job
    names = sorted(path.name for path in local.glob("*.parquet"))
    assert {"cells.parquet", "attacks.parquet"} <= set(names)
    assert sorted(path.name for path in on_slurm.glob("*.parquet")) == names
    for name in names:
        pd.testing.assert_frame_equal(comparable(on_slurm / name), comparable(local / name), obj=name)
