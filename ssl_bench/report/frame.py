"""Records to numbers: one row per grid point, the summary over seeds per (method, row)
with drops against the grid's baseline, and the paper's numbers on our rows.

A missing or failed point stays missing or failed and never becomes a number. Values
are stored as numbers and formatted only when rendered (`report.tables`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ssl_bench.ablation import Ablation
from ssl_bench.diagnostics import loss_floor
from ssl_bench.records import machine_of
from ssl_bench.verdicts import COLLAPSED, METRIC, PIXELS, RANDOM, stat, welch_interval

PCT = 100.0


@dataclass(frozen=True)
class Entry:
    """One grid point: its labels (ablation, row, method, seed) and its record, if any."""

    labels: dict
    record: dict | None


@dataclass(frozen=True)
class Joined:
    """The records of a grid's directory joined to the grid expected today."""

    entries: list[Entry]  # one per expected point; record None: missing
    stale: list[Entry]  # records of a selected row, method and seed whose config is not today's
    outside: int  # records of rows, methods or seeds this selection did not ask for


def join_records(points: Sequence, records: dict) -> Joined:
    """Records (path -> record, schema-1 ones upgraded) joined to the expected points by run
    id. A record whose labels fall in the selection but whose id matches no point (a
    default changed since, or another --set) is stale: shown as such, never dropped, and
    never mistaken for the point it once was; "missing" then means no record at all."""
    from ssl_bench.migrate import upgrade_record

    by_id: dict[str, dict] = {}
    corrupt: dict[str, dict] = {}
    for path, rec in records.items():
        if rec.get("status") == "corrupt":
            corrupt[path.parent.name] = rec
        else:
            rec = upgrade_record(rec)
            by_id[rec.get("run_id") or path.parent.name] = rec
    entries = [Entry(p.labels, by_id.pop(p.run_id, None) or corrupt.get(p.run_id)) for p in points]
    wanted = {(p.row, p.method, p.seed) for p in points}
    stale, outside = [], 0
    for rec in by_id.values():
        labels = rec.get("labels") or {}
        if (labels.get("row"), labels.get("method"), labels.get("seed")) in wanted:
            stale.append(Entry(labels, {**rec, "status": "stale"}))
        else:
            outside += 1
    return Joined(entries, stale, outside)


_NO_POINT = Entry({"row": "", "method": "", "seed": 0}, None)  # shapes the frames of a grid with no points


def collect(entries: Sequence[Entry]) -> pd.DataFrame:
    """One row per grid point, with status and the numbers the report uses (in %); with no
    points (a grid that runs no rows at its preset), the same columns and no row."""
    if not entries:
        return collect([_NO_POINT]).iloc[:0]
    rows = []
    for e in entries:
        rec = e.record or {}
        status = rec.get("status", "missing")  # done, failed, corrupt, stale (not today's grid) or missing
        m = rec.get("metrics", {}) if status == "done" else {}
        r = rec.get("random_init", {}) if status == "done" else {}
        px = rec.get("pixels", {}) if status == "done" else {}
        cost = rec.get("cost", {}) if status == "done" else {}
        cfg = rec.get("config", {})
        rows.append(
            {
                "row": e.labels["row"],
                "method": e.labels["method"],
                "seed": e.labels["seed"],
                "status": status,
                "run_id": rec.get("run_id"),
                "error": rec.get("error") if status in ("failed", "corrupt") else None,
                "linear_top1": _pct(m.get("linear_top1")),
                "linear_top5": _pct(m.get("linear_top5")),
                "knn_top1": _pct(m.get("knn_top1")),
                "z_std": m.get("z_std"),
                "z_std_ideal": m.get("z_std_ideal"),
                "z_ratio": m["z_std"] / m["z_std_ideal"]
                if m.get("z_std") is not None and m.get("z_std_ideal")
                else None,
                "effective_rank": m.get("effective_rank"),
                "loss_tv": _loss_path(rec.get("curves") or []) if status == "done" else None,
                "curves": rec.get("curves") if status == "done" else None,
                "loss_to_floor": _to_floor(m.get("final_loss"), cfg.get("method")),
                "loss_floor": loss_floor(cfg.get("method")),
                "spread_bounded": _spread_bounded(cfg),
                "random_linear_top1": _pct(r.get("linear_top1")),
                "random_knn_top1": _pct(r.get("knn_top1")),
                "pixels_linear_top1": _pct(px.get("linear_top1")),
                "pixels_knn_top1": _pct(px.get("knn_top1")),
                **{f"{side}{k}": _pct(v) for side, d in (("", m), ("pixels_", px)) for k, v in _knn_also(d).items()},
                "train_wall_s": cost.get("train_wall_s"),
                "eval_wall_s": cost.get("eval_wall_s"),
                "images_per_s": cost.get("images_per_s"),
                "device": cost.get("device"),
                "device_name": cost.get("device_name"),
                "machine": machine_of(rec) if status == "done" else None,
                "dataset": cfg.get("data", {}).get("dataset"),
                "backbone": cfg.get("backbone"),
                "epochs": cfg.get("train", {}).get("epochs"),
                "knn_k": cfg.get("eval", {}).get("knn_k"),
                "preset": cfg.get("preset"),
                "batch_size": cfg.get("train", {}).get("batch_size"),
                "num_classes": rec.get("data", {}).get("num_classes"),
                **_low_label(m, r),
            }
        )
    return pd.DataFrame(rows)


def _spread_bounded(cfg: dict) -> bool:
    """Whether the projector ends in BatchNorm without affine parameters, which holds each
    channel's spread near 1/√d whatever the rank (`verdicts.collapsed`); with them, γ can
    shrink to 0 and the spread with it."""
    head = (cfg.get("method") or {}).get("projector") or {}
    return bool(head.get("bn_out")) and not head.get("bn_out_affine")


def _loss_path(curves: list[dict]) -> float | None:
    """How far the per-epoch loss travels over how far it gets: 1 for a monotone curve,
    more where it goes back and forth (SimSiam's Table 3d "loss oscillates")."""
    losses = [c["loss"] for c in curves if c.get("loss") is not None]
    if len(losses) < 3:
        return None
    path = sum(abs(b - a) for a, b in zip(losses[:-1], losses[1:], strict=True))
    return path / max(abs(losses[-1] - losses[0]), 1e-12)


def _to_floor(final_loss: float | None, method: dict | None) -> float | None:
    """The final loss as a fraction of the least value the run's loss can take (1: there)."""
    floor = loss_floor(method)
    return None if final_loss is None or floor is None else final_loss / floor


def _knn_also(metrics: dict) -> dict:
    """kNN top-1 at the extra k's a run scored (knn_top1_k<k>)."""
    return {k: v for k, v in metrics.items() if k.startswith("knn_top1_k")}


def _low_label(m: dict, r: dict) -> dict:
    """low_<fraction> and random_low_<fraction>: linear top-1 (%) with that fraction of the labels."""
    out = {}
    for key, v in (m.get("low_label") or {}).items():
        out[f"low_{key}"] = _pct(v.get("top1"))
        out[f"random_low_{key}"] = _pct(((r.get("low_label") or {}).get(key) or {}).get("top1"))
    return out


def _pct(v: float | None) -> float:
    return float("nan") if v is None else PCT * v


def summarize(
    df: pd.DataFrame, row_order: Sequence[str], baseline: str | None = None, metric: str = "linear_top1"
) -> pd.DataFrame:
    """Mean, std and n over seeds per (method, row), and the drop against the ablation's
    baseline row in the verdicts' design: unpaired, the difference of the two means, with
    the half-width of its 95 % Welch t-interval (`drop_half`). Without a finished baseline
    there is no drop: never a silent re-baselining on another row. `metric` is the record
    column the verdicts read ("score"), with its random-init and pixel counterparts."""
    if not len(df):  # a grid with no points: the columns of a summary, and no row
        return summarize(collect([_NO_POINT]), [""], None, metric).iloc[:0]
    df = df.assign(
        **{
            METRIC: df[metric],
            RANDOM: df[f"random_{metric}"],
            PIXELS: df[f"pixels_{metric}"] if f"pixels_{metric}" in df else float("nan"),
        }
    )
    done = df[df.status == "done"].copy()
    baseline = baseline if baseline is not None else (row_order[0] if len(row_order) else None)
    out = []
    for (method, row), g in df.groupby(["method", "row"], sort=False):
        d = done[(done.method == method) & (done.row == row)]
        item = {
            "method": method,
            "row": row,
            "n": len(d),
            "failed": int((g.status == "failed").sum()),
            "missing": int((g.status == "missing").sum()),
            "running": int(g.status.isin(["running"]).sum()),
            "corrupt": int((g.status == "corrupt").sum()),
            "stale": int((g.status == "stale").sum()),
            "errors": "; ".join(sorted({str(x) for x in g.error.dropna()})),
        }
        extra = [c for c in df.columns if c.startswith(("low_", "random_low_", "pixels_", "knn_top1_k"))]
        base = (
            "linear_top1",
            "knn_top1",
            "z_std",
            "z_ratio",
            "effective_rank",
            "loss_tv",
            "loss_to_floor",
            "random_linear_top1",
            "random_knn_top1",
        )
        for col in (METRIC, RANDOM, *base, *extra):
            vals = d[col].dropna().to_numpy()
            item[col] = float(vals.mean()) if len(vals) else float("nan")
            item[f"{col}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else float("nan")
            item[f"{col}_n"] = len(vals)  # the seeds that scored it: a finished run may lack a curve
        item["z_std_ideal"] = float(d.z_std_ideal.mean()) if len(d) else float("nan")
        item["spread_bounded"] = bool(d.spread_bounded.any()) if len(d) else False
        item["z_collapsed"] = int((d.z_ratio.dropna() < COLLAPSED).sum())  # seeds whose projections collapsed
        item["machines"] = "\n".join(sorted(set(d.machine.dropna()))) if "machine" in d else ""  # names hold "; "
        out.append(item)
    s = pd.DataFrame(out)
    if len(s):
        drops = [_drop(s, m, r, baseline) for m, r in zip(s.method, s.row, strict=True)]
        s["drop"], s["drop_half"] = [d for d, _ in drops], [h for _, h in drops]
    order = {r: k for k, r in enumerate(row_order)}
    return s.sort_values(by=["method", "row"], key=lambda c: c.map(order) if c.name == "row" else c, ignore_index=True)


def _drop(summary: pd.DataFrame, method: str, row: str, baseline: str | None) -> tuple[float, float]:
    """(row's mean − baseline's mean, half-width of its 95 % Welch t-interval); nan where
    either side is missing, and a nan half-width where either side has one seed."""
    nan = float("nan")
    a = stat(summary, method, row, METRIC) if baseline is not None else None
    b = stat(summary, method, baseline, METRIC) if baseline is not None else None
    if a is None or b is None:
        return nan, nan
    if row == baseline:
        return 0.0, nan
    if a.one_seed or b.one_seed:
        return a.mean - b.mean, nan
    low, high, _ = welch_interval(a, b)
    return a.mean - b.mean, (high - low) / 2


def paper_frame(ablation: Ablation, baseline: str | None = None) -> pd.DataFrame:
    """The paper's numbers, one row per (row, method). For an ablation paired by reduction
    (batch size), each paper row is placed on our row of the same reduction base/b, and
    `paper_row` keeps the paper's own label."""
    rows = [
        {"row": p.row, "paper_row": p.row, "method": p.method, "paper_top1": p.top1, "paper_spread": p.spread}
        for p in ablation.paper
    ]
    df = pd.DataFrame(rows, columns=["row", "paper_row", "method", "paper_top1", "paper_spread"])
    if ablation.pair_by_reduction and baseline is not None and len(df) and _is_number(baseline):
        paper_base = float(df.paper_row.iloc[0])
        df["row"] = [_number_label(float(baseline) * float(r) / paper_base) for r in df.paper_row]
    base = {m: g.paper_top1.iloc[0] for m, g in df.groupby("method", sort=False)}
    df["paper_drop"] = [t - base[m] for m, t in df[["method", "paper_top1"]].itertuples(index=False)]
    return df


def _number_label(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def row_order(ablation: Ablation, ours: Sequence[str], paper: pd.DataFrame | None = None) -> list[str]:
    """The paper's rows in its order, with rows that only we ran inserted where they fit
    (for batch sizes: by value)."""
    paper = paper_frame(ablation) if paper is None else paper
    paper_rows = list(dict.fromkeys(paper.row))
    extra = [r for r in ours if r not in paper_rows]
    if all(_is_number(r) for r in paper_rows + extra):
        return sorted(set(paper_rows + extra), key=lambda r: -float(r))
    return [r for r in ours] + [r for r in paper_rows if r not in ours]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
