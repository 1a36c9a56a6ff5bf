"""Intervals for the tables: Student-t over seeds for means, Wilson for one attacker's test accuracy."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


def wilson_interval(correct: int, total: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    if total <= 0:
        return math.nan, math.nan
    interval = stats.binomtest(int(correct), int(total)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def t_interval(values, confidence: float = CONFIDENCE) -> dict[str, float]:
    """Mean, sample standard deviation and the two-sided Student-t interval of the mean (NaN bounds for one value)."""
    values = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    n = len(values)
    if n == 0:
        return {"mean": math.nan, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    mean = float(values.mean())
    if n == 1:
        return {"mean": mean, "std": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}
