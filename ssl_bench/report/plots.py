"""Plots of an ablation beside the paper's: Fig. 3a's drop curve on a log2 axis, SimSiam
Fig. 2's training curves, and horizontal bars for the others; readable in greyscale."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ssl_bench.verdicts import METRIC, PIXELS, RANDOM

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _style():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


MARKERS = {"byol": "o", "simclr": "s", "simsiam": "^"}
GREYS = {"byol": "0.05", "simclr": "0.45", "simsiam": "0.65"}


def plot_drop_curve(
    summary: pd.DataFrame,
    paper: pd.DataFrame,
    methods: Sequence[str],
    x_label: str,
    scale: str,
    title: str,
    paper_setting: str = "ImageNet, ResNet-50",
) -> Figure:
    """Fig. 3a's form: decrease in top-1 against batch size on a log2 axis; the paper's
    curves dashed, ours solid, one marker per method (readable in greyscale)."""
    plt = _style()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for method in methods:
        p = paper[paper.method == method]
        p = p.iloc[p.row.astype(float).argsort()]  # a line from left to right, whatever the table's order
        if len(p):
            ax.plot(
                p.row.astype(float),
                p.paper_drop,
                ls="--",
                marker=MARKERS.get(method, "D"),
                mfc="white",
                color=GREYS.get(method, "0.3"),
                label=f"{method}, paper ({paper_setting})",
            )
        s = summary[(summary.method == method) & (summary.n > 0)]
        if len(s):
            ax.errorbar(
                s.row.astype(float),
                s["drop"],
                yerr=s["drop_half"].fillna(0),  # the 95 % Welch t-interval the verdicts read
                ls="-",
                marker=MARKERS.get(method, "D"),
                color=GREYS.get(method, "0.3"),
                capsize=3,
                label=f"{method}, ours ({scale})",
            )
    ax.set_xscale("log", base=2)
    xs = sorted({float(r) for r in paper[paper.method.isin(methods)].row} | {float(r) for r in summary.row})
    ax.set_xticks(xs)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{int(v)}"))
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.axhline(0, color="0.8", lw=0.8, zorder=0)
    ax.set_xlabel(f"{x_label}; log2 scale", fontsize=8)
    ax.set_ylabel("decrease in linear top-1 vs baseline (points; bars: 95 % Welch t-interval)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="best")  # a fixed corner can hide the paper's last point (SimSiam's 4096)
    fig.tight_layout()
    return fig


def _label_bars(ax, ys, vals) -> None:
    """Each bar's value (bars of 85.5 and 85.9 look alike), or "not run"."""
    for yy, v in zip(ys, vals, strict=True):
        if np.isnan(v):
            ax.text(0, yy, " not run", va="center", fontsize=6, color="0.4")
        else:
            ax.text(v, yy, f" {v:.1f} ", va="center", ha="left" if v >= 0 else "right", fontsize=6)


def plot_bars(
    summary: pd.DataFrame,
    paper: pd.DataFrame,
    methods: Sequence[str],
    rows: Sequence[str],
    value: str,
    xlabel: str,
    scale: str,
    title: str,
    chance: float | None = None,
    paper_setting: str = "ImageNet, ResNet-50",
) -> Figure:
    """One panel for the paper and one for ours, methods side by side (hatched vs solid, or
    by marker, so greyscale prints stay readable). The paper's top-1 are bars from 0 (its
    collapsed rows sit at 0.1 %); ours are points on an axis zoomed to them, with the
    random-init encoder and the pixels drawn as lines, since rows a point apart are the
    question at a small scale. A drop is a bar from 0 on both sides."""
    plt = _style()
    height = max(3.0, 0.32 * len(rows) * max(1, len(methods)) + 1.2)
    fig, axes = plt.subplots(1, 2, figsize=(12, height), sharey=True)
    y = np.arange(len(rows))
    width = 0.8 / max(1, len(methods))
    # Error bars: the std over seeds for top-1, the 95 % Welch half-width for a drop (as the tables print them).
    ours_col, err_col = {"drop": ("drop", "drop_half"), "top1": (METRIC, f"{METRIC}_std")}[value]
    hatches = ["", "//", ".."]
    points = value == "top1"
    shown: list[float] = []
    labels: list[tuple[float, float]] = []  # (row position, our value) of each point, labelled once the axis is set
    for k, method in enumerate(methods):
        pm = paper[paper.method == method].set_index("row")
        pv = [pm[f"paper_{value}"].get(r, np.nan) if len(pm) else np.nan for r in rows]
        sm = summary[summary.method == method].set_index("row")
        ov = [sm[ours_col].get(r, np.nan) if len(sm) else np.nan for r in rows]
        oe = np.nan_to_num([sm[err_col].get(r, np.nan) if len(sm) else np.nan for r in rows])
        off = (k - (len(methods) - 1) / 2) * width
        style = dict(color=GREYS.get(method, "0.3"), label=method)
        axes[0].barh(y + off, pv, height=width, edgecolor="black", hatch=hatches[k % 3], **style)
        _label_bars(axes[0], y + off, pv)
        if points:
            axes[1].errorbar(ov, y + off, xerr=oe, fmt=MARKERS.get(method, "o"), capsize=2, ms=4, **style)
            shown += [v + s * e for v, e in zip(ov, oe, strict=True) for s in (-1, 1) if not np.isnan(v)]
            labels += list(zip(y + off, ov, strict=True))
        else:
            axes[1].barh(y + off, ov, height=width, edgecolor="black", hatch=hatches[k % 3], xerr=oe, **style)
            _label_bars(axes[1], y + off, ov)
    axes[0].set_title(f"paper ({paper_setting})", fontsize=9)
    bars = {"drop": "95 % Welch t-interval", "top1": "std over seeds"}[value]
    axes[1].set_title(f"ours ({scale}; bars: {bars})", fontsize=9)
    for ax in axes:
        ax.set_xlabel(xlabel)
    axes[0].axvline(0, color="black", lw=0.8)
    if points:
        _reference_lines(axes[1], summary, shown, chance)
        left, right = axes[1].get_xlim()
        for yy, v in labels:  # each value at the right edge, clear of the error bars; "not run" at the left
            run = not np.isnan(v)
            axes[1].text(
                right if run else left,
                yy,
                f" {v:.1f}" if run else " not run",
                va="center",
                ha="right" if run else "left",
                fontsize=6,
            )
    else:
        axes[1].axvline(0, color="black", lw=0.8)
    for ax in axes:
        ax.legend(fontsize=7, loc="best")
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(rows, fontsize=7)
    axes[0].invert_yaxis()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def _reference_lines(ax, summary: pd.DataFrame, shown: list[float], chance: float | None) -> None:
    """The random-init encoder's and the pixels' mean top-1 as lines, and the axis zoomed to
    them and the points; chance only where it falls inside."""
    refs = []
    for col, label, ls in ((RANDOM, "random-init encoder", "--"), (PIXELS, "raw pixels", ":")):
        if col in summary and summary[col].notna().any():
            v = float(summary[col].mean())
            ax.axvline(v, color="0.3", ls=ls, lw=1, label=f"{label} {v:.1f}")
            refs.append(v)
    values = shown + refs
    if not values:
        return
    lo, hi = min(values), max(values)
    pad = max(0.5, 0.08 * (hi - lo))
    ax.set_xlim(lo - pad, hi + 3 * pad)  # room on the right for the values
    if chance is not None and lo - pad <= chance:
        ax.axvline(chance, color="0.5", ls="-.", lw=1, label=f"chance {chance:.0f}")


def plot_training_curves(
    records: pd.DataFrame, rows: Sequence[str], ideal: float | None, scale: str, title: str
) -> Figure:
    """SimSiam Fig. 2's three panels over epochs, one line per row and seed: the training
    loss, the per-channel std of the ℓ2-normalised projections (with 1/√d, their value when
    spread out) and kNN top-1, from the curves the records carry."""
    plt = _style()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = (("loss", "training loss"), ("z_std", "std of ℓ2-normalised projections"), ("knn_top1", "kNN top-1 (%)"))
    styles = ["-", "--", ":", "-."]
    done = records[(records.status == "done") & records.curves.notna()] if "curves" in records else records.iloc[:0]
    for k, row in enumerate(rows):
        for _, rec in done[done.row == row].sort_values("seed").iterrows():
            for ax, (key, _) in zip(axes, panels, strict=True):
                points = [(p["epoch"], p[key]) for p in rec.curves if p.get(key) is not None]
                if not points:
                    continue
                x, y = (list(v) for v in zip(*points, strict=True))
                y = [100 * v for v in y] if key == "knn_top1" else y
                first = int(rec.seed) == int(done[done.row == row].seed.min())
                ax.plot(x, y, styles[k % 4], color="0.1" if k == 0 else "0.5", lw=1.2, label=row if first else None)
    for ax, (key, label) in zip(axes, panels, strict=True):
        ax.set_xlabel("epoch")
        ax.set_title(label, fontsize=9)
        floors = set(done.loss_floor.dropna()) if "loss_floor" in done else set()
        if key == "loss" and len(floors) == 1:  # the minimum a collapsed solution reaches (§4.1's −1)
            (floor,) = floors
            ax.axhline(floor, color="0.3", ls=":", lw=1)
            ax.text(ax.get_xlim()[0], floor, " minimum", fontsize=7, color="0.3", va="bottom")
        if key == "z_std":
            # From 0, as Fig. 2 draws it: 0 is collapse, so the axis shows how far from it.
            top = max(ax.get_ylim()[1], 1.15 * ideal) if ideal is not None else ax.get_ylim()[1]
            ax.set_ylim(0, top)
            if ideal is not None:
                ax.axhline(ideal, color="0.3", ls=":", lw=1)
                ax.text(1, ideal, " 1/√d", fontsize=7, color="0.3", va="bottom")
    axes[0].legend(fontsize=7)
    fig.suptitle(f"{title}\n(ours: {scale}; one line per seed)", fontsize=10)
    fig.tight_layout()
    return fig
