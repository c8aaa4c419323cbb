"""The paper-shaped table of an ablation and its Markdown and LaTeX renderings, with the
lines that state its scale and its cost."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from ssl_bench.ablation import Ablation
from ssl_bench.report.frame import METRIC, row_order


def _cell(mean: float, std: float, n: int, digits: int = 1) -> str:
    if n == 0 or math.isnan(mean):
        return ""
    if n > 1 and not math.isnan(std):
        return f"{mean:.{digits}f} ± {std:.{digits}f} ({n})"
    return f"{mean:.{digits}f} ({n})"


def _status_cell(item: pd.Series | None) -> str | None:
    if item is None:
        return "not run"
    if item["n"] == 0:
        if item["failed"]:
            return "failed"
        if item["corrupt"]:
            return "corrupt record"
        if item["running"]:
            return "running"
        if item["stale"]:
            return "stale record"
        return "missing"
    return None


RANDOM_ROW, PIXELS_ROW = "random-init encoder", "raw pixels"


def table(
    ablation: Ablation,
    summary: pd.DataFrame,
    methods: Sequence[str],
    paper: pd.DataFrame,
    other: str = "knn_top1",
    records: pd.DataFrame | None = None,
    metric: str = "linear_top1",
) -> pd.DataFrame:
    """The paper-shaped table: one row per paper row, per method our top-1 on the verdicts'
    metric (mean ± std (n)), our drop against the baseline row, the `other` metric (kNN
    where the verdicts read linear top-1, linear where they read kNN), embedding std, and
    the paper's top-1 and drop. Paired by reduction, each line also names the reduction and
    the paper's own row. With the `records`, two lines close it: the runs' random-init
    encoder and the pixels they are given, scored alike: the floors training must clear."""
    order = row_order(ablation, list(dict.fromkeys(summary.row)), paper)
    other_label = _label(other)
    out = []
    base = order[0] if order else None
    for row in order:
        line = {ablation.x_label or "row": row}
        if ablation.pair_by_reduction and len(summary):  # with no runs, the paper's rows are the rows
            line["reduction"] = f"{float(base) / float(row):g}×" if base else ""
            theirs = paper[paper.row == row].paper_row
            line["paper's batch"] = theirs.iloc[0] if len(theirs) else "–"
        for method in methods:
            ours = summary[(summary.method == method) & (summary.row == row)]
            item = ours.iloc[0] if len(ours) else None
            status = _status_cell(item)
            pm = paper[(paper.method == method) & (paper.row == row)]
            prefix = f"{method} " if len(methods) > 1 else ""
            if status is not None:
                line[f"{prefix}top-1"] = status
                line[f"{prefix}Δ"] = ""
                line[f"{prefix}{other_label}"] = ""
                line[f"{prefix}z std"] = ""
            else:
                others = [(item[k], k) for k in ("failed", "corrupt", "stale", "missing") if item[k]]
                extra = f" (+{', '.join(f'{n} {k}' for n, k in others)})" if others else ""
                line[f"{prefix}top-1"] = _cell(item[METRIC], item[f"{METRIC}_std"], item["n"]) + extra
                line[f"{prefix}Δ"] = _signed(item["drop"], item["drop_half"], item["n"])
                line[f"{prefix}{other_label}"] = _cell(item[other], item[f"{other}_std"], item["n"])
                line[f"{prefix}z std"] = f"{item['z_std']:.3f}"
            if len(pm) and not pd.isna(pm.iloc[0].paper_top1):  # a row the paper prints no number for reads "–"
                p = pm.iloc[0]
                spread = "" if pd.isna(p.paper_spread) else f" ± {p.paper_spread:.1f}"
                line[f"{prefix}paper"] = f"{p.paper_top1:.1f}{spread}"
                line[f"{prefix}paper Δ"] = f"{p.paper_drop:+.1f}"
            else:
                line[f"{prefix}paper"] = "–"
                line[f"{prefix}paper Δ"] = "–"
        out.append(line)
    frame = pd.DataFrame(out)
    if records is not None and len(frame):
        frame = pd.concat([frame, _floors(frame.columns, records, methods, metric, other)], ignore_index=True)
    return frame


def _floors(columns: Sequence[str], records: pd.DataFrame, methods: Sequence[str], metric: str, other: str):
    """The random-init and raw-pixel lines, in the table's columns. The random-init encoder
    is one network per method and seed, whatever the row: mean ± std over seeds (n). The
    pixels are the same for every run: one number."""
    done = records[records.status == "done"] if "status" in records else records.iloc[:0]
    lines = []
    for label, side in ((RANDOM_ROW, "random_"), (PIXELS_ROW, "pixels_")):
        if not any(side + m in done and done[side + m].notna().any() for m in (metric, other)):
            continue  # not scored (pixels are scored where `eval.pixels` asks for them)
        line = dict.fromkeys(columns, "")
        line[columns[0]] = label
        for method in methods:
            prefix = f"{method} " if len(methods) > 1 else ""
            mine = done[done.method == method]
            for key, col in ((f"{prefix}top-1", side + metric), (f"{prefix}{_label(other)}", side + other)):
                if col not in mine or mine[col].isna().all():
                    continue
                per_seed = mine.groupby("seed")[col].mean().dropna()
                if side == "pixels_":
                    line[key] = f"{per_seed.mean():.1f}"
                else:
                    line[key] = _cell(per_seed.mean(), per_seed.std(ddof=1), len(per_seed))
            for key in (f"{prefix}paper", f"{prefix}paper Δ"):
                if key in line:
                    line[key] = "–"
        lines.append(line)
    return pd.DataFrame(lines, columns=list(columns))


def _label(other: str) -> str:
    return "kNN" if other == "knn_top1" else "linear"


def _signed(mean: float, std: float, n: int) -> str:
    if n == 0 or math.isnan(mean):
        return ""
    if n > 1 and not math.isnan(std):
        return f"{mean:+.1f} ± {std:.1f}"
    return f"{mean:+.1f}"


def floors_line(records: pd.DataFrame) -> str:
    """What training added: the same architectures randomly initialised, and the pixels
    they are given, scored alike (ranges over the runs; the table's last lines average them)."""
    done = records[records.status == "done"]
    if done.empty:
        return "Random-init encoder: no finished runs."
    lin, knn = done.random_linear_top1, done.random_knn_top1
    line = (
        f"Random-init encoder of the same architecture (every run scores one): linear top-1 "
        f"{lin.min():.1f}–{lin.max():.1f}, kNN {knn.min():.1f}–{knn.max():.1f}."
    )
    px_lin, px_knn = done.get("pixels_linear_top1"), done.get("pixels_knn_top1")
    if px_knn is not None and px_knn.notna().any():
        line += (
            f" Raw pixels (normalised as the encoder sees them, scored alike): linear top-1 "
            f"{px_lin.mean():.1f}, kNN {px_knn.mean():.1f}"
        )
        also = [c for c in done.columns if c.startswith("pixels_knn_top1_k") and done[c].notna().any()]
        line += "".join(f", kNN at k = {c.rsplit('_k', 1)[1]} {done[c].mean():.1f}" for c in also) + "."
    return line


def scale_line(df: pd.DataFrame) -> str:
    done = df[df.status == "done"]
    if done.empty:
        return "no finished runs yet"
    parts = []
    for col, name in (("preset", "preset"), ("dataset", "dataset"), ("backbone", "backbone"), ("epochs", "epochs")):
        vals = sorted({str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in done[col].dropna()})
        parts.append(f"{name} {', '.join(vals)}")
    return "; ".join(parts)


def cost_line(df: pd.DataFrame) -> str:
    done = df[df.status == "done"]
    if done.empty:
        return "cost: nothing finished"
    hours = (done.train_wall_s.fillna(0) + done.eval_wall_s.fillna(0)).sum() / 3600
    kind = "GPU" if (done.device.fillna("").str.startswith("cuda")).any() else "CPU"
    devices = ", ".join(sorted({str(d) for d in done.device_name.dropna()}))
    return (
        f"cost: {hours:.2f} {kind}-hours for {len(done)} runs on {devices}; "
        f"median {done.images_per_s.median():.0f} images/s in training"
    )


def to_markdown(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, r in frame.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def to_latex(frame: pd.DataFrame, caption: str) -> str:
    def esc(text: object) -> str:
        s = str(text)
        for a, b in (
            ("\\", r"\textbackslash{}"),
            ("&", r"\&"),
            ("%", r"\%"),
            ("_", r"\_"),
            ("#", r"\#"),
            ("±", r"$\pm$"),
            ("Δ", r"$\Delta$"),
            ("τ", r"$\tau$"),
            ("β", r"$\beta$"),
            ("–", "--"),
        ):
            s = s.replace(a, b)
        return s

    cols = list(frame.columns)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        r"\small",
        r"\begin{tabular}{l" + "r" * (len(cols) - 1) + "}",
        r"\toprule",
        " & ".join(esc(c) for c in cols) + r" \\",
        r"\midrule",
    ]
    for _, r in frame.iterrows():
        lines.append(" & ".join(esc(r[c]) for c in cols) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", rf"\caption{{{esc(caption)}}}", r"\end{table}"]
    return "\n".join(lines)
