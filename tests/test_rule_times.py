"""The per-rule time table from the jobs' benchmark files, and every rule writing one where the table finds it."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO, TINY_CONFIG, write_config

from attrunlearn_core.errors import AttrUnlearnError
from attrunlearn_core.rule_times import main, markdown_table, rule_of, rule_times

from workflow import snakemake

# Exactly what Snakemake 9 writes (a tab-separated header, floats with two decimals, NA when nothing was measured).
HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def write_benchmark(path: Path, s: float, max_rss: float | str, cpu_time: float | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rss = max_rss if isinstance(max_rss, str) else f"{max_rss:.2f}"
    cpu = cpu_time if isinstance(cpu_time, str) else f"{cpu_time:.2f}"
    path.write_text(HEADER + f"{s:.2f}\t0:00:{int(s):02d}\t{rss}\t900.00\t{rss}\t{rss}\t0.00\t1.00\t95.00\t{cpu}\n")


@pytest.fixture
def grid(tmp_path) -> Path:
    benchmarks = tmp_path / "results/default/benchmarks"
    write_benchmark(benchmarks / "prepare/embedded.tsv", 4.0, 300.0, 3.5)
    write_benchmark(benchmarks / "unlearn/embedded/resnet18/color/original/seed0.tsv", 10.0, 500.0, 9.0)
    write_benchmark(benchmarks / "unlearn/embedded/resnet18/color/original/seed1.tsv", 20.0, 700.0, 18.0)
    write_benchmark(benchmarks / "unlearn/embedded/resnet18/color/leace/seed0.tsv", 30.0, 600.0, 27.0)
    write_benchmark(benchmarks / "aggregate.tsv", 6.0, "NA", "NA")  # ended before Snakemake's first measurement
    return tmp_path / "results/default"


def test_each_rule_gets_its_jobs_totals_means_and_peak_with_a_total_row(grid):
    table = rule_times(grid).set_index("rule")
    assert list(table.index) == ["unlearn", "aggregate", "prepare", "total"]  # most wall time first, total last
    unlearn = table.loc["unlearn"]
    assert unlearn["jobs"] == 3
    assert unlearn["total_s"] == pytest.approx(60.0)
    assert unlearn["mean_s"] == pytest.approx(20.0)
    assert unlearn["max_s"] == pytest.approx(30.0)
    assert unlearn["peak_max_rss_mb"] == pytest.approx(700.0)
    assert unlearn["cpu_s"] == pytest.approx(54.0)
    total = table.loc["total"]
    assert total["jobs"] == 5
    assert total["total_s"] == pytest.approx(70.0)
    assert total["mean_s"] == pytest.approx(14.0)
    assert total["max_s"] == pytest.approx(30.0)
    assert total["peak_max_rss_mb"] == pytest.approx(700.0)
    assert total["cpu_s"] == pytest.approx(57.5)
    assert math.isnan(table.loc["aggregate", "peak_max_rss_mb"])  # unmeasured, not 0


def test_the_markdown_has_one_row_per_rule_and_the_total(grid):
    lines = markdown_table(rule_times(grid)).splitlines()
    assert lines[2] == "| rule | jobs | total wall s | mean wall s | max wall s | peak max_rss MB | total cpu_time s |"
    assert lines[4:] == [
        "| unlearn | 3 | 60.0 | 20.0 | 30.0 | 700.0 | 54.0 |",
        "| aggregate | 1 | 6.0 | 6.0 | 6.0 | n/a | 0.0 |",
        "| prepare | 1 | 4.0 | 4.0 | 4.0 | 300.0 | 3.5 |",
        "| **total** | 5 | 70.0 | 14.0 | 30.0 | 700.0 | 57.5 |",
    ]


def test_the_command_line_prints_the_table(grid):
    result = subprocess.run([sys.executable, "-m", "attrunlearn_core.rule_times", str(grid)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    assert "| **total** | 5 |" in result.stdout


@pytest.mark.parametrize(
    "content, problem",
    [
        ("", "not a Snakemake benchmark file"),
        ("seconds\tmemory\n1.0\t2.0\n", "not a Snakemake benchmark file (header"),
        (HEADER, "a header but no row"),
        (HEADER + "NA\t0:00:01\t1.00\t1.00\t1.00\t1.00\t0.00\t0.00\t0.00\t1.00\n", "row 1: s is 'NA', not a number"),
        (HEADER + "fast\t0:00:01\t1.00\t1.00\t1.00\t1.00\t0.00\t0.00\t0.00\t1.00\n", "row 1: s is 'fast', not a number"),
        (HEADER + "1.00\t0:00:01\t1.00\t1.00\n", "row 1: cpu_time is missing"),
    ],
    ids=["empty", "foreign header", "no row", "no wall time", "not a number", "truncated row"],
)
def test_a_malformed_file_is_a_one_line_error_naming_it(grid, content, problem):
    bad = grid / "benchmarks/fit_attackers/embedded/resnet18/color/original/seed0.tsv"
    bad.parent.mkdir(parents=True)
    bad.write_text(content)
    with pytest.raises(AttrUnlearnError) as error:
        rule_times(grid)
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{bad}: ") and problem in message


@pytest.mark.parametrize("make", [lambda grid: None, lambda grid: (grid / "benchmarks").mkdir(parents=True)], ids=["no folder", "no files"])
def test_no_benchmarks_is_one_line_and_exit_1(tmp_path, make, capsys):
    grid = tmp_path / "results/default"
    make(grid)
    assert main([str(grid)]) == 1
    output = capsys.readouterr()
    assert output.out == "" and re.fullmatch(rf"attrunlearn: {re.escape(str(grid / 'benchmarks'))}: no [^\n]+\n", output.err)


def declared_rules() -> set[str]:
    declaration = re.compile(r"^\s*(?:rule|checkpoint)\s+(\w+)\s*:", re.MULTILINE)
    files = [REPO / "Snakefile", *(REPO / "rules").glob("*.smk")]
    return {name for path in files for name in declaration.findall(path.read_text())}


def test_every_job_of_every_rule_writes_its_benchmark_under_its_rules_folder(tmp_path):
    # One small grid that plans a job of every rule, the conditional ones included: a user checkpoint
    # (import_baseline), baseline-2 (Grad-CAM), detachment (image recovery), the efficiency measurement, a sweep and
    # attacker learning curves.
    (tmp_path / "mine.pt").write_bytes(b"")  # a dry run only checks that it exists
    config = {**TINY_CONFIG, "name": "rule_times"}
    config["models"] = {**TINY_CONFIG["models"], "mine": {"arch": "resnet18", "split_after": "layer2", "checkpoint": str(tmp_path / "mine.pt")}}
    config["methods"] = {
        "original": {"method": "original"},
        "baseline2": {"method": "gradcam_retrain"},
        "detachment_local": {"method": "detachment", "params": {"mode": "local"}},
    }
    config["sweep"] = {"base": "detachment_local", "params": {"lambda_x": [0.1], "lambda_y": [1.0], "lambda_z": [0.1]}}
    config["efficiency"] = {"dataset": "embedded", "models": ["resnet18"], "method": "detachment_local"}
    config["attackers"] = {**TINY_CONFIG["attackers"], "curve_fractions": [0.25]}
    config["grid"] = {"datasets": ["embedded"], "models": ["resnet18", "mine"], "methods": ["original", "baseline2"], "seeds": [0]}
    result = snakemake(tmp_path, write_config(config, tmp_path / "grid.yaml"), "-n")
    assert result.returncode == 0, result.stderr[-2000:]
    benchmarks = (tmp_path / "results/rule_times/benchmarks").resolve()
    planned = set()
    for block in re.split(r"\n(?=rule \w+:\n)", result.stdout):
        match = re.match(r"rule (\w+):\n", block)
        if not match or match.group(1) == "all":
            continue
        rule = match.group(1)
        planned.add(rule)
        benchmark = re.search(r"^\s+benchmark: (\S+)$", block, re.MULTILINE)
        assert benchmark, f"rule {rule} has no benchmark:"
        path = (tmp_path / benchmark.group(1)).resolve()
        assert path.is_relative_to(benchmarks) and path.suffix == ".tsv", f"rule {rule}: {path}"
        assert rule_of(path, benchmarks) == rule
    assert planned == declared_rules() - {"all"}  # the grid above really planned every rule
