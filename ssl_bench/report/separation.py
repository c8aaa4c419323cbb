"""Which metric tells a grid's rows apart best: a pure function of the records.

A verdict is only as sharp as its metric's seed noise is small next to what the rows
change. For each metric this measures, over the grid's (method, row) cells with at least
two finished seeds that scored every metric (so all metrics read the same runs):

- seed noise: the pooled within-cell standard deviation over seeds;
- spread: the standard deviation of the cells' means across the grid;
- separation: spread / noise. Higher tells rows apart with fewer seeds.

The low-label probes (frozen linear probes on 1 % and 10 % of the labels: the label
fractions of the paper's semi-supervised protocol, not its fine-tuning)
are candidates for a verdict only where they separate better than the full linear probe
and kNN; `low_label_verdict` says whether any does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

METRICS = {
    "linear_top1": "linear top-1, all labels",
    "knn_top1": "kNN top-1",
    "low_0.1": "linear top-1, 10 % of labels",
    "low_0.01": "linear top-1, 1 % of labels",
}
FULL = ("linear_top1", "knn_top1")


def separation(records: pd.DataFrame, metrics: Sequence[str] = tuple(METRICS)) -> pd.DataFrame:
    """One row per metric: cells and runs read, seed noise, spread of cell means and their
    ratio (all in top-1 points). Empty when fewer than two cells have two seeds."""
    present = [m for m in metrics if m in records]
    done = records[records.status == "done"].dropna(subset=present) if present else records.iloc[0:0]
    cells = [g for _, g in done.groupby(["method", "row"], sort=False) if len(g) >= 2]
    if len(present) < len(metrics) or len(cells) < 2:
        return pd.DataFrame(columns=["metric", "cells", "runs", "noise", "spread", "separation"])
    out = []
    dof = sum(len(g) - 1 for g in cells)
    for m in metrics:
        pooled = math.sqrt(sum(((g[m] - g[m].mean()) ** 2).sum() for g in cells) / dof)
        spread = float(pd.Series([g[m].mean() for g in cells]).std(ddof=1))
        ratio = spread / pooled if pooled > 0 else math.inf
        out.append(
            {
                "metric": m,
                "cells": len(cells),
                "runs": sum(len(g) for g in cells),
                "noise": pooled,
                "spread": spread,
                "separation": ratio,
            }
        )
    return pd.DataFrame(out)


def low_label_verdict(table: pd.DataFrame) -> str | None:
    """The low-label metric that separates better than both full-label metrics, or None."""
    if table.empty:
        return None
    by = table.set_index("metric").separation
    best_full = max(by[m] for m in FULL)
    better = [m for m in METRICS if m not in FULL and by[m] > best_full]
    return max(better, key=lambda m: by[m]) if better else None


def separation_markdown(name: str, table: pd.DataFrame) -> str:
    """The table in words and numbers for one grid."""
    if table.empty:
        return f"- {name}: fewer than two rows with two seeds that scored every metric; nothing measured."
    lines = [
        f"{name} ({int(table.cells.iloc[0])} rows × seeds, {int(table.runs.iloc[0])} runs):",
        "",
        "| metric | seed noise (std) | spread of row means (std) | separation |",
        "|---|---|---|---|",
    ]
    for r in table.itertuples(index=False):
        lines.append(f"| {METRICS[r.metric]} | {r.noise:.2f} | {r.spread:.2f} | {r.separation:.2f} |")
    pick = low_label_verdict(table)
    lines += [
        "",
        f"The {METRICS[pick]} probe separates these rows better than both the full probe and kNN."
        if pick
        else "Neither low-label probe separates these rows better than the better of the full linear probe and kNN.",
    ]
    return "\n".join(lines)
