"""Tables, verdicts and plots of an ablation: pure functions of its run records.

Input: one entry per grid point, (labels, record or None). A missing or failed point
stays missing or failed in every table and never becomes a number. Values are stored
as numbers and formatted only when rendered.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ssl_bench.ablation import Ablation
from ssl_bench.verdicts import METRIC, Verdict

PCT = 100.0


@dataclass(frozen=True)
class Entry:
    """One grid point: its labels (ablation, row, method, seed) and its record, if any."""

    labels: dict
    record: dict | None


def collect(entries: Sequence[Entry]) -> pd.DataFrame:
    """One row per grid point, with status and the numbers the report uses (in %)."""
    rows = []
    for e in entries:
        rec = e.record or {}
        status = rec.get("status", "missing")
        m = rec.get("metrics", {}) if status == "done" else {}
        r = rec.get("random_init", {}) if status == "done" else {}
        cost = rec.get("cost", {}) if status == "done" else {}
        cfg = rec.get("config", {})
        rows.append(
            {
                "row": e.labels["row"],
                "method": e.labels["method"],
                "seed": e.labels["seed"],
                "status": status,
                "error": rec.get("error") if status in ("failed", "corrupt") else None,
                "linear_top1": _pct(m.get("linear_top1")),
                "linear_top5": _pct(m.get("linear_top5")),
                "knn_top1": _pct(m.get("knn_top1")),
                "z_std": m.get("z_std"),
                "z_std_ideal": m.get("z_std_ideal"),
                "random_linear_top1": _pct(r.get("linear_top1")),
                "random_knn_top1": _pct(r.get("knn_top1")),
                "train_wall_s": cost.get("train_wall_s"),
                "eval_wall_s": cost.get("eval_wall_s"),
                "images_per_s": cost.get("images_per_s"),
                "device": cost.get("device"),
                "device_name": cost.get("device_name"),
                "dataset": cfg.get("data", {}).get("dataset"),
                "backbone": cfg.get("backbone"),
                "epochs": cfg.get("train", {}).get("epochs"),
                "preset": cfg.get("preset"),
                "batch_size": cfg.get("train", {}).get("batch_size"),
                "num_classes": rec.get("data", {}).get("num_classes"),
                **_low_label(m, r),
            }
        )
    return pd.DataFrame(rows)


def _low_label(m: dict, r: dict) -> dict:
    """low_<fraction> and random_low_<fraction>: linear top-1 (%) with that fraction of the labels."""
    out = {}
    for key, v in (m.get("low_label") or {}).items():
        out[f"low_{key}"] = _pct(v.get("top1"))
        out[f"random_low_{key}"] = _pct(((r.get("low_label") or {}).get(key) or {}).get("top1"))
    return out


def _pct(v: float | None) -> float:
    return float("nan") if v is None else PCT * v


def summarize(df: pd.DataFrame, row_order: Sequence[str], baseline: str | None = None) -> pd.DataFrame:
    """Mean, std and n over seeds per (method, row); the drop against the ablation's
    baseline row is computed per seed (same seed's baseline), then averaged. Without a
    finished baseline there is no drop: never a silent re-baselining on another row."""
    done = df[df.status == "done"].copy()
    baseline = baseline if baseline is not None else (row_order[0] if len(row_order) else None)
    base_vals = {
        (m, s): v for m, s, r, v in done[["method", "seed", "row", METRIC]].itertuples(index=False) if r == baseline
    }
    done["drop"] = [
        v - base_vals.get((m, s), float("nan")) for m, s, v in done[["method", "seed", METRIC]].itertuples(index=False)
    ]
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
            "errors": "; ".join(sorted({str(x) for x in g.error.dropna()})),
        }
        low = [c for c in df.columns if c.startswith(("low_", "random_low_"))]
        for col in (METRIC, "knn_top1", "drop", "z_std", "random_linear_top1", "random_knn_top1", *low):
            vals = d[col].dropna().to_numpy()
            item[col] = float(vals.mean()) if len(vals) else float("nan")
            item[f"{col}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else float("nan")
        item["z_std_ideal"] = float(d.z_std_ideal.mean()) if len(d) else float("nan")
        out.append(item)
    s = pd.DataFrame(out)
    order = {r: k for k, r in enumerate(row_order)}
    return s.sort_values(by=["method", "row"], key=lambda c: c.map(order) if c.name == "row" else c, ignore_index=True)


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


# ----------------------------------------------------------------------------- rendering


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
        return "missing"
    return None


def table(ablation: Ablation, summary: pd.DataFrame, methods: Sequence[str], paper: pd.DataFrame) -> pd.DataFrame:
    """The paper-shaped table: one row per paper row, per method our top-1 (mean ± std (n)),
    our drop against the baseline row, kNN, embedding std, and the paper's top-1 and drop.
    Paired by reduction, each line also names the reduction and the paper's own row."""
    order = row_order(ablation, list(dict.fromkeys(summary.row)), paper)
    out = []
    base = order[0] if order else None
    for row in order:
        line = {ablation.x_label or "row": row}
        if ablation.pair_by_reduction:
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
                line[f"{prefix}kNN"] = ""
                line[f"{prefix}z std"] = ""
            else:
                others = [(item[k], k) for k in ("failed", "corrupt", "missing") if item[k]]
                extra = f" (+{', '.join(f'{n} {k}' for n, k in others)})" if others else ""
                line[f"{prefix}top-1"] = _cell(item[METRIC], item[f"{METRIC}_std"], item["n"]) + extra
                line[f"{prefix}Δ"] = _signed(item["drop"], item["drop_std"], item["n"])
                line[f"{prefix}kNN"] = _cell(item["knn_top1"], item["knn_top1_std"], item["n"])
                line[f"{prefix}z std"] = f"{item['z_std']:.3f}"
            if len(pm):
                p = pm.iloc[0]
                spread = "" if pd.isna(p.paper_spread) else f" ± {p.paper_spread:.1f}"
                line[f"{prefix}paper"] = f"{p.paper_top1:.1f}{spread}"
                line[f"{prefix}paper Δ"] = f"{p.paper_drop:+.1f}"
            else:
                line[f"{prefix}paper"] = "–"
                line[f"{prefix}paper Δ"] = "–"
        out.append(line)
    return pd.DataFrame(out)


def _signed(mean: float, std: float, n: int) -> str:
    if n == 0 or math.isnan(mean):
        return ""
    if n > 1 and not math.isnan(std):
        return f"{mean:+.1f} ± {std:.1f}"
    return f"{mean:+.1f}"


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


# ----------------------------------------------------------------------------- plots


def _style():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


MARKERS = {"byol": "o", "simclr": "s", "simsiam": "^"}
GREYS = {"byol": "0.05", "simclr": "0.45", "simsiam": "0.65"}


def plot_drop_curve(
    summary: pd.DataFrame, paper: pd.DataFrame, methods: Sequence[str], x_label: str, scale: str, title: str
):
    """Fig. 3a's form: decrease in top-1 against batch size on a log2 axis; the paper's
    curves dashed, ours solid, one marker per method (readable in greyscale)."""
    plt = _style()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for method in methods:
        p = paper[paper.method == method]
        if len(p):
            ax.plot(
                p.row.astype(float),
                p.paper_drop,
                ls="--",
                marker=MARKERS.get(method, "D"),
                mfc="white",
                color=GREYS.get(method, "0.3"),
                label=f"{method}, paper (ImageNet, 300 ep)",
            )
        s = summary[(summary.method == method) & (summary.n > 0)]
        if len(s):
            ax.errorbar(
                s.row.astype(float),
                s["drop"],
                yerr=s["drop_std"].fillna(0),
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
    ax.set_ylabel("decrease in linear top-1 vs baseline (points)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


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
):
    """Horizontal bars, one panel for the paper and one for ours, methods side by side
    (hatched vs solid, so greyscale prints stay readable)."""
    plt = _style()
    height = max(3.0, 0.32 * len(rows) * max(1, len(methods)) + 1.2)
    fig, axes = plt.subplots(1, 2, figsize=(12, height), sharey=True)
    y = np.arange(len(rows))
    width = 0.8 / max(1, len(methods))
    ours_col = {"drop": "drop", "top1": METRIC}[value]
    hatches = ["", "//", ".."]
    for k, method in enumerate(methods):
        pm = paper[paper.method == method].set_index("row")
        pv = [pm[f"paper_{value}"].get(r, np.nan) if len(pm) else np.nan for r in rows]
        sm = summary[summary.method == method].set_index("row")
        ov = [sm[ours_col].get(r, np.nan) if len(sm) else np.nan for r in rows]
        oe = [sm[f"{ours_col}_std"].get(r, np.nan) if len(sm) else np.nan for r in rows]
        off = (k - (len(methods) - 1) / 2) * width
        for ax, vals, err in ((axes[0], pv, None), (axes[1], ov, oe)):
            ax.barh(
                y + off,
                vals,
                height=width,
                color=GREYS.get(method, "0.3"),
                edgecolor="black",
                hatch=hatches[k % 3],
                label=method,
                xerr=None if err is None else np.nan_to_num(err),
            )
            for yy, v in zip(y + off, vals, strict=True):
                if np.isnan(v):
                    ax.text(0, yy, " not run", va="center", fontsize=6, color="0.4")
                else:  # the values, since bars of 85.5 and 85.9 look alike
                    ax.text(v, yy, f" {v:.1f} ", va="center", ha="left" if v >= 0 else "right", fontsize=6)
    axes[0].set_title("paper (ImageNet, ResNet-50, 300 epochs)", fontsize=9)
    axes[1].set_title(f"ours ({scale})", fontsize=9)
    for ax in axes:
        ax.set_xlabel(xlabel)
        ax.axvline(0, color="black", lw=0.8)
        ax.legend(fontsize=7)
    if chance is not None:
        axes[1].axvline(chance, color="0.5", ls=":", lw=1)
        axes[1].text(chance, len(rows) - 0.5, " chance", fontsize=7, color="0.4")
    if value == "top1" and summary["random_linear_top1"].notna().any():
        rand = float(summary["random_linear_top1"].mean())
        axes[1].axvline(rand, color="0.3", ls="--", lw=1)
        axes[1].text(rand, -0.6, f"random init {rand:.1f}", fontsize=7, color="0.3", ha="right")
    axes[0].set_yticks(y)
    axes[0].set_yticklabels(rows, fontsize=7)
    axes[0].invert_yaxis()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- assembly

CLASSES = {"fashion-mnist": 10, "cifar10": 10, "cifar100": 100, "stl10": 10}


RULES = (
    "How a verdict is decided: the difference of two means over seeds ± 2 standard errors is compared with the "
    "margin each claim states. It holds only when the whole interval clears the margin on the claimed side, does "
    "not hold only when the whole interval lies on the other side, and otherwise cannot tell; with one seed on "
    "either side it gives the point estimate only. Collapse is judged against the run's own random-init encoder: "
    "collapsed when the trained encoder's top-1 is no more than 1 point above it (interval included) and its "
    "projections' std is under 0.1 × 1/√d; not collapsed when the gain clears 1 point or the projections stay "
    "spread. A small model trained briefly stays close to its initialisation, so at such a scale a verdict on "
    "collapse reads the projections and the gain, never the top-1 against chance."
)


@dataclass
class Report:
    ablation: Ablation
    records: pd.DataFrame  # one row per grid point
    summary: pd.DataFrame  # one row per (method, row)
    table: pd.DataFrame  # paper-shaped, formatted
    verdicts: list[Verdict]
    scale: str
    cost: str
    methods: list[str]
    paper: pd.DataFrame  # the paper's numbers, on our rows (paired by reduction where the ablation says so)
    baseline: str | None  # the row every drop is measured against

    def markdown(self, image: str | None = None) -> str:
        a = self.ablation
        lines = [
            f"## {a.name}: {a.title}",
            "",
            f"Ours: {self.scale}. Linear top-1 (%) on the test split, mean ± std over seeds (n); Δ is the drop "
            f"against each method's first row, per seed; kNN is weighted kNN top-1; z std is the per-dimension std of "
            f"ℓ2-normalised projections (≈ 1/√d when spread out, → 0 when collapsed). {self.cost}.",
            "",
            self.random_init_line(),
            "",
            f"Paper: {a.source}; ImageNet, ResNet-50, 300 epochs, linear top-1 (%) (± is half the spread over 3 "
            "seeds, where printed).",
            "",
            to_markdown(self.table),
            "",
            "Claims of the paper, checked on these runs:",
            "",
            *[line for v in self.verdicts for line in (v.line(), *([f"  - the paper: {v.quote}"] if v.quote else []))],
            "",
            RULES,
        ]
        if image:
            lines += ["", f"![{a.name}]({image})"]
        return "\n".join(lines) + "\n"

    def random_init_line(self) -> str:
        """What training added: the same architectures, randomly initialised, scored alike."""
        done = self.records[self.records.status == "done"]
        if done.empty:
            return "Random-init encoder: no finished runs."
        lin, knn = done.random_linear_top1, done.random_knn_top1
        return (
            f"Random-init encoder of the same architecture (every run scores one): linear top-1 "
            f"{lin.min():.1f}–{lin.max():.1f}, kNN {knn.min():.1f}–{knn.max():.1f}."
        )

    def csv_frame(self) -> pd.DataFrame:
        """Numbers, not strings: our summary joined with the paper's values."""
        return self.summary.merge(self.paper, on=["method", "row"], how="outer")

    def figure(self):
        a = self.ablation
        paper = self.paper
        rows = row_order(a, list(dict.fromkeys(self.summary.row)), paper)
        ours_rows = [r for r in rows if (self.summary.row == r).any()]
        title = "\n".join(textwrap.wrap(a.title, 80)) + f"\n(ours: {self.scale})"
        scale_short = (
            ", ".join(
                sorted(
                    {str(x) for x in self.records.dataset.dropna()}
                    | {f"{x} ep" for x in self.records.epochs.dropna().astype(int)}
                )
            )
            or "no runs"
        )
        if a.plot == "curve":
            x_label = a.x_label
            if a.pair_by_reduction and len(paper) and self.baseline is not None:
                theirs = paper.paper_row.iloc[0]
                x_label += f" (ours); the paper's at the same reduction, its {theirs} at our {self.baseline}"
            return plot_drop_curve(self.summary, paper, self.methods, x_label, scale_short, title)
        if a.plot == "bars_drop":
            return plot_bars(
                self.summary,
                paper,
                self.methods,
                ours_rows,
                "drop",
                "decrease in linear top-1 vs baseline (percentage points)",
                scale_short,
                title,
            )
        return plot_bars(
            self.summary,
            paper,
            self.methods,
            ours_rows,
            "top1",
            "linear top-1 (%)",
            scale_short,
            title,
            chance=self.chance,
        )

    @property
    def chance(self) -> float | None:
        n = self.records.num_classes.dropna()
        if len(n):
            return 100.0 / float(n.iloc[0])
        ds = self.records.dataset.dropna()
        return 100.0 / CLASSES[ds.iloc[0]] if len(ds) and ds.iloc[0] in CLASSES else None


def build_report(ablation: Ablation, entries: Sequence[Entry], baseline: str | None = None) -> Report:
    """The report of one ablation grid. `baseline` is the grid's first row at its preset
    (what `--row` may have left out); by default, the first row of the entries."""
    df = collect(entries)
    methods = list(dict.fromkeys(df.method))
    rows = list(dict.fromkeys(df.row))
    baseline = baseline if baseline is not None else (rows[0] if rows else None)
    summary = summarize(df, rows, baseline)
    paper = paper_frame(ablation, baseline)
    rep = Report(
        ablation,
        df,
        summary,
        table(ablation, summary, methods, paper),
        [],
        scale_line(df),
        cost_line(df),
        methods,
        paper,
        baseline,
    )
    if ablation.claims is not None:
        rep.verdicts = ablation.claims(summary, rep.chance)
    return rep


def write_report(rep: Report, out_dir, formats: Sequence[str]) -> list:
    """Write <out>/<ablation>/<ablation>.{md,csv,tex,png,svg}; each file atomically."""
    from pathlib import Path

    from ssl_bench.records import atomic_write

    d = Path(out_dir) / rep.ablation.name
    written = []
    name = rep.ablation.name
    if "png" in formats or "svg" in formats:
        fig = rep.figure()
        for ext in ("png", "svg"):
            if ext in formats:
                path = d / f"{name}.{ext}"
                atomic_write(path, lambda f, e=ext: fig.savefig(f, format=e, dpi=150), mode="wb")
                written.append(path)
        import matplotlib.pyplot as plt

        plt.close(fig)
    image = f"{name}.png" if "png" in formats else None
    if "md" in formats:
        path = d / f"{name}.md"
        atomic_write(path, lambda f: f.write(rep.markdown(image)))
        written.append(path)
    if "csv" in formats:
        path = d / f"{name}.csv"
        atomic_write(path, lambda f: rep.csv_frame().to_csv(f, index=False))
        written.append(path)
    if "tex" in formats:
        path = d / f"{name}.tex"
        caption = f"{rep.ablation.title}. Ours: {rep.scale}. Paper: {rep.ablation.source}."
        atomic_write(path, lambda f: f.write(to_latex(rep.table, caption) + "\n"))
        written.append(path)
    return written


def single_runs_table(records: Sequence[dict]) -> str:
    """Single runs (not part of a grid): trained vs random-init encoder, from their records."""
    lines = [
        "| method | seed | kNN top-1 | random init | gain | linear top-1 | random init | training | images/s "
        "| record |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rec, name in sorted(records, key=lambda x: (x[0]["config"]["method_name"], x[0]["config"]["seed"])):
        m, r, c = rec["metrics"], rec["random_init"], rec["cost"]
        lines.append(
            f"| {rec['config']['method_name']} | {rec['config']['seed']} | {PCT * m['knn_top1']:.1f} | "
            f"{PCT * r['knn_top1']:.1f} | {PCT * (m['knn_top1'] - r['knn_top1']):+.1f} | "
            f"{PCT * m['linear_top1']:.1f} | {PCT * r['linear_top1']:.1f} | {c['train_wall_s'] / 60:.1f} min | "
            f"{c['images_per_s']:.0f} | [{name}]({name}) |"
        )
    return "\n".join(lines)


def claims_table(reports: Sequence[tuple[Report, str]]) -> str:
    """One line per claim of the paper over every ablation reported: decided or not, the
    metric it read, and its numbers (the quotes are in each ablation's section below)."""
    lines = ["| # | claim | ablation | verdict | reads | numbers |", "|---|---|---|---|---|---|"]
    k = 0
    for rep, _ in reports:
        for v in rep.verdicts:
            k += 1
            numbers = v.numbers.replace("|", "/")
            lines.append(f"| {k} | {v.claim} | {rep.ablation.name} | **{v.outcome}** | {v.metric} | {numbers} |")
    return "\n".join(lines) if k else "No ablation has records yet."


def index_markdown(
    reports: Sequence[tuple[Report, str]], singles: Sequence[tuple[dict, str]], runs: str, out: str
) -> str:
    """results/README.md: every table embedded, every plot linked, each with the command
    that reproduces it and the machine it ran on."""
    machines = sorted(
        {str(d) for rep, _ in reports for d in rep.records.device_name.dropna()}
        | {rec["cost"].get("device_name", "?") for rec, _ in singles}
    )
    lines = [
        "# Results",
        "",
        f"Generated by `ssl-bench report --ablation all --seeds found --runs {runs} --out {out}` from the run records "
        f"under `{runs}/` (and `{out}/cpu-default/`): do not edit by hand. Every number below traces to a record "
        "(config, metrics, cost and provenance, including the git commit it ran at).",
        "",
        f"Machines: {'; '.join(machines) or 'none yet'}.",
        "",
        "## The paper's claims at this scale",
        "",
        claims_table(reports),
        "",
        RULES,
    ]
    if singles:
        lines += [
            "",
            "## Single runs: the CPU default",
            "",
            "Reproduce: `ssl-bench run --method byol` (and `--method simclr`, `--method simsiam`); 20 epochs "
            "of the cpu preset. kNN and linear top-1 (%) on the 2,000 test images, beside a randomly "
            "initialised encoder of the same architecture and seed.",
            "",
            single_runs_table([(rec, f"cpu-default/{name}") for rec, name in singles]),
        ]
    for rep, preset in reports:
        a = rep.ablation
        methods = ",".join(rep.methods)
        heading, body = rep.markdown(image=f"{a.name}/{a.name}.png").split("\n", 1)
        seeds = sorted({int(x) for x in rep.records.seed.dropna()}) if "seed" in rep.records else []
        seed_flag = f" --seeds {','.join(map(str, seeds))}" if seeds and tuple(seeds) != tuple(a.seeds) else ""
        lines += [
            "",
            heading,
            "",
            f"Reproduce: `ssl-bench run --method {methods} --ablation {a.name} --preset {preset}{seed_flag} "
            f"--out {runs}`, then `ssl-bench report --ablation {a.name} --preset {preset}{seed_flag} --runs {runs} "
            f"--out {out}`.",
            body,
        ]
    return "\n".join(lines) + "\n"
