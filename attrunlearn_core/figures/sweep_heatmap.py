"""The paper's Fig. 6: AUM of a lambda sweep as heat maps over (lambda_2, lambda_3), one panel per lambda_1.

Reads the summary table (one row per dataset x model x attribute x method, `aum_mean` among its columns).
A sweep method's lambdas come from its name (config.py: sweep_method_name) or from a mapping passed in;
rows of other methods are ignored. One row of panels per dataset x model x attribute.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from attrunlearn_core.atomic import atomic_path
from attrunlearn_core.config import SWEEP_LAMBDAS, sweep_point
from attrunlearn_core.errors import ConfigError

LAMBDAS = SWEEP_LAMBDAS  # lambda_1 (panels), lambda_2 (rows), lambda_3 (columns)
KEYS = ["dataset", "model", "attribute"]


def sweep_frame(
    summary: pd.DataFrame, points: dict[str, dict] | None = None, lambdas: tuple[str, str, str] = LAMBDAS, metric: str = "aum_mean"
) -> pd.DataFrame:
    """The summary's sweep rows with one column per lambda: keys, the three lambdas, metric."""
    rows = []
    for row in summary.itertuples(index=False):
        values = (points or {}).get(row.method) or sweep_point(row.method)[1]
        if all(name in values for name in lambdas):
            rows.append({**{key: getattr(row, key) for key in KEYS}, **{name: float(values[name]) for name in lambdas}, metric: getattr(row, metric)})
    return pd.DataFrame(rows, columns=[*KEYS, *lambdas, metric])


def write_sweep_heatmap(
    summary: pd.DataFrame,
    output: str | os.PathLike,
    points: dict[str, dict] | None = None,
    lambdas: tuple[str, str, str] = LAMBDAS,
    metric: str = "aum_mean",
) -> pd.DataFrame:
    """Write the heat map PNG (written atomically); returns the frame it drew. A missing point is left blank."""
    frame = sweep_frame(summary, points, lambdas, metric)
    if frame.empty:
        raise ConfigError(f"{output}: no sweep methods with {', '.join(lambdas)} in the summary table")
    first, second, third = lambdas
    groups = list(frame.groupby(KEYS, sort=True))
    panels = sorted(frame[first].unique())
    rows_values, columns_values = sorted(frame[second].unique()), sorted(frame[third].unique())
    figure, axes = plt.subplots(len(groups), len(panels), figsize=(3.2 * len(panels) + 1, 2.8 * len(groups)), squeeze=False, constrained_layout=True)
    low, high = frame[metric].min(), frame[metric].max()
    image = None
    for r, (keys, group) in enumerate(groups):
        for c, value in enumerate(panels):
            grid = group[group[first] == value].pivot_table(index=second, columns=third, values=metric, aggfunc="mean")
            grid = grid.reindex(index=rows_values, columns=columns_values)
            ax = axes[r][c]
            image = ax.imshow(grid.to_numpy(dtype=float), origin="lower", cmap="viridis", vmin=low, vmax=high, aspect="auto")
            for (i, j), cell in np.ndenumerate(grid.to_numpy(dtype=float)):
                if np.isfinite(cell):
                    ax.text(j, i, f"{cell:.3f}", ha="center", va="center", fontsize=7, color="white" if cell < (low + high) / 2 else "black")
            ax.set_xticks(range(len(columns_values)), [f"{v:g}" for v in columns_values])
            ax.set_yticks(range(len(rows_values)), [f"{v:g}" for v in rows_values])
            ax.set_xlabel(f"λ3 ({third})")
            ax.set_ylabel(f"λ2 ({second})")
            ax.set_title(f"{'/'.join(map(str, keys))}\nλ1 ({first}) = {value:g}", fontsize=8)
    figure.colorbar(image, ax=axes, label=metric.replace("_mean", "").upper() if metric.startswith("aum") else metric)
    with atomic_path(output) as tmp:
        figure.savefig(tmp, format="png", dpi=120)
    plt.close(figure)
    return frame
