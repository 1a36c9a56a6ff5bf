"""The paper's Table 2 on a GPU: detachment's end-to-end vs local latency and memory on CIFAR-10 (32 px,
task living, attribute class, 50,000 train images), ResNet18/34/50 at the paper grid's batch size (128).

Runs from the repository root with PYTHONPATH=. (efficiency/gpu_efficiency.sh does both) and needs only
torch, torchvision, numpy, pyarrow, pyyaml and pillow: no snakemake, mlflow, jsonschema, grad-cam or
concept-erasure. Steps: prepare the data with the suite's own loader (cached beside the tarball), check
that the training steps never make the host wait on the GPU (sync check), then the efficiency measurement: every
mode of every model measured by attrunlearn_core.efficiency's one entry point in a fresh process, one after
the other (what the workflow's measure_efficiency jobs do), joined by its efficiency_table. Writes
efficiency.parquet, efficiency.csv, efficiency.json, sync_check.json, measurements/<model>/<mode>.json and the
log to --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import yaml

STARTED = time.perf_counter()
SPLITS = {"train": 50000, "test": 5000, "attacker_train": 3000, "attacker_test": 2000}  # all 60,000 CIFAR-10 images
PAPER_TABLE_2 = {  # Guo et al., Table 2 (RTX 3080): seconds per epoch end-to-end / local, memory (MB) end-to-end / local
    "resnet18": (32.297, 24.265, 281.01, 231.49),
    "resnet34": (45.580, 34.308, 416.03, 327.49),
    "resnet50": (63.632, 44.790, 546.17, 438.87),
}


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} +{time.perf_counter() - STARTED:6.1f}s] {message}", flush=True)


def efficiency_config(args) -> dict:
    """configs/paper.yaml's CIFAR-10 part, pointed at the tarball, with this run's efficiency section."""
    config = yaml.safe_load(Path("configs/paper.yaml").read_text())
    dataset = {**config["datasets"]["cifar10"], "root": str(args.data), "options": {}}
    dataset["splits"] = dict(SPLITS) if not args.subsample else {"train": args.subsample, "test": 16, "attacker_train": 16, "attacker_test": 16}
    config["datasets"] = {"cifar10": dataset}
    config["models"] = {name: config["models"][name] for name in args.models}
    config["device"] = args.device
    config["training"]["batch_size"] = args.batch_size or config["training"]["batch_size"]
    config["efficiency"] = {
        "dataset": "cifar10",
        "models": list(args.models),
        "epochs": args.epochs,
        "warmup_steps": args.warmup_steps,
        "max_steps": args.max_steps,
        "method": "detachment_local",
    }
    return config


def prepare(config: dict, cache: Path) -> Path:
    from attrunlearn_core.jobs.prepare import prepare_dataset

    if cache.exists():
        say(f"prepared data: {cache} (cached)")
        return cache
    say(f"preparing CIFAR-10 at 32 px from {config['datasets']['cifar10']['root']} (decoding every JPEG once)")
    prepare_dataset("cifar10", config["datasets"]["cifar10"], config["seed"], cache)
    say(f"prepared data: {cache}")
    return cache


def sync_check(config: dict, prepared_path: Path, out: Path) -> dict:
    """Counts the host syncs the GPU reports (torch.cuda.set_sync_debug_mode) in a short and a longer epoch of each
    mode: any growth with the number of steps is a sync inside the hot loop (the per-epoch ones are expected)."""
    import torch

    from attrunlearn_core.datasets.prepared import PreparedDataset
    from attrunlearn_core.methods.base import UnlearningContext
    from attrunlearn_core.methods.detachment import Detachment
    from attrunlearn_core.models import build_split_model
    from attrunlearn_core.seeding import seed_everything
    from attrunlearn_core.training import TrainingRecipe

    prepared = PreparedDataset.load(prepared_path)
    device = torch.device("cuda")
    report = {}
    for mode, params in [
        ("end_to_end", {"mode": "end_to_end"}),
        ("local_overlapped", {"mode": "local", "probe_steps": 0}),
        ("local_sequential", {"mode": "local", "concurrent": False}),
    ]:
        generator = seed_everything(0)
        model = build_split_model("resnet18", 2, "layer2")
        context = UnlearningContext(prepared, "living", "class", TrainingRecipe(epochs=1, batch_size=128), device, generator, 0)
        method = Detachment({**config["methods"]["detachment_local"]["params"], **params, "epochs": 3, "warmup_epochs": 0})
        state, data, plan = method.prepare(model, context)
        method.run_epoch(state, data.batches(plan[0][:3]))  # allocator and kernel selection first
        counts = {}
        for steps in (4, 12):
            torch.cuda.synchronize()
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                torch.cuda.set_sync_debug_mode("warn")
                try:
                    method.run_epoch(state, data.batches(plan[1 if steps == 4 else 2][:steps]))
                finally:
                    torch.cuda.set_sync_debug_mode("default")
            syncs = [str(w.message).splitlines()[0] for w in caught if "synchroniz" in str(w.message).lower()]
            counts[steps] = {"syncs": len(syncs), "kinds": sorted(set(syncs))}
        report[mode] = {
            "syncs_4_steps": counts[4]["syncs"],
            "syncs_12_steps": counts[12]["syncs"],
            "syncs_per_step": (counts[12]["syncs"] - counts[4]["syncs"]) / 8,
            "kinds": counts[12]["kinds"],
        }
        say(
            f"sync check {mode}: {counts[4]['syncs']} syncs in a 4-step epoch, {counts[12]['syncs']} in a 12-step one"
            f" ({report[mode]['syncs_per_step']:.2f} per step); {report[mode]['kinds']}"
        )
    (out / "sync_check.json").write_text(json.dumps(report, indent=2))
    return report


def measure_model(spec: dict, prepared: Path, folder: Path, device) -> list[Path]:
    """Every mode of one model, each in a fresh process; the measurements' paths."""
    from attrunlearn_core.efficiency.modes import CPU_ONLY_MODES, MODES
    from attrunlearn_core.errors import AttrUnlearnError

    folder.mkdir(parents=True, exist_ok=True)
    spec_path = folder / "spec.json"
    spec_path.write_text(json.dumps(spec))
    paths = []
    for mode in MODES:
        if mode in CPU_ONLY_MODES and device.type != "cpu":
            continue
        output = folder / f"{mode}.json"
        module = "attrunlearn_core.efficiency"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", module, str(spec_path), mode, str(prepared), str(os.cpu_count() or 1), str(output)])
        if done.returncode != 0:
            raise AttrUnlearnError(f"mode {mode} failed (exit status {done.returncode}; its error is above)")
        result = json.loads(output.read_text())
        say(
            f"{spec['model']} {mode}: {result['latency']:.3f}s/epoch, peak {result['peak_memory_mb']:.0f} MB ({result['memory_measure']}), "
            f"process ran {time.perf_counter() - started:.1f}s"
        )
        paths.append(output)
    return paths


def summarise(rows: list[dict], full_steps: int) -> None:
    def num(value, spec=".3f", scale=1.0):  # a ratio is None where its denominator was 0
        return "n/a" if value is None else format(value * scale, spec)

    for row in rows:
        scale = full_steps / row["steps_per_epoch"]  # seconds per capped epoch -> per full epoch
        paper = PAPER_TABLE_2.get(row["model"]) if row["fast_steps"] or row["device"].startswith("cpu") else None
        say(f"{row['model']} on {row['device']}: {row['steps_per_epoch']} steps/epoch timed (full epoch {full_steps} steps: x{scale:.2f})")
        say(
            f"  latency per full epoch: end_to_end {num(row['latency_end_to_end'], '.2f', scale)}s, local {num(row['latency_local'], '.2f', scale)}s "
            f"(schedule {row['local_schedule']}; overlapped {num(row['latency_local_overlapped'], '.2f', scale)}s, sequential "
            f"{num(row['latency_local_sequential'], '.2f', scale)}s), fine-tune {num(row['latency_fine_tune'], '.2f', scale)}s"
        )
        say(
            f"  speedup {num(row['speedup'])}x (overlap alone {num(row['speedup_from_overlap'])}x, ceiling {num(row['speedup_ceiling'])}x), "
            f"overhead vs fine-tune: end_to_end {num(row['overhead_end_to_end'])}, local {num(row['overhead_local'])}"
        )
        say(
            f"  peak memory MB: end_to_end {num(row['peak_memory_end_to_end_mb'], '.0f')}, local {num(row['peak_memory_local_mb'], '.0f')} "
            f"(ratio {num(row['memory_ratio'])}); training memory ratio {num(row['training_memory_ratio'])}"
        )
        if paper:
            say(
                f"  paper (RTX 3080): {paper[0]}s -> {paper[1]}s ({paper[0] / paper[1]:.3f}x), memory {paper[2]} -> {paper[3]} MB "
                f"(ratio {paper[3] / paper[2]:.3f})"
            )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(".gpu_data/cifar10-jpeg.tar.gz"))
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or "gpu_out"))
    parser.add_argument("--models", nargs="+", default=["resnet18", "resnet34", "resnet50"])
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per mode")
    parser.add_argument("--max-steps", type=int, default=200, help="cap on the steps of an epoch (0: the full 391); keeps the run under 8 min")
    parser.add_argument("--budget-s", type=float, default=420, help="start no further model after this many seconds")
    parser.add_argument("--warmup-steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=0, help="0: the paper grid's (128)")
    parser.add_argument("--subsample", type=int, default=0, help="train images (dry runs); 0: all 50,000")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--skip-sync-check", action="store_true")
    parser.add_argument(
        "--before-fast-steps", nargs="*", default=["resnet18"], help="models also timed without the GPU options (rows <model>_plain: before/after)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S", stream=sys.stdout)
    args.out.mkdir(parents=True, exist_ok=True)

    import pandas as pd
    import torch

    from attrunlearn_core.efficiency.settings import EfficiencySettings
    from attrunlearn_core.efficiency.table import efficiency_table
    from attrunlearn_core.errors import AttrUnlearnError
    from attrunlearn_core.training import pick_device

    say(
        f"torch {torch.__version__}, CUDA {torch.version.cuda}, device: "
        f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu'}; models {args.models}"
    )
    config = efficiency_config(args)
    full_steps = -(-config["datasets"]["cifar10"]["splits"]["train"] // config["training"]["batch_size"])
    if args.max_steps and args.max_steps < full_steps:
        say(
            f"NOTE: epochs capped at {args.max_steps} of {full_steps} steps (--max-steps); latency_* columns are per capped epoch, "
            f"the summary below scales them to a full epoch; ratios are unaffected"
        )
    cache = args.data.parent / f"cifar10-32-{'all' if not args.subsample else args.subsample}.pt"
    prepared = prepare(config, cache)
    if torch.cuda.is_available() and not args.skip_sync_check:
        try:
            sync_check(config, prepared, args.out)
        except Exception as error:  # noqa: BLE001 - a diagnostic; the measurement still runs
            say(f"sync check failed: {error.__class__.__name__}: {error}")
    say("efficiency measurement: every mode of every model in a fresh process, one after the other")
    settings, device = EfficiencySettings.from_config(config), pick_device(config["device"])
    measurements, rows = [], []
    # each "before" row right after its model's row, so a run cut by --budget-s still holds the pair
    runs = [(model, fast) for model in args.models for fast in ((True, False) if model in args.before_fast_steps else (True,))]
    for model, fast_steps in runs:  # one at a time, the tables rewritten after each: a cut-off run keeps what it measured
        name = model if fast_steps else f"{model}_plain"
        if time.perf_counter() - STARTED > args.budget_s:
            say(f"SKIPPED {name}: {args.budget_s:.0f}s of the time budget used (--budget-s)")
            continue
        spec = {**settings.measurement_spec(config, model), "fast_steps": fast_steps, "model": name}
        try:
            measurements += measure_model(spec, prepared, args.out / "measurements" / name, device)
        except AttrUnlearnError as error:
            say(f"FAILED {name}: {error}")
            continue
        rows = efficiency_table(measurements, args.out / "efficiency.parquet")
        frame = pd.DataFrame(rows)
        frame["full_epoch_steps"] = full_steps
        frame.to_csv(args.out / "efficiency.csv", index=False)
        (args.out / "efficiency.json").write_text(frame.to_json(orient="records", indent=2))
        summarise(rows[-1:], full_steps)
    say(f"done: {len(rows)} of {len(runs)} rows in {args.out}/efficiency.parquet, .csv, .json")
    return 0 if len(rows) == len(runs) else 1


if __name__ == "__main__":
    from attrunlearn_core.errors import AttrUnlearnError

    try:
        sys.exit(main(sys.argv[1:]))
    except AttrUnlearnError as error:  # bad data or settings: one line, no traceback
        say(f"attrunlearn: {error}")
        sys.exit(1)
