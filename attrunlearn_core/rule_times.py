"""Where a grid's time goes: one row per rule, from the `benchmark:` files Snakemake wrote for its jobs.

    python -m attrunlearn_core.rule_times results/default

prints a Markdown table: per rule its jobs, total, mean and longest wall time, the peak max_rss over its jobs and
its total CPU time, the rule taking most wall time first, then a total row. Every rule writes its benchmark as
`benchmarks/<rule>/<its wildcards>.tsv`, or `benchmarks/<rule>.tsv` when it has none, so the path names the rule.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from attrunlearn_core.errors import AttrUnlearnError

# The columns Snakemake writes first (`--benchmark-extended` appends more, which are ignored); max_rss is in MB.
BENCHMARK_HEADER = ["s", "h:m:s", "max_rss", "max_vms", "max_uss", "max_pss", "io_in", "io_out", "mean_load", "cpu_time"]
# Snakemake writes NA for memory and CPU when a job ended before its first measurement ("-" for a value it lacks).
NOT_MEASURED = ["NA", "-"]
TABLE_COLUMNS = ["rule", "jobs", "total_s", "mean_s", "max_s", "peak_max_rss_mb", "cpu_s"]
MARKDOWN_TITLES = ["rule", "jobs", "total wall s", "mean wall s", "max wall s", "peak max_rss MB", "total cpu_time s"]


def rule_of(benchmark: Path, benchmarks: Path) -> str:
    parts = benchmark.relative_to(benchmarks).parts
    return parts[0] if len(parts) > 1 else benchmark.stem


def read_benchmark(path: Path) -> pd.DataFrame:
    """A benchmark file's rows (one per run: a `repeat()` benchmark has several), with s, max_rss and cpu_time."""
    try:
        frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise AttrUnlearnError(f"{path}: not a Snakemake benchmark file ({str(error).splitlines()[0]})") from None
    if list(frame.columns[: len(BENCHMARK_HEADER)]) != BENCHMARK_HEADER:
        header, expected = " ".join(frame.columns), " ".join(BENCHMARK_HEADER)
        raise AttrUnlearnError(f"{path}: not a Snakemake benchmark file (header {header!r}, expected {expected!r})")
    if frame.empty:
        raise AttrUnlearnError(f"{path}: benchmark file has a header but no row")
    numbers = pd.DataFrame(index=frame.index)
    for column in ("s", "max_rss", "cpu_time"):
        text = frame[column]  # "" where a truncated row lacks the field
        unmeasured = text.isin(NOT_MEASURED) & (column != "s")
        numbers[column] = pd.to_numeric(text.where(~unmeasured), errors="coerce")
        wrong = numbers[column].isna() & ~unmeasured
        if wrong.any():
            value = text[wrong.idxmax()]
            problem = f"{value!r}, not a number" if value else "missing"
            raise AttrUnlearnError(f"{path}: row {wrong.idxmax() + 1}: {column} is {problem}")
    return numbers


def rule_times(grid: str | Path) -> pd.DataFrame:
    """The per-rule table of a grid folder (results/<name>), sorted by total wall time, with a last row `total`."""
    benchmarks = Path(grid) / "benchmarks"
    if not benchmarks.is_dir():
        raise AttrUnlearnError(f"{benchmarks}: no such folder (has the grid run?)")
    files = sorted(benchmarks.rglob("*.tsv"))
    if not files:
        raise AttrUnlearnError(f"{benchmarks}: no benchmark files (*.tsv)")
    runs = pd.concat([read_benchmark(path).assign(rule=rule_of(path, benchmarks)) for path in files], ignore_index=True)
    table = (
        runs.groupby("rule")
        .agg(
            jobs=("s", "size"),
            total_s=("s", "sum"),
            mean_s=("s", "mean"),
            max_s=("s", "max"),
            peak_max_rss_mb=("max_rss", "max"),
            cpu_s=("cpu_time", "sum"),
        )
        .reset_index()
        .sort_values(["total_s", "rule"], ascending=[False, True], ignore_index=True)
    )
    total = {
        "rule": "total",
        "jobs": len(runs),
        "total_s": runs["s"].sum(),
        "mean_s": runs["s"].mean(),
        "max_s": runs["s"].max(),
        "peak_max_rss_mb": runs["max_rss"].max(),
        "cpu_s": runs["cpu_time"].sum(),
    }
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)[TABLE_COLUMNS]


def _number(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.1f}"


def markdown_table(table: pd.DataFrame) -> str:
    lines = [
        "*Wall and CPU seconds summed over each rule's jobs (jobs that ran side by side overlap); peak max_rss is the largest job's.*",
        "",
        "| " + " | ".join(MARKDOWN_TITLES) + " |",
        "| --- |" + " ---: |" * (len(MARKDOWN_TITLES) - 1),
    ]
    for row in table.itertuples(index=False):
        name = "**total**" if row.rule == "total" else row.rule
        numbers = [row.total_s, row.mean_s, row.max_s, row.peak_max_rss_mb, row.cpu_s]
        lines.append(f"| {name} | {row.jobs} | " + " | ".join(map(_number, numbers)) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m attrunlearn_core.rule_times results/<name>", file=sys.stderr)
        return 2
    try:
        print(markdown_table(rule_times(argv[0])), end="")
    except AttrUnlearnError as error:
        print(f"attrunlearn: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
