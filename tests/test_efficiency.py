"""The efficiency measurement (the paper's Table 2), its MLflow runs and the rules that produce them."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from itertools import pairwise

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from helpers import REPO, write_config
from PIL import Image

from attrunlearn_core.config import validate_config
from attrunlearn_core.datasets.embedded import load_embedded
from attrunlearn_core.datasets.prepared import prepare
from attrunlearn_core.detachment.batch_plan import plan_epochs
from attrunlearn_core.detachment.local_pipeline import SCHEDULES, LocalSchedule
from attrunlearn_core.detachment.losses import class_mean_gap, conditional_class_mean_gap, supcon_loss
from attrunlearn_core.detachment.steps import TrainSplit
from attrunlearn_core.efficiency.modes import MODES
from attrunlearn_core.efficiency.settings import EfficiencySettings
from attrunlearn_core.efficiency.table import EFFICIENCY_SCHEMA, efficiency_row
from attrunlearn_core.errors import ConfigError
from attrunlearn_core.methods import UnlearningContext, get_method_class
from attrunlearn_core.models import build_split_model
from attrunlearn_core.results_table import write_table
from attrunlearn_core.seeding import seed_everything
from attrunlearn_core.tracking import log_cell_runs
from attrunlearn_core.tracking_efficiency import log_efficiency_runs
from attrunlearn_core.training import TrainingRecipe

from workflow import snakemake

EFFICIENCY = {"dataset": "embedded", "models": ["resnet18"], "epochs": 1, "warmup_steps": 1, "max_steps": 2, "batch_size": 16}


@pytest.fixture
def config(tiny_config):
    tiny_config["methods"] |= {
        "detachment_end_to_end": {"method": "detachment", "params": {"mode": "end_to_end", "head_steps": 1}},
        "detachment_local": {"method": "detachment", "params": {"mode": "local", "head_steps": 1}},
    }
    tiny_config["efficiency"] = dict(EFFICIENCY, method="detachment_local")
    return tiny_config


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"epoch": 2}, "'epoch' was unexpected"),
        ({"dataset": None}, "'dataset' is a required property"),
        ({"epochs": 0}, "efficiency.epochs"),
        ({"dataset": "cifar"}, "'cifar' is not defined"),
        ({"models": ["vgg"]}, "'vgg' is not defined"),
        ({"method": "original"}, "efficiency.method"),
    ],
)
def test_efficiency_settings_errors_are_one_line_and_name_the_key(config, change, fragment):
    config["efficiency"].update(change)
    config["efficiency"] = {k: v for k, v in config["efficiency"].items() if v is not None}
    with pytest.raises(ConfigError) as error:
        EfficiencySettings.from_config(validate_config(config))
    assert fragment in str(error.value) and "\n" not in str(error.value)


def test_the_efficiency_sections_defaults_are_the_settings(config):
    config["efficiency"] = {"dataset": "embedded", "models": ["resnet18"]}
    assert EfficiencySettings.from_config(validate_config(config)) == EfficiencySettings("embedded", ["resnet18"])


def test_a_config_of_an_earlier_release_is_told_where_its_section_went(config):
    config["benchmark"] = config.pop("efficiency")
    with pytest.raises(ConfigError, match=r"'benchmark' is not a key any more: .*`efficiency:`"):
        validate_config(config)


def test_efficiency_params_come_from_the_named_grid_method_then_overrides(config):
    config["efficiency"]["params"] = {"head_steps": 2}
    settings = EfficiencySettings.from_config(config)
    params = settings.detachment_params(config)
    assert params["mode"] == "local" and params["head_steps"] == 2  # the grid method's, then the section's override
    assert params == {**get_method_class("detachment").DEFAULTS, "mode": "local", "head_steps": 2}  # every default resolved


def measured(latency: float, peak: float, **extra) -> dict:
    return {
        "latency": latency,
        "peak_memory_mb": peak,
        "training_memory_mb": peak / 2,
        "device": "cpu (2 threads)",
        "image_size": 32,
        "batch_size": 128,
        "steps_per_epoch": 16,
        "epoch_seconds": [latency],
        "memory_measure": "peak_rss",
        **extra,
    }


def test_efficiency_row_ratios():
    stages = {"extractor_stage_seconds": 3.0, "classifier_stage_seconds": 1.0}
    row = efficiency_row(
        "embedded",
        "resnet18",
        {"arch": "resnet18", "split_after": "layer2"},
        {
            "fine_tune": measured(2.0, 500),
            "end_to_end": measured(6.0, 800),
            "end_to_end_one_thread": measured(9.0, 700),
            "local_sequential": measured(5.0, 700, **stages),
            "local": measured(4.0, 600, overlap_fraction=0.9, **stages),
        },
    )
    assert row["speedup"] == pytest.approx(1.5) and row["speedup_from_overlap"] == pytest.approx(1.25)
    assert row["memory_ratio"] == pytest.approx(0.75) and row["training_memory_ratio"] == pytest.approx(0.75)
    assert row["overhead_end_to_end"] == pytest.approx(3.0) and row["overhead_local"] == pytest.approx(2.0)
    assert row["speedup_ceiling"] == pytest.approx(4 / 3) and row["intra_op_scaling"] == pytest.approx(1.5)
    pa.Table.from_pylist([row], schema=EFFICIENCY_SCHEMA)  # the row fits the documented schema


PEAK_AFTER_RESET = """
import numpy as np, torch
from attrunlearn_core.efficiency.memory import PeakMemory
memory = PeakMemory(torch.device("cpu"))
transient = np.ones(256 * 2**20 // 8)  # 256 MB touched, then freed: the warm-up's peak
del transient
memory.reset()
before = memory.peak_mb()
held = np.ones(64 * 2**20 // 8)  # 64 MB in the timed window
print(memory.measure, memory.peak_mb() - before, held.sum() > 0)
"""


def test_the_peak_memory_covers_only_what_ran_after_the_reset():
    """The warm-up (and local mode's probe) must not set the timed epochs' peak."""
    # In a fresh process: both arrays are above glibc's largest dynamic mmap threshold (32 MB), so each gets fresh
    # pages from the kernel and is returned on free. In a worker that ran other tests an allocator may serve them
    # from pages it kept, and the peak would not move.
    result = subprocess.run([sys.executable, "-c", PEAK_AFTER_RESET], capture_output=True, text=True, cwd=REPO, check=True)
    measure, growth, held = result.stdout.split()
    assert measure == "peak_rss" and held == "True"
    assert 56 < float(growth) < 128  # the 64 MB, not the 256 MB freed before the reset


@pytest.fixture
def prepared_path(tmp_path):
    rng = np.random.default_rng(0)
    data = load_embedded(None, 16, 120, rng, {})
    prepared = prepare(data, {"train": 64, "test": 16, "attacker_train": 16, "attacker_test": 16}, ["shape", "color"], rng, {})
    prepared.save(tmp_path / "embedded.pt")
    return tmp_path / "embedded.pt"


def test_tiny_efficiency_measurement_times_every_mode_in_a_job_of_its_own_one_after_another(config, tmp_path):
    config["resources"] = {"measure_efficiency": {"threads": 1}}  # so that --cores 2 would leave room for two at once
    configfile = write_config(config, tmp_path / "config.yaml")
    result = snakemake(tmp_path, configfile, "--cores", "2", "results/default/tables/efficiency.parquet", timeout=1800)
    assert result.returncode == 0, result.stderr[-3000:]
    table = pq.read_table(tmp_path / "results/default/tables/efficiency.parquet")
    assert table.schema.equals(EFFICIENCY_SCHEMA) and table.num_rows == 1
    measurements = [json.loads((tmp_path / f"results/default/efficiency/resnet18/{mode}.json").read_text()) for mode in MODES]
    assert len({m["pid"] for m in measurements}) == len(MODES)  # a fresh process each
    spans = sorted((m["started_at"], m["finished_at"]) for m in measurements)
    assert all(end <= start for (_, end), (start, _) in pairwise(spans))  # never two at once
    for mode in MODES:  # Snakemake's own record of each job
        benchmark = pd.read_csv(tmp_path / f"results/default/benchmarks/measure_efficiency/resnet18/{mode}.tsv", sep="\t")
        assert benchmark["s"][0] > 0 and benchmark["max_rss"][0] > 0
    row = table.to_pylist()[0]
    assert row["model"] == "resnet18" and row["steps_per_epoch"] == 2 and row["timed_epochs"] == 1 and row["image_size"] == 16
    for mode in ("end_to_end", "local", "local_sequential", "local_overlapped", "fine_tune", "end_to_end_one_thread"):
        assert row[f"latency_{mode}"] > 0
    assert row["speedup"] == pytest.approx(row["latency_end_to_end"] / row["latency_local"])
    assert row["speedup_from_overlap"] == pytest.approx(row["latency_local_sequential"] / row["latency_local_overlapped"])
    # local mode ran the schedule its probe measured faster (the probe ran in the untimed warm-up)
    assert row["local_schedule"] == min(SCHEDULES, key=lambda name: row[f"probe_{name}_step_seconds"])
    assert row["memory_ratio"] == pytest.approx(row["peak_memory_local_mb"] / row["peak_memory_end_to_end_mb"])
    assert row["peak_memory_local_mb"] > 50 and row["memory_measure"] == "peak_rss"
    assert row["extractor_stage_seconds"] > 0 and row["classifier_stage_seconds"] > 0 and 1 <= row["speedup_ceiling"] <= 2
    assert row["device"].startswith("cpu")
    assert row["intra_op_scaling"] == pytest.approx(row["latency_end_to_end_one_thread"] / row["latency_end_to_end"])


def test_efficiency_runs_are_logged_once_and_replaced_when_the_table_changes(tmp_path):
    row = efficiency_row(
        "embedded",
        "resnet18",
        {"arch": "resnet18", "split_after": "layer2"},
        {mode: measured(2.0, 500, extractor_stage_seconds=1.0, classifier_stage_seconds=1.0, overlap_fraction=0.5) for mode in MODES},
    )
    table = tmp_path / "efficiency.parquet"
    write_table([row], EFFICIENCY_SCHEMA, table)
    uri, root = f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path / "artifacts"
    cell_row = {"dataset": "embedded", "model": "resnet18", "attribute": "color", "method": "original", "seed": 0, "cell_id": "c", "fidelity": 0.9}
    log_cell_runs(uri, "exp", root, [{"row": cell_row, "params": {}, "artifacts": []}])
    first = log_efficiency_runs(uri, "exp", root, table)
    again = log_efficiency_runs(uri, "exp", root, table)
    assert (first["created"], first["kept"]) == (1, 0) and (again["created"], again["kept"]) == (0, 1)
    assert again["run_ids"] == first["run_ids"]
    write_table([{**row, "latency_local": 1.0}], EFFICIENCY_SCHEMA, table)
    changed = log_efficiency_runs(uri, "exp", root, table)
    assert changed["created"] == 1 and changed["run_ids"] != first["run_ids"]

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("exp").experiment_id
    runs = client.search_runs([experiment], filter_string="tags.kind = 'efficiency'")
    assert len(runs) == 1 and runs[0].data.metrics["latency_local"] == 1.0 and runs[0].data.tags["model"] == "resnet18"
    assert len(client.search_runs([experiment], filter_string="tags.cell_id = 'c'")) == 1  # cell runs untouched


def dry_run(tmp_path, config) -> str:
    tmp_path.mkdir(parents=True, exist_ok=True)
    done = snakemake(tmp_path, write_config(config, tmp_path / "config.yaml"), "-n", "--cores", "1", timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_rules_add_efficiency_and_recovery_jobs_only_where_configured(config, tmp_path):
    config["grid"]["methods"] = ["original", "detachment_end_to_end", "detachment_local"]
    with_all = dry_run(tmp_path / "a", config)
    assert with_all.count("rule measure_efficiency:") == len(MODES)  # one measurement per mode of the one model
    assert "rule efficiency_table:" in with_all and "rule log_efficiency:" in with_all
    # recovery figures for the 2 detachment methods x 2 attributes (color, color+background), none for original
    assert with_all.count("rule image_recovery:") == 4 and "recovery_embedded_resnet18_color_detachment_local_seed0.png" in with_all
    assert "_original_seed0.png" not in with_all
    plain = copy.deepcopy(config)
    plain.pop("efficiency")
    plain["grid"]["methods"] = ["original"]
    without = dry_run(tmp_path / "b", plain)
    assert "measure_efficiency" not in without and "image_recovery" not in without


# ---------------------------------------------------------------- local mode's schedule probe

PROBE_PARAMS = {"mode": "local", "epochs": 2, "warmup_epochs": 0, "batch_size": 8, "head_hidden": 32, "embedding_dim": 16, "probe_steps": 2}


def local_run(prepared_path, **params):
    from attrunlearn_core.datasets.prepared import PreparedDataset

    prepared = PreparedDataset.load(prepared_path)
    torch.manual_seed(0)
    model = build_split_model("resnet18", 4, "layer2")
    context = UnlearningContext(prepared, "shape", "color", TrainingRecipe(epochs=1, batch_size=8), torch.device("cpu"), seed_everything(5), 5)
    method = get_method_class("detachment")({**PROBE_PARAMS, **params})
    return method, method.unlearn(model, context)


def test_the_probe_picks_the_schedule_it_measured_faster_and_never_changes_the_updates(prepared_path):
    probed, result = local_run(prepared_path)
    _, sequential = local_run(prepared_path, concurrent=False)
    schedule = probed.local_schedule
    # 64 images / 8 = 8 steps an epoch: 3 untimed steps (S, then O O), then arms of 2 steps (O O S S O | S S O O):
    # an arm cut by the epoch's end counts its steps
    assert schedule.choice in SCHEDULES and schedule.timed["overlapped"][1] == 5 and schedule.timed["sequential"][1] == 4
    metrics = result.metrics
    assert metrics["probe_steps"] == 9 and metrics["probe_overlapped_step_seconds"] > 0 and metrics["probe_sequential_step_seconds"] > 0
    faster = min(SCHEDULES, key=lambda name: metrics[f"probe_{name}_step_seconds"])
    assert metrics["local_schedule_overlapped"] == float(faster == "overlapped") == float(schedule.choice == "overlapped")
    # both schedules make the same updates, so probing changes the speed only, never the unlearned model
    probed_state, sequential_state = result.model.state_dict(), sequential.model.state_dict()
    assert all(torch.equal(probed_state[key], sequential_state[key]) for key in sequential_state)
    assert sequential.metrics["local_schedule_overlapped"] == 0.0 and "probe_steps" not in sequential.metrics


def test_a_fixed_schedule_runs_without_probing(prepared_path):
    method, result = local_run(prepared_path, probe_steps=0)
    assert method.local_schedule.choice == "overlapped" and result.metrics["local_schedule_overlapped"] == 1.0
    assert "probe_steps" not in result.metrics and result.metrics["overlap_fraction"] > 0  # the stages did overlap


def test_probe_steps_must_make_an_overlapped_run_possible():
    with pytest.raises(ConfigError) as error:
        get_method_class("detachment")({"probe_steps": 1})
    assert "probe_steps" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(ValueError):
        LocalSchedule("pipelined")


def test_the_split_assembled_on_a_device_gives_the_same_batches_as_on_the_host():
    # the GPU path (one upload of an epoch's indices and flips, flips as a select) exercised on the CPU
    images = torch.randint(0, 256, (20, 3, 4, 4), dtype=torch.uint8)
    task, color = torch.arange(20) % 3, torch.arange(20) % 4
    split = TrainSplit(images, task, [(color, 4)])
    steps = plan_epochs(20, 6, 1, True, torch.Generator().manual_seed(0))[0]
    for host, device in zip(split.batches(steps), split._device_batches(steps), strict=True):
        assert torch.equal(host.images, device.images) and torch.equal(host.task, device.task)
        assert torch.equal(host.attribute_parts[0][0], device.attribute_parts[0][0])


def test_the_sync_free_loss_forms_equal_the_masked_ones():
    torch.manual_seed(0)
    h, z, y = torch.randn(40, 6, 2, 2), torch.randint(0, 4, (40,)), torch.randint(0, 3, (40,))
    y[0] = 3  # a task group of one sample has no gap
    reference = sum(class_mean_gap(h[y == g], z[y == g], 4) * ((y == g).sum() / 40) for g in range(3))
    assert conditional_class_mean_gap(h, z, 4, y, num_groups=5).item() == pytest.approx(reference.item(), rel=1e-5)
    embeddings = torch.randn(5, 3, requires_grad=True)
    lonely = supcon_loss(embeddings, torch.arange(5), 0.1)  # no sample has a positive: the loss is 0 and still differentiable
    lonely.backward()
    assert lonely.item() == 0.0 and embeddings.grad is not None


# ---------------------------------------------------------------- the GPU efficiency script


def tiny_cifar_archive(folder):
    import tarfile

    from attrunlearn_core.datasets.cifar10 import CLASSES

    rng = np.random.default_rng(0)
    root = folder / "cifar10-jpeg"
    for partition, per_class in (("train", 6), ("test", 2)):
        for name in CLASSES:
            (root / partition / name).mkdir(parents=True)
            for i in range(per_class):
                Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(root / partition / name / f"{i}.jpg")
    archive = folder / "cifar10-jpeg.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="cifar10-jpeg")
    return archive


def test_gpu_script_runs_end_to_end_without_the_packages_the_gpu_machine_lacks(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        "import importlib.abc, sys\n"
        "MISSING = {'snakemake', 'mlflow', 'jsonschema', 'pytorch_grad_cam', 'concept_erasure'}\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in MISSING:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
    )
    out = tmp_path / "out"
    env = {
        **os.environ,
        "PYTHONPATH": str(blocker),
        "OUT": str(out),
        "DATA": str(tiny_cifar_archive(tmp_path)),
        "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}",
    }
    done = subprocess.run(
        [
            "bash",
            str(REPO / "efficiency" / "gpu_efficiency.sh"),
            "--subsample",
            "32",
            "--batch-size",
            "16",
            "--max-steps",
            "2",
            "--warmup-steps",
            "1",
            "--models",
            "resnet18",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    rows = pq.read_table(out / "efficiency.parquet").to_pylist()
    # the model with the GPU options, then without them (before/after; on a CPU both run the same steps)
    assert [row["model"] for row in rows] == ["resnet18", "resnet18_plain"] and [row["fast_steps"] for row in rows] == [False, False]
    assert all(row["local_schedule"] in SCHEDULES for row in rows)
    assert (out / "efficiency.csv").exists() and len(json.loads((out / "efficiency.json").read_text())) == 2
    log = (out / "gpu_efficiency.log").read_text()
    assert "resnet18 on cpu" in log and "speedup" in log and "done: 2 of 2 rows" in log
