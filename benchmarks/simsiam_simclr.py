"""SimCLR with SimSiam's additions: SimSiam §6.2. A predictor on SimCLR's online branch, then
a stop-gradient on its target branch too: two points of the same method space (footnote 7:
the predictor on one branch, stop-gradient on the other, symmetrized)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ssl_bench.benchmarks.simsiam_paper import PAPER, PROTOCOL, SOURCE, recipe

from ssl_bench.ablation import Ablation, PaperValue, Row, register_ablation
from ssl_bench.verdicts import METRIC, NEAR, Scale, Verdict, none_above, stat, within

if TYPE_CHECKING:
    import pandas as pd

SIMCLR, PREDICTOR, STOPGRAD = "SimCLR", "with predictor", "with predictor and stop-gradient"


def _predictor(base):
    # SimSiam's bottleneck predictor (§4.1: hidden d/4) on SimCLR's projection width.
    out = base.method.projector.out
    return dataclasses.replace(base.method.projector, hidden=(max(out // 4, 1),), out=out, bn_out=False, bn=True)


ROWS = (
    (SIMCLR, {}, 66.5),
    (PREDICTOR, lambda base: {"method.predictor": _predictor(base)}, 66.4),
    (STOPGRAD, lambda base: {"method.predictor": _predictor(base), "method.target": "stopgrad"}, 66.0),
)
QUOTE = (
    '§6.2: "Neither the stop-gradient nor the extra predictor is necessary or helpful for SimCLR." (66.5, 66.4, 66.0.)'
)


def claims(summary: pd.DataFrame, scale: Scale) -> list[Verdict]:
    return [
        none_above(
            f"neither the predictor nor the stop-gradient improves SimCLR by {NEAR:g} point or more (tested together)",
            [stat(summary, "simclr", r, METRIC, r) for r in (PREDICTOR, STOPGRAD)],
            stat(summary, "simclr", SIMCLR, METRIC, "SimCLR"),
            NEAR,
            quote=QUOTE,
            scope=within(scale, NEAR),
        )
    ]


@register_ablation
def simsiam_simclr() -> Ablation:
    return Ablation(
        name="simsiam_simclr",
        title="SimCLR with a predictor, and with a predictor and stop-gradient (§6.2)",
        source=f"{SOURCE}, §6.2",
        methods=("simclr",),
        rows=lambda preset: [Row(label, o) for label, o, _ in ROWS],
        paper=tuple(PaperValue(label, "simclr", top1) for label, _, top1 in ROWS),
        x_label="SimCLR with",
        claims=claims,
        paper_name=PAPER,
        recipe=recipe,
        protocol=PROTOCOL,
    )
