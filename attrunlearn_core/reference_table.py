"""The reference numbers of README.md (the default grid) and docs/results.md (every other grid), regenerated from a
grid's summary table (never typed by hand).

    python -m attrunlearn_core.reference_table results/default/tables/summary.parquet --machine "idle 2-core CPU" \
        [--readme README.md --section default]     (or --readme docs/results.md --section levers, ...)

prints a Markdown table of mean ± 95 % CI half-width per method; with --readme it replaces the block between
`<!-- reference:SECTION -->` and `<!-- /reference:SECTION -->` in that file. With --sweep it prints a `sweep:`
grid's points instead: AUM (worst-case efficacy / fidelity) with rows (lambda_1, lambda_2) and columns lambda_3;
with --attackers every attacker's accuracy per method; with --saturation a learning-curve grid's saturation points.
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

import pandas as pd

COLUMNS = [
    ("fidelity", "fidelity"),
    ("efficacy", "efficacy (worst)"),
    ("aum", "AUM"),
    ("aum_chance_normalised", "cn-AUM"),
    ("method_seconds", "method s"),
]


def _cell(row: pd.Series, metric: str) -> str:
    digits = 0 if metric == "method_seconds" else 3
    mean, low, high = row[f"{metric}_mean"], row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
    if math.isnan(low):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {(high - low) / 2:.{digits}f}"


def markdown_table(summary: pd.DataFrame, machine: str) -> str:
    lines = []
    for (dataset, model, attribute), group in summary.groupby(["dataset", "model", "attribute"], sort=False):
        first, seeds = group.iloc[0], int(group["n_seeds"].min())
        spread = f"{seeds} seeds, mean ± 95 % Student-t half-width" if seeds > 1 else "1 seed, so no interval: a lead, not a result"
        lines += [
            f"*{dataset} × {model}, unlearning `{attribute}`: {spread}; chance {first['chance']:.3f}, "
            f"chance given the task {first['chance_given_task']:.3f}, task chance "
            f"{first['task_chance']:.3f}; {machine}.*",
            "",
            "| method | " + " | ".join(title for _, title in COLUMNS) + " | worst attacker | still climbing |",
            "| --- |" + " --- |" * (len(COLUMNS) + 2),
        ]
        for _, row in group.iterrows():
            name = f"{row['method']} (baseline-1)" if row["method_name"] == "original" else row["method"]
            lines.append(
                f"| {name} | "
                + " | ".join(_cell(row, metric) for metric, _ in COLUMNS)
                + f" | {row['efficacy_attacker']} | {'yes' if row['efficacy_still_climbing'] else 'no'} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def sweep_table(summary: pd.DataFrame, machine: str) -> str:
    """The sweep's points as one Markdown grid per dataset × model × attribute: rows (λ1, λ2), columns λ3."""
    from attrunlearn_core.config import sweep_point
    from attrunlearn_core.figures.sweep_heatmap import KEYS, LAMBDAS

    lines = []
    for keys, group in summary.groupby(KEYS, sort=True):
        points = {}
        for _, row in group.iterrows():
            values = sweep_point(row["method"])[1]
            if all(name in values for name in LAMBDAS):
                points[tuple(float(values[name]) for name in LAMBDAS)] = row
        if not points:
            continue
        thirds = sorted({point[2] for point in points})
        lines += [
            f"*{' × '.join(map(str, keys))}: AUM (worst-case efficacy / fidelity) of each point, "
            f"{int(min(row['n_seeds'] for row in points.values()))} seed(s); {machine}.*",
            "",
            f"| λ1 ({LAMBDAS[0]}) | λ2 ({LAMBDAS[1]}) | " + " | ".join(f"λ3 ({LAMBDAS[2]}) = {value:g}" for value in thirds) + " |",
            "| --- | --- |" + " --- |" * len(thirds),
        ]
        for first, second in sorted({point[:2] for point in points}):
            cells = []
            for third in thirds:
                row = points.get((first, second, third))
                cells.append("" if row is None else f"{row['aum_mean']:.3f} ({row['efficacy_mean']:.3f} / {row['fidelity_mean']:.3f})")
            lines.append(f"| {first:g} | {second:g} | " + " | ".join(cells) + " |")
        lines.append("")
    if not lines:
        raise SystemExit("attrunlearn: no sweep points over lambda_x, lambda_y and lambda_z in the summary table")
    return "\n".join(lines).rstrip() + "\n"


def _per_attacker(group: pd.DataFrame, cell, leading: dict | None = None) -> list[str]:
    """A Markdown table with a row per method and a column per (site, attacker) of `group`: `cell(readings)` formats
    one method's rows of one attacker; `leading` maps a column title to `f(method, rows)` for columns before them."""
    leading = leading or {}
    columns = list(dict.fromkeys(zip(group["site"], group["attacker"], strict=True)))
    titles = [*leading, *(f"{attacker} ({site})" for site, attacker in columns)]
    lines = ["| method | " + " | ".join(titles) + " |", "| --- |" + " --- |" * len(titles)]
    for method, rows in group.groupby("method", sort=False):
        cells = [compute(method, rows) for compute in leading.values()]
        for site, attacker in columns:
            readings = rows[(rows["site"] == site) & (rows["attacker"] == attacker)]
            cells.append(cell(readings) if len(readings) else "")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return lines


def attacker_table(attacks: pd.DataFrame, machine: str) -> str:
    """Every attacker's accuracy on h (full pool), one row per method: the mean over seeds, and `!k/n` where in k of
    n seeds its family-wise 95 % Wilson interval (Bonferroni over the row's readings) lies above chance."""
    from attrunlearn_core.statistics import wilson_interval

    full = attacks[attacks["pool_fraction"] == 1.0]
    lines = []
    for keys, group in full.groupby(["dataset", "model", "attribute"], sort=False):
        readings_per_row = len(group[["site", "attacker"]].drop_duplicates())
        confidence = 1 - 0.05 / readings_per_row

        def cell(readings: pd.DataFrame, confidence: float = confidence) -> str:
            above = sum(wilson_interval(int(r.num_correct), int(r.num_test), confidence)[0] > r.chance for r in readings.itertuples())
            return f"{readings['accuracy'].mean():.3f}" + (f" !{above}/{len(readings)}" if above else "")

        lines += [
            f"*{' × '.join(keys)}: each attacker's accuracy on h, mean over {group['seed'].nunique()} seed(s); chance "
            f"{group['chance'].mean():.3f}; `!k/n`: in k of n seeds its family-wise 95 % Wilson interval (Bonferroni over "
            f"the row's {readings_per_row} readings) lies above chance; {machine}.*",
            "",
            *_per_attacker(group, cell),
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def saturation_table(attack_summary: pd.DataFrame, attacks: pd.DataFrame, machine: str, default_pairs: int) -> str:
    """A learning-curve grid's saturation points, one row per method: the worst attacker on h at the default grid's
    pool and on the largest pool, then each attacker's accuracy on the largest pool with the pool from which it
    stays within the saturation margin ("climbing" when only the largest pool qualifies: a lower bound)."""
    from attrunlearn_core.figures.learning_curve import saturation_points

    pairs = attacks.groupby("pool_fraction")["num_train"].mean()
    points = pd.concat([saturation_points(attack_summary, site).assign(site=site) for site in attack_summary["site"].unique()])
    default_fraction = min(pairs.index, key=lambda fraction: abs(pairs[fraction] - default_pairs))
    keys_columns = ["dataset", "model", "attribute"]

    def cell(point: pd.DataFrame) -> str:
        point = point.iloc[0]
        where = f"from {pairs[point['saturation_fraction']]:,.0f}" if point["saturated"] else "climbing"
        return f"{point['accuracy_full_pool']:.3f} ({where})"

    lines = []
    for keys, group in points.groupby(keys_columns, sort=False):
        curves = attack_summary[(attack_summary[keys_columns] == pd.Series(keys, index=keys_columns)).all(axis=1)]
        at_default = curves[curves["pool_fraction"] == default_fraction].groupby("method")["accuracy_mean"].max()
        leading = {
            "worst, default pool": lambda method, rows, at_default=at_default: f"{at_default[method]:.3f}",
            "worst, largest pool": lambda method, rows: f"{rows['accuracy_full_pool'].max():.3f}",
        }
        lines += [
            f"*{' × '.join(keys)}: each attacker's accuracy on h with {pairs.max():,.0f} (h, z) pairs, and from how many "
            f"pairs on it stays within the saturation margin of that; the worst attacker with {pairs[default_fraction]:,.0f} "
            f"pairs (the default grid's pool) and with {pairs.max():,.0f}; {machine}.*",
            "",
            *_per_attacker(group, cell, leading),
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    """A grid's Parquet table, or one line naming the file and what is wrong with it."""
    try:
        table = pd.read_parquet(path)
    except FileNotFoundError:
        raise SystemExit(f"attrunlearn: {path}: no such table (has the grid run to its end?)") from None
    except Exception as error:  # pyarrow raises several types for a file that is not Parquet
        raise SystemExit(f"attrunlearn: {path}: not a readable Parquet table ({type(error).__name__})") from None
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise SystemExit(f"attrunlearn: {path}: no column {', '.join(missing)} (not this grid table?)")
    return table


def replace_section(readme: Path, section: str, table: str, tag: str = "reference") -> None:
    text = readme.read_text()
    name = re.escape(f"{tag}:{section}")
    pattern = re.compile(rf"(<!-- {name} -->\n).*?(<!-- /{name} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"attrunlearn: {readme}: no <!-- {tag}:{section} --> block")
    readme.write_text(pattern.sub(lambda m: m.group(1) + table + m.group(2), text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary", type=Path)
    parser.add_argument("--machine", required=True, help="where the numbers were measured, e.g. 'idle 2-core CPU'")
    parser.add_argument("--readme", type=Path)
    parser.add_argument("--section")
    parser.add_argument("--sweep", action="store_true", help="the sweep's points as a grid over the lambdas")
    parser.add_argument("--attackers", action="store_true", help="every attacker's accuracy (attacks.parquet beside the summary)")
    parser.add_argument("--saturation", type=int, metavar="PAIRS", help="a learning-curve grid's saturation points; PAIRS: the default grid's pool")
    args = parser.parse_args()
    if args.readme and not args.section:
        parser.error("--readme needs --section (the block to replace)")
    keys = ["dataset", "model", "attribute", "method"]
    summary = read_table(args.summary, keys)
    tables, attack_keys = args.summary.parent, [*keys, "site", "attacker", "pool_fraction"]
    if args.saturation:
        table = saturation_table(
            read_table(tables / "attack_summary.parquet", [*attack_keys, "accuracy_mean"]),
            read_table(tables / "attacks.parquet", [*attack_keys, "num_train"]),
            args.machine,
            args.saturation,
        )
    elif args.attackers:
        attacks = read_table(tables / "attacks.parquet", [*attack_keys, "seed", "accuracy", "num_correct", "num_test", "chance"])
        table = attacker_table(attacks, args.machine)
    else:
        table = (sweep_table if args.sweep else markdown_table)(summary, args.machine)
    if args.readme:
        replace_section(args.readme, args.section, table)
    print(table)


if __name__ == "__main__":
    main()
