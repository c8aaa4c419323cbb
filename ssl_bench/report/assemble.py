"""One ablation's report: its frames, table, verdicts and figure, and writing them to
<out>/<ablation>/<ablation>.{md,csv,tex,png,svg}."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from ssl_bench.ablation import Ablation
from ssl_bench.dataset_info import channels_of
from ssl_bench.power import POWER, pooled_sd, power_sentence, seeds_needed
from ssl_bench.report import plots  # for `plots.Figure`, which plots imports for type checkers only
from ssl_bench.report.frame import Entry, collect, paper_frame, row_order, summarize
from ssl_bench.report.over_pixels import pixels_sentence
from ssl_bench.report.plots import plot_bars, plot_drop_curve, plot_training_curves
from ssl_bench.report.tables import cost_line, floors_line, scale_line, table, to_latex, to_markdown
from ssl_bench.verdicts import (
    METRIC,
    METRIC_NAMES,
    PIXELS,
    RULES,
    SCALE_METRIC,
    SCOPE_RULES,
    Scale,
    Verdict,
    learned_span,
    metric_for,
)

CLASSES = {"fashion-mnist": 10, "cifar10": 10, "cifar100": 100, "stl10": 10}


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
    metric: str = "linear_top1"  # the record column the verdicts read (the summary's "score")

    def markdown(self, image: str | None = None) -> str:
        a = self.ablation
        lines = [
            f"## {a.name}: {a.title}",
            "",
            f"Ours: {self.scale}. {self.metric_sentence()} The table's top-1 is {self.metric_name} (%) on the "
            f"test split, mean ± std over seeds (n); Δ is its drop against each method's first row ± the half-width "
            f"of its 95 % Welch t-interval (unpaired, as the verdicts read it; a claim over several rows reads wider, "
            f"simultaneous ones); {self.other_name} is the other metric; z std is the per-dimension std of "
            f"ℓ2-normalised projections (≈ 1/√d when spread out, → 0 when collapsed). {self.cost}.",
            "",
            self.random_init_line(),
            "",
            f"Paper: {a.source}; {a.protocol}.",
            "",
            to_markdown(self.table),
            "",
            "Claims of the paper, checked on these runs:",
            "",
            *[
                line
                for v in self.verdicts
                for line in (v.line() + self.power_note(v), *([f"  - the paper: {v.quote}"] if v.quote else []))
            ],
            "",
            self.seeds_line(),
            "",
            RULES,
            "",
            SCOPE_RULES,
        ]
        if image:
            lines += ["", f"![{a.name}]({image})"]
        return "\n".join(lines) + "\n"

    @property
    def seed_sd(self) -> float | None:
        """The seed noise of the verdicts' metric, pooled over this grid's (method, row) cells."""
        if not len(self.summary):
            return None
        return pooled_sd(self.summary[f"{METRIC}_std"], self.summary.get(f"{METRIC}_n", self.summary.n))

    def seeds_needed(self, v: Verdict, most: int = 50) -> int | None:
        """Seeds per row for the power target (None beyond `most`), at the seed noise of the
        rows the claim compares (its noisiest comparison, as its Welch standard error reads
        it), or this grid's pooled noise where the claim measured none (one seed); None for a
        verdict that reads another quantity (the loss, the spread), whose noise is not that one."""
        sd = self.seed_sd if math.isnan(v.noise) else v.noise
        if sd is None or (v.metric and v.metric != self.metric_name):
            return None
        return seeds_needed(sd, family=v.family, most=most)

    def power_note(self, v: Verdict) -> str:
        n = self.seeds_needed(v)
        if n is None or not v.testable:
            return ""
        family = f", {v.family} comparisons" if v.family > 1 else ""
        return f" Seeds per row for {POWER * 100:.0f} % power: {n}{family}."

    def seeds_line(self) -> str:
        """The power calculation behind each claim's 'seeds per row', from these runs' noise."""
        return power_sentence(self.seed_sd, self.metric_name)

    @property
    def metric_name(self) -> str:
        return METRIC_NAMES.get(self.metric, self.metric)

    @property
    def other_name(self) -> str:
        return "kNN" if self.metric == "linear_top1" else "linear"

    def metric_sentence(self) -> str:
        """Which metric the verdicts read (chosen per preset before the runs), and where the
        runs scored their pixels, how many trained encoders each metric puts above them."""
        if self.metric == "linear_top1":
            said = "The verdicts read linear top-1, the paper's metric."
        else:
            said = f"The verdicts read {self.metric_name}, the metric chosen for this preset before its runs."
        above = pixels_sentence(self.records)
        return f"{said} {above}" if above else said

    def random_init_line(self) -> str:
        return floors_line(self.records)

    def csv_frame(self) -> pd.DataFrame:
        """Numbers, not strings: our summary joined with the paper's values."""
        return self.summary.merge(self.paper, on=["method", "row"], how="outer")

    def figure(self) -> plots.Figure:
        """The ablation's figure; a grid not run at this preset draws the paper's rows."""
        a = self.ablation
        paper = self.paper
        rows = row_order(a, list(dict.fromkeys(self.summary.row)), paper)
        ours_rows = [r for r in rows if (self.summary.row == r).any()] or [r for r in rows if (paper.row == r).any()]
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
        # The paper's setting as its protocol opens: "ImageNet, ResNet-50, 300 epochs".
        setting = ", ".join(a.protocol.split(", ")[:3])
        if a.plot == "training_curves":
            ideal = self.summary.z_std_ideal.dropna() if "z_std_ideal" in self.summary else []
            return plot_training_curves(
                self.records, ours_rows, float(ideal.iloc[0]) if len(ideal) else None, scale_short, a.title
            )
        if a.plot == "curve":
            x_label = a.x_label
            if a.pair_by_reduction and len(paper) and self.baseline is not None:
                theirs = paper.paper_row.iloc[0]
                x_label += f" (ours); the paper's at the same reduction, its {theirs} at our {self.baseline}"
            return plot_drop_curve(self.summary, paper, self.methods, x_label, scale_short, title, setting)
        drop = a.plot == "bars_drop"
        return plot_bars(
            self.summary,
            paper,
            self.methods,
            ours_rows,
            "drop" if drop else "top1",
            "decrease in linear top-1 vs baseline (percentage points)" if drop else "linear top-1 (%)",
            scale_short,
            title,
            chance=None if drop else self.chance,
            paper_setting=setting,
        )

    @property
    def scale_facts(self) -> Scale:
        """What the records say about their scale, for each claim's scope."""
        ds = self.records.dataset.dropna() if "dataset" in self.records else []
        channels = channels_of(str(ds.iloc[0])) if len(ds) else None
        gains = (self.summary[METRIC] - self.summary[PIXELS]).dropna() if len(self.summary) else []
        over_pixels = float(gains.max()) if len(gains) else None
        return Scale(
            learned=learned_span(self.summary),
            over_pixels=over_pixels,
            metric=self.metric_name,
            channels=channels,
            chance=self.chance,
            dataset=str(ds.iloc[0]) if len(ds) else None,
        )

    @property
    def chance(self) -> float | None:
        n = self.records.num_classes.dropna()
        if len(n):
            return 100.0 / float(n.iloc[0])
        ds = self.records.dataset.dropna()
        return 100.0 / CLASSES[ds.iloc[0]] if len(ds) and ds.iloc[0] in CLASSES else None


def build_report(
    ablation: Ablation, entries: Sequence[Entry], baseline: str | None = None, preset: str | None = None
) -> Report:
    """The report of one ablation grid. `baseline` is the grid's first row at its preset
    (what `--row` may have left out); by default, the first row of the entries. At a
    `preset` where the grid runs none of its rows, every claim reads "not testable"."""
    df = collect(entries)
    methods = list(dict.fromkeys(df.method)) or list(ablation.methods)
    rows = list(dict.fromkeys(df.row))
    baseline = baseline if baseline is not None else (rows[0] if rows else None)
    presets = set(df.preset.dropna()) & set(SCALE_METRIC)
    metric = metric_for(next(iter(presets))) if len(presets) == 1 else "linear_top1"
    summary = summarize(df, rows, baseline, metric)
    paper = paper_frame(ablation, baseline)
    rep = Report(
        ablation,
        df,
        summary,
        table(
            ablation,
            summary,
            methods,
            paper,
            other="knn_top1" if metric == "linear_top1" else "linear_top1",
            records=df,
            metric=metric,
        ),
        [],
        scale_line(df),
        cost_line(df),
        methods,
        paper,
        baseline,
        metric,
    )
    if ablation.claims is not None:
        name = rep.metric_name
        rep.verdicts = [v if v.metric else replace(v, metric=name) for v in ablation.claims(summary, rep.scale_facts)]
        if preset in ablation.not_at:
            rep.scale = f"not run at the {preset} preset"
            why = f"cannot show: the {preset} preset runs none of this grid's rows, because {ablation.not_at[preset]}"
            rep.verdicts = [replace(v, scope=why) for v in rep.verdicts]
    return rep


def write_report(rep: Report, out_dir: str | Path, formats: Sequence[str]) -> list[Path]:
    """Write <out>/<ablation>/<ablation>.{md,csv,tex,png,svg}; each file atomically."""
    from ssl_bench.records import atomic_write

    d = Path(out_dir) / rep.ablation.name
    written = []
    name = rep.ablation.name
    if "png" in formats or "svg" in formats:
        import matplotlib.pyplot as plt

        fig = rep.figure()
        # A plot is a function of the records: no creation date, and SVG ids from a fixed
        # salt instead of a random one, so the same records write the same bytes.
        metadata = {"png": {"Software": None}, "svg": {"Date": None}}
        with plt.rc_context({"svg.hashsalt": name}):
            for ext in ("png", "svg"):
                if ext in formats:
                    path = d / f"{name}.{ext}"
                    atomic_write(
                        path, lambda f, e=ext: fig.savefig(f, format=e, dpi=150, metadata=metadata[e]), mode="wb"
                    )
                    written.append(path)
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
