"""A grid's verdict, regenerated from its cells table (never typed by hand): at the fine-tune control's fidelity,
which method removes the attribute most, by how much, and whether any comes near chance.

    python -m attrunlearn_core.verdict results/default/tables/cells.parquet --config config.yaml \
        [--readme README.md --section default]

For each dataset × model × attribute: the methods whose mean fidelity lies within FIDELITY_WINDOW of the fine-tune
control's ("equal fidelity") are ranked by mean worst-case efficacy; the best is compared with the control and with
the runner-up by the per-seed difference (paired: the same seed shares baseline-1 and the data), mean ± 95 %
Student-t half-width. "Near chance" is chance given the task + TARGET_MARGIN. With --readme the text replaces the
block between `<!-- verdict:SECTION -->` and `<!-- /verdict:SECTION -->`.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from attrunlearn_core.reference_table import read_table, replace_section
from attrunlearn_core.statistics import t_interval

FIDELITY_WINDOW = 0.03
TARGET_MARGIN = 0.10
CONTROL = "finetune"
NOT_REMOVERS = {"original", CONTROL}  # the model before unlearning and the control are what removal is measured against


@dataclass(frozen=True)
class Estimate:
    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, values) -> Estimate:
        interval = t_interval(values)
        return cls(interval["mean"], interval["ci_low"], interval["ci_high"])

    def text(self, signed: bool = False) -> str:
        mean = f"{self.mean:+.3f}" if signed else f"{self.mean:.3f}"
        return mean if math.isnan(self.low) else f"{mean} ± {(self.high - self.low) / 2:.3f}"


@dataclass(frozen=True)
class MethodResult:
    method: str
    fidelity: Estimate
    efficacy: Estimate
    attacker: str


@dataclass(frozen=True)
class Verdict:
    group: tuple[str, str, str]
    seeds: int
    chance: float
    target: float  # chance given the task + TARGET_MARGIN
    control: MethodResult
    within: list[MethodResult]  # removal methods at equal fidelity, lowest efficacy first
    outside: list[MethodResult]  # removal methods that lost more fidelity than the window allows
    best_vs_control: Estimate | None  # efficacy(best) - efficacy(control), paired over seeds
    best_vs_runner_up: Estimate | None

    @property
    def best(self) -> MethodResult | None:
        return self.within[0] if self.within else None


def _result(rows: pd.DataFrame) -> MethodResult:
    return MethodResult(
        method=rows["method"].iloc[0],
        fidelity=Estimate.of(rows["fidelity"]),
        efficacy=Estimate.of(rows["efficacy"]),
        attacker=rows["efficacy_attacker"].mode().iloc[0],
    )


def _paired(group: pd.DataFrame, first: str, second: str) -> Estimate:
    by_seed = group.pivot_table(index="seed", columns="method", values="efficacy")[[first, second]].dropna()
    return Estimate.of(by_seed[first] - by_seed[second])


def grid_verdicts(cells: pd.DataFrame, source: str = "cells table") -> list[Verdict]:
    verdicts = []
    for keys, group in cells.groupby(["dataset", "model", "attribute"], sort=False):
        controls = group[group["method_name"] == CONTROL]
        if controls.empty:
            raise SystemExit(f"attrunlearn: {source}: {' × '.join(keys)} has no fine-tune control (method `{CONTROL}`) to compare with")
        control = _result(controls[controls["method"] == controls["method"].iloc[0]])
        removers = [_result(rows) for _, rows in group[~group["method_name"].isin(NOT_REMOVERS)].groupby("method", sort=False)]
        floor = control.fidelity.mean - FIDELITY_WINDOW
        within = sorted((r for r in removers if r.fidelity.mean >= floor), key=lambda r: r.efficacy.mean)
        outside = sorted((r for r in removers if r.fidelity.mean < floor), key=lambda r: r.efficacy.mean)
        verdicts.append(
            Verdict(
                group=keys,
                seeds=int(group["seed"].nunique()),
                chance=float(group["chance"].mean()),
                target=float(group["chance_given_task"].mean()) + TARGET_MARGIN,
                control=control,
                within=within,
                outside=outside,
                best_vs_control=_paired(group, within[0].method, control.method) if within else None,
                best_vs_runner_up=_paired(group, within[0].method, within[1].method) if len(within) > 1 else None,
            )
        )
    return verdicts


def _reaches(result: MethodResult, target: float) -> str:
    if result.efficacy.high <= target:
        return "reaches it (its whole interval below)"
    if result.efficacy.mean <= target:
        return "reaches it on average, its interval reaching above"
    return f"stays {result.efficacy.mean - target:.3f} above it"


def markdown(verdicts: list[Verdict], data: str) -> str:
    lines = []
    for v in verdicts:
        dataset, model, attribute = v.group
        control = v.control
        lines += [
            f"*{dataset} × {model}, unlearning `{attribute}`; {data}; {v.seeds} seed(s), mean ± 95 % Student-t "
            f"half-width; differences paired by seed; chance {v.chance:.3f}, near chance = chance given the task + "
            f"{TARGET_MARGIN:.2f} = {v.target:.3f}.*",
            "",
            f"- The fine-tune control: fidelity {control.fidelity.text()}, worst attacker {control.efficacy.text()} ({control.attacker}).",
        ]
        best = v.best
        if best is None:
            lines.append(f"- No removal method keeps fidelity within {FIDELITY_WINDOW:.2f} of the control.")
        else:
            runner_up = ""
            if v.best_vs_runner_up:
                next_best = v.within[1]
                runner_up = f", {v.best_vs_runner_up.text(signed=True)} against the next, `{next_best.method}` ({next_best.efficacy.text()})"
            lines.append(
                f"- At equal fidelity (within {FIDELITY_WINDOW:.2f} of the control's): `{best.method}` removes most, "
                f"worst attacker {best.efficacy.text()} ({best.attacker}) at fidelity {best.fidelity.text()}; "
                f"{v.best_vs_control.text(signed=True)} against the control{runner_up}."
            )
            lines.append(f"- Near chance ({v.target:.3f}): `{best.method}` {_reaches(best, v.target)}.")
            if len(v.within) > 2:
                rest = ", ".join(f"`{r.method}` {r.efficacy.text()}" for r in v.within[2:])
                lines.append(f"- The others at equal fidelity, worst attacker: {rest}.")
        if v.outside:
            lost = ", ".join(f"`{r.method}` (fidelity {r.fidelity.text()}, worst attacker {r.efficacy.text()})" for r in v.outside)
            lines.append(f"- Lost more fidelity than that: {lost}.")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def data_description(config_path: Path) -> str:
    from attrunlearn_core.config import load_config
    from attrunlearn_core.errors import ConfigError

    try:
        config = load_config(config_path)
    except ConfigError as error:
        raise SystemExit(f"attrunlearn: {error}") from None
    return f"data seed {config['seed']} of `{config_path.name}`"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cells", type=Path, help="a grid's tables/cells.parquet")
    parser.add_argument("--config", type=Path, required=True, help="the grid's config: names the data the numbers are from")
    parser.add_argument("--readme", type=Path)
    parser.add_argument("--section")
    args = parser.parse_args()
    if args.readme and not args.section:
        parser.error("--readme needs --section (the block to replace)")
    cells = read_table(
        args.cells,
        [
            "dataset",
            "model",
            "attribute",
            "method",
            "method_name",
            "seed",
            "fidelity",
            "efficacy",
            "efficacy_attacker",
            "chance",
            "chance_given_task",
        ],
    )
    text = markdown(grid_verdicts(cells, str(args.cells)), data_description(args.config))
    if args.readme:
        replace_section(args.readme, args.section, text, tag="verdict")
    print(text)


if __name__ == "__main__":
    main()
