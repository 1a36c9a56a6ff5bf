"""What the figures share: input checks, colours, interval error bars, the baseline-1 label, atomic saving."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from attrunlearn_core.atomic import atomic_path  # noqa: E402
from attrunlearn_core.errors import AttrUnlearnError  # noqa: E402

BASELINE_METHOD_NAME = "original"  # the registered method of baseline-1
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


class FigureInputError(AttrUnlearnError):
    pass


def require_columns(frame: pd.DataFrame, columns: list[str], source: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise FigureInputError(f"{source}: missing column(s) {', '.join(missing)}")


def rows_of(frame: pd.DataFrame, dataset: str, source: str) -> pd.DataFrame:
    rows = frame[frame["dataset"] == dataset]
    if rows.empty:
        raise FigureInputError(f"{source}: no rows for dataset {dataset!r}")
    return rows


def colours(names) -> dict[str, str]:
    """One colour per name, in order of first appearance (the grid's order), stable across a figure's panels."""
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(dict.fromkeys(names))}


def method_label(method: str, method_name: str) -> str:
    """The method as the tables name it; baseline-1 says so."""
    return f"{method} (baseline-1)" if method_name == BASELINE_METHOD_NAME else method


def percent_error(mean: float, low: float, high: float) -> list[list[float]]:
    """Asymmetric error bar in percent from an interval; no bar where the interval is undefined (one seed)."""
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (mean, low, high)):
        return [[0.0], [0.0]]
    return [[100 * (mean - low)], [100 * (high - mean)]]


def panels(rows: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Panel rows are models, columns attributes, both in the table's order."""
    return list(dict.fromkeys(rows["model"])), list(dict.fromkeys(rows["attribute"]))


def figure_title(figure: Figure, text: str) -> None:
    """The figure's title, flush left: centred over the whole figure it would run under the legend at the top right."""
    figure.suptitle(text, x=0.01, ha="left", fontsize="medium")


def legend_outside(figure: Figure) -> None:
    """One legend for all panels, each label once, to the right of the panels."""
    handles = {}
    for ax in figure.axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    # Methods and attackers first, reference lines (chance levels) after them.
    order = sorted(handles, key=lambda label: "chance" in label)
    figure.legend([handles[label] for label in order], order, loc="outside right upper", fontsize="small")


def save_figure(figure: Figure, path: str | Path) -> None:
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=110)
