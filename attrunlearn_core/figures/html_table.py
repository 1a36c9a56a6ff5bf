"""Tables as small self-contained HTML pages for the Snakemake report (which shows HTML in a frame)."""

from __future__ import annotations

import html
import math
from pathlib import Path

import pandas as pd

from attrunlearn_core.atomic import atomic_path

STYLE = """body{font-family:sans-serif;font-size:13px;margin:12px}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:3px 6px;text-align:right;white-space:nowrap}
th{background:#eee;position:sticky;top:0}td.text{text-align:left}tr:nth-child(even){background:#fafafa}"""

SUMMARY_METRICS = ["fidelity", "efficacy", "aum", "aum_chance_normalised", "method_seconds", "shuffled_efficacy"]


def with_interval(mean: float, low: float, high: float, digits: int = 3) -> str:
    if mean is None or math.isnan(mean):
        return ""
    if low is None or math.isnan(low):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def summary_view(summary: pd.DataFrame) -> pd.DataFrame:
    """One column per metric, 'mean [95 % CI]', beside the keys, chance levels and the worst attacker."""
    view = summary[[c for c in ["dataset", "model", "attribute", "method", "method_name", "n_seeds"] if c in summary]].copy()
    for metric in SUMMARY_METRICS:
        if f"{metric}_mean" in summary:
            digits = 1 if metric == "method_seconds" else 3
            view[metric] = [
                with_interval(m, lo, hi, digits)
                for m, lo, hi in zip(summary[f"{metric}_mean"], summary[f"{metric}_ci_low"], summary[f"{metric}_ci_high"], strict=True)
            ]
    for column in ["efficacy_attacker", "chance", "chance_given_task", "task_chance", "efficacy_still_climbing", "shuffled_flagged"]:
        if column in summary:
            view[column] = summary[column]
    return view


def frame_html(frame: pd.DataFrame, title: str, note: str = "", digits: int = 4) -> str:
    cells = []
    for _, row in frame.iterrows():
        tds = []
        for value in row:
            if isinstance(value, float):
                text, css = ("" if math.isnan(value) else f"{value:.{digits}f}"), ""
            else:
                text, css = str(value), ' class="text"' if isinstance(value, str) else ""
            tds.append(f"<td{css}>{html.escape(text)}</td>")
        cells.append("<tr>" + "".join(tds) + "</tr>")
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h3>{html.escape(title)}</h3><p>{html.escape(note)}</p><table><thead><tr>{head}</tr></thead><tbody>{''.join(cells)}</tbody>"
        "</table></body></html>\n"
    )


def write_html_table(frame: pd.DataFrame, path: str | Path, title: str, note: str = "") -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(frame_html(frame, title, note))
