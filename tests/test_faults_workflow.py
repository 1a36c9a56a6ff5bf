"""The workflow under faults: many cores, divergence, concurrency, kill -9 and the same command again.

Each case asserts the exit (an error or a non-zero exit code), one line naming the file or config key, and that
nothing half-written appears while earlier results stay intact; `pytest -s` prints each line, prefixed `[battery]`.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import REPO, digest, fault_grid, nothing_half_written, one_line, write_config
from mlflow.tracking import MlflowClient

from attrunlearn_core.stale_lock import clear_stale_lock

from workflow import snakemake

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


# ================================================================ the workflow: many cores, divergence, concurrency, kill -9 and rerun

GRID = fault_grid()
GRID["attackers"] = {**GRID["attackers"], "names": ["linear"], "sites": ["split"]}
GRID["mlflow"] = {"experiment": "battery"}


def make_run_command(workdir: Path, configfile: Path) -> list[str]:
    """The design's plain `snakemake --cores ...` (what `make run` runs), against another working directory and config."""
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(configfile)] + [
        "--cores",
        "8",
    ]


def _run(workdir: Path, configfile: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(make_run_command(workdir, configfile), capture_output=True, text=True, env=env, timeout=600, **kwargs)


def comparable_tables(workdir: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for path in sorted((workdir / "results" / "default" / "tables").glob("*.parquet")):  # every table the grid writes
        name, frame = path.stem, pd.read_parquet(path)
        frame = frame[[c for c in frame.columns if "seconds" not in c]]
        if "name" in frame.columns:
            frame = frame[~frame["name"].str.contains("seconds")]
        tables[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return tables


def mlflow_runs(workdir: Path):
    client = MlflowClient(tracking_uri=f"sqlite:///{workdir}/results/mlflow.db")
    return client.search_runs([client.get_experiment_by_name("battery").experiment_id], filter_string="tags.kind = 'cell'")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """The tiny grid with --cores 8 on this machine: more jobs than cores, aggregate the only MLflow writer."""
    workdir = tmp_path_factory.mktemp("uninterrupted")
    result = _run(workdir, write_config(GRID, workdir / "grid.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def _killed_in_training(tmp_path_factory, whole_group: bool) -> dict:
    """The grid under plain snakemake, killed with SIGKILL in the middle of training (the snakemake process alone, or
    its whole process group), then the same command again."""
    workdir = tmp_path_factory.mktemp("killed_group" if whole_group else "killed_snakemake")
    configfile = write_config(GRID, workdir / "grid.yaml")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    first = subprocess.Popen(
        make_run_command(workdir, configfile), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
    )
    epoch_saved = workdir / "results/default/models/embedded/resnet18/seed0/baseline.pt.inprogress"
    deadline = time.monotonic() + 300
    while not epoch_saved.exists() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert first.poll() is None, "the run ended before it could be killed"
    if whole_group:
        os.killpg(first.pid, signal.SIGKILL)
    else:
        os.kill(first.pid, signal.SIGKILL)
    first.wait()
    state = {
        "locks": sorted(p.name for p in (workdir / ".snakemake/locks").glob("*.lock")),
        "had_baseline": (workdir / "results/default/models/embedded/resnet18/seed0/baseline.pt").exists(),
    }
    state["rerun"] = _run(workdir, configfile)
    state["workdir"] = workdir
    if not whole_group:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(first.pid, signal.SIGKILL)  # the killed run's orphaned job, if it still trains
    return state


@pytest.fixture(scope="module")
def killed(tmp_path_factory) -> dict:
    return _killed_in_training(tmp_path_factory, whole_group=True)


@pytest.fixture(scope="module")
def killed_snakemake_only(tmp_path_factory) -> dict:
    return _killed_in_training(tmp_path_factory, whole_group=False)


def test_many_cores_against_mlflow_one_run_per_cell(uninterrupted):
    runs = mlflow_runs(uninterrupted)
    assert len(runs) == 1 and runs[0].data.tags["method"] == "original"
    nothing_half_written(uninterrupted / "results")


def test_concurrent_run_is_refused_with_one_line(tmp_path):
    """A second run while a live snakemake holds the directory's lock (here a stand-in process named snakemake)."""
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("held")
    stand_in = tmp_path / "snakemake"
    stand_in.write_text("import time\ntime.sleep(300)\n")
    live = subprocess.Popen([sys.executable, str(stand_in)], cwd=tmp_path)
    try:
        result = _run(tmp_path, write_config(GRID, tmp_path / "grid.yaml"))
        dry_run = snakemake(tmp_path, tmp_path / "grid.yaml", "-n")  # takes no lock, so it may look while a grid runs
    finally:
        live.kill()
        live.wait()
    assert dry_run.returncode == 0, dry_run.stderr[-2000:]
    assert "another snakemake run" not in dry_run.stderr and (locks / "0.input.lock").exists()
    assert result.returncode == 1
    assert (locks / "0.input.lock").exists() and not (tmp_path / "results").exists()
    errors = [line for line in result.stderr.splitlines() if "Error" in line or line.startswith("attrunlearn:")]
    assert len(errors) == 1, result.stderr
    one_line(errors[0], "attrunlearn: ", ".snakemake/locks", "another snakemake run (pid", "wait for it to finish")


@pytest.mark.parametrize("kill", ["killed", "killed_snakemake_only"])
def test_kill_9_then_the_same_plain_snakemake_command_completes(kill, request):
    killed = request.getfixturevalue(kill)
    assert killed["locks"], "the killed run left no lock: the stale-lock case was not exercised"
    assert not killed["had_baseline"], "killed after training finished: the incomplete-job case was not exercised"
    rerun = killed["rerun"]
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    notice = [line for line in rerun.stderr.splitlines() if line.startswith("attrunlearn:")]
    one_line("\n".join(notice), "removed the stale lock of a killed run", "resuming")
    if kill == "killed":  # with the snakemake process alone killed, its orphaned job may finish first: then it is rerun whole
        assert "resuming" in (killed["workdir"] / "results/default/logs/train_baseline/embedded/resnet18/seed0.log").read_text()
    nothing_half_written(killed["workdir"] / "results")


@pytest.mark.parametrize("kill", ["killed", "killed_snakemake_only"])
def test_kill_9_and_rerun_gives_the_uninterrupted_tables(kill, request, uninterrupted):
    killed = request.getfixturevalue(kill)
    resumed, reference = comparable_tables(killed["workdir"]), comparable_tables(uninterrupted)
    assert {"cells", "attacks"} <= set(reference) and set(resumed) == set(reference)
    for name in reference:
        pd.testing.assert_frame_equal(resumed[name], reference[name])
    assert len(mlflow_runs(killed["workdir"])) == len(mlflow_runs(uninterrupted)) == 1


def test_stale_lock_alone_is_removed_and_a_live_one_kept(tmp_path):
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("x")
    assert clear_stale_lock(tmp_path) and not list(locks.glob("*.lock"))
    assert not clear_stale_lock(tmp_path)  # nothing to do


def test_divergence_in_the_workflow_leaves_earlier_tables_and_mlflow_intact(uninterrupted, tmp_path):
    workdir = tmp_path / "diverging"
    shutil.copytree(uninterrupted, workdir, ignore=shutil.ignore_patterns("grid.yaml"))
    earlier = {name: digest(workdir / "results" / name) for name in ("default/tables/cells.parquet", "default/tables/attacks.parquet", "mlflow.db")}
    runs_before = {r.info.run_id for r in mlflow_runs(workdir)}
    config = copy.deepcopy(GRID)
    config["training"]["lr"] = 1000000.0
    result = _run(workdir, write_config(config, tmp_path / "diverging.yaml"))
    assert result.returncode == 1
    log = (workdir / "results/default/logs/train_baseline/embedded/resnet18/seed0.log").read_text()
    errors = [line.split(" ERROR ", 1)[1] for line in log.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "Traceback" not in log
    one_line(errors[0], "train_baseline embedded/resnet18/0", "training diverged", "loss is nan at epoch", "step", "lower the learning rate")
    assert errors[0] in result.stderr  # on the console too
    baseline = workdir / "results/default/models/embedded/resnet18/seed0"
    assert not (baseline / "baseline.pt").exists() and not (baseline / "baseline.pt.inprogress").exists()
    assert {name: digest(workdir / "results" / name) for name in earlier} == earlier
    assert {r.info.run_id for r in mlflow_runs(workdir)} == runs_before
    nothing_half_written(workdir / "results")


def test_makefile_run_is_the_command_the_battery_kills():
    recipe = (REPO / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert recipe.splitlines()[-1].split() == ["$(BIN)/snakemake", "--cores", "all", "$(SNAKEMAKE_ARGS)"]
    profile = yaml.safe_load((REPO / "profiles/default/config.yaml").read_text())
    assert profile == {"rerun-incomplete": True}
