"""The machine's faults: a full disk, a corrupt or silent tracking store, a missing device, a bug's traceback.

Each case asserts the exit (an error or a non-zero exit code), one line naming the file or config key, and that
nothing half-written appears while earlier results stay intact; `pytest -s` prints each line, prefixed `[battery]`.
"""

from __future__ import annotations

import copy
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import REPO, TINY_CONFIG, digest, fault_grid, one_line, write_config

from attrunlearn_core.atomic import save_json, save_torch
from attrunlearn_core.config import validate_config
from attrunlearn_core.errors import AttrUnlearnError, ConfigError
from attrunlearn_core.stale_lock import reads_only
from attrunlearn_core.tracking_store import check_tracking_store
from attrunlearn_core.training import pick_device

from workflow import snakemake

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")

GRID = fault_grid()


# ================================================================ the machine: disk, tracking store, device, bugs


def test_full_disk_names_the_file_and_writes_nothing(tmp_path, monkeypatch):
    import shutil as shutil_module

    def torch_save_on_a_full_disk(obj, path):
        Path(path).write_bytes(b"partial")
        raise RuntimeError("basic_ios::clear: iostream error")  # what torch.save raises when the disk fills

    monkeypatch.setattr(torch, "save", torch_save_on_a_full_disk)
    monkeypatch.setattr(shutil_module, "disk_usage", lambda _: shutil_module._ntuple_diskusage(10**9, 10**9, 0))
    target = tmp_path / "models" / "baseline.pt"
    with pytest.raises(AttrUnlearnError) as error:
        save_torch({"weights": 1}, target)
    one_line(f"attrunlearn: {error.value}", str(target), "the disk is full", "nothing was written")
    assert not list(target.parent.iterdir())


def test_full_disk_with_an_errno_is_named_whatever_the_free_space(tmp_path, monkeypatch):
    import errno

    def write_on_a_full_disk(self, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", write_on_a_full_disk)
    target = tmp_path / "cells" / "report.json"
    with pytest.raises(AttrUnlearnError) as error:
        save_json({"a": 1}, target)
    one_line(f"attrunlearn: {error.value}", str(target), "the disk is full")
    assert not list(target.parent.iterdir())


def test_corrupt_tracking_store_stops_the_dag_build_with_one_line(tmp_path):
    store = tmp_path / "results" / "mlflow.db"
    store.parent.mkdir()
    store.write_bytes(b"this is not a database" * 100)
    before = digest(store)
    result = snakemake(tmp_path, write_config(GRID, tmp_path / "grid.yaml"), "--cores", "1")
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("attrunlearn:")]
    assert len(errors) == 1, result.stderr
    one_line(errors[0], "mlflow.tracking_uri sqlite:///", "results/mlflow.db is not a usable MLflow store", "file is not a database")
    assert digest(store) == before and sorted(p.name for p in (tmp_path / "results").iterdir()) == ["mlflow.db"]


def test_tracking_server_that_does_not_answer_is_one_line():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(AttrUnlearnError) as error:
        check_tracking_store(f"http://127.0.0.1:{port}", "grid.yaml")
    one_line(f"attrunlearn: {error.value}", f"grid.yaml: mlflow.tracking_uri http://127.0.0.1:{port}", "does not answer", "refused")


@pytest.mark.parametrize("device", ["gpu", "cuda0", "CPU"])
def test_device_that_is_no_device_is_refused_at_dag_build(device):
    config = copy.deepcopy(TINY_CONFIG)
    config["device"] = device
    with pytest.raises(ConfigError) as error:
        validate_config(config, "tiny.yaml")
    one_line(f"attrunlearn: {error.value}", "tiny.yaml: device:", f"{device!r} is not one of auto, cpu, cuda or cuda:N")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without a GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_a_gpu_is_one_line_and_auto_falls_back(device):
    with pytest.raises(AttrUnlearnError) as error:
        pick_device(device)
    one_line(f"attrunlearn: {error.value}", f"device {device}", "no usable CUDA device", "use device: auto or cpu")
    assert pick_device("auto").type == "cpu"


def test_an_unexpected_error_reaches_the_jobs_log_with_its_traceback(tmp_path):
    log = tmp_path / "logs" / "job.log"
    job = (
        "from attrunlearn_core.runlog import run_logged\n"
        "def main():\n"
        "    import logging; logging.getLogger('job').info('started')\n"
        "    {}['missing key']\n"
        f"run_logged({str(log)!r}, main)\n"
    )
    result = subprocess.run([sys.executable, "-c", job], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if "attrunlearn:" in line or "Traceback" in line]
    one_line("\n".join(errors), str(log), "unexpected KeyError: 'missing key'", "its traceback is in that log")
    text = log.read_text()
    assert "INFO started" in text and "Traceback (most recent call last)" in text and "KeyError: 'missing key'" in text


@pytest.mark.parametrize(
    "argv, reading",
    [
        (["snakemake", "-n"], True),
        (["snakemake", "-np", "--cores", "2"], True),
        (["snakemake", "--dry-run"], True),
        (["snakemake", "--lint"], True),
        (["snakemake", "--cores", "1", "--report", "r.html"], True),
        (["snakemake", "--list-rules"], True),
        (["snakemake", "--cores", "all"], False),
        (["snakemake", "-j", "2", "--configfile", "configs/fronts.yaml"], False),
    ],
)
def test_which_snakemake_command_lines_take_no_lock(argv, reading):
    assert reads_only(argv) is reading
