"""The prediction MLP: SimSiam Table 1 (§4.2). Without a predictor, or with one fixed at its
random initialisation, SimSiam does not work; with a constant learning rate it works at
least as well as with the encoder's decaying one. The encoder keeps its cosine decay in
every row."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ssl_bench.benchmarks.simsiam_paper import PAPER, PROTOCOL, SOURCE, recipe

from ssl_bench.ablation import Ablation, PaperValue, Row, register_ablation
from ssl_bench.diagnostics import loss_stays_high
from ssl_bench.verdicts import (
    FAR,
    METRIC,
    NEAR,
    RANDOM,
    Scale,
    Verdict,
    collapse_scope,
    collapsed,
    compare,
    needs_gap,
    stat,
    within,
)

if TYPE_CHECKING:
    import pandas as pd

BASELINE, NONE, FIXED, CONSTANT = (
    "predictor, lr with cosine decay",
    "no predictor",
    "predictor fixed at its random initialisation",
    "predictor, constant lr",
)
ROWS = (
    (BASELINE, {}, 67.7),
    (NONE, {"method.predictor": None}, 0.1),
    (FIXED, {"method.predictor_lr": "frozen"}, 1.5),
    (CONSTANT, {"method.predictor_lr": "constant"}, 68.1),
)

QUOTE_NONE = '§4.2: "The model does not work if removing h (Table 1a)" ... "Collapsing is observed (Table 1a)."'
QUOTE_FIXED = '§4.2: "If h is fixed as random initialization, our model does not work either (Table 1b)."'
QUOTE_FIXED_LOSS = (
    '§4.2, of the fixed random predictor: "However, this failure is not about collapsing. The training does not '
    'converge, and the loss remains high."'
)
QUOTE_CONSTANT = (
    '§4.2: "h with a constant lr (without decay) can work well and produce even better results than the baseline '
    '(Table 1c)." (68.1 against 67.7.)'
)


def claims(summary: pd.DataFrame, scale: Scale) -> list[Verdict]:
    collapse = collapse_scope(scale)
    return [
        collapsed(
            "without the predictor, SimSiam collapses",
            summary,
            "simsiam",
            NONE,
            METRIC,
            RANDOM,
            working=BASELINE,
            quote=QUOTE_NONE,
            scope=collapse,
        ),
        # The paper says two things of this row, and a scale may show one and not the other:
        # that it fails (a gap of FAR points) and that the failure is no collapse (the loss).
        compare(
            f"a predictor fixed at its random initialisation does not work (more than {FAR:g} points below the "
            "baseline)",
            stat(summary, "simsiam", BASELINE, METRIC, "baseline"),
            stat(summary, "simsiam", FIXED, METRIC, "fixed predictor"),
            FAR,
            "above",
            quote=QUOTE_FIXED,
            scope=needs_gap(scale, FAR),
        ),
        # The paper's own evidence that this is no collapse: the loss stays high.
        loss_stays_high(
            "with a predictor fixed at its random initialisation, the loss stays high (no collapse)",
            summary,
            "simsiam",
            FIXED,
            BASELINE,
            quote=QUOTE_FIXED_LOSS,
        ),
        compare(
            f"a constant predictor lr is at least as good as a decaying one (no more than {NEAR:g} point below)",
            stat(summary, "simsiam", CONSTANT, METRIC, "constant lr"),
            stat(summary, "simsiam", BASELINE, METRIC, "decaying lr"),
            -NEAR,
            "above",
            quote=QUOTE_CONSTANT,
            scope=within(scale, NEAR),
        ),
    ]


@register_ablation
def simsiam_predictor() -> Ablation:
    return Ablation(
        name="simsiam_predictor",
        title="SimSiam's prediction MLP: none, fixed at random, decaying or constant lr (Table 1)",
        source=f"{SOURCE}, Table 1",
        methods=("simsiam",),
        rows=lambda preset: [Row(label, o) for label, o, _ in ROWS],
        paper=tuple(PaperValue(label, "simsiam", top1) for label, _, top1 in ROWS),
        x_label="predictor",
        claims=claims,
        paper_name=PAPER,
        recipe=recipe,
        protocol=PROTOCOL,
    )
