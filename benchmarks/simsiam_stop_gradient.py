"""Stop-gradient: SimSiam Fig. 2 (§4.1). The same network with and without the stop-gradient
on its target branch; the paper reads the loss, the per-channel std of the ℓ2-normalised
projections against 1/√d, and kNN accuracy, and prints 67.7 ± 0.1 (5 trials) against 0.1.
Fig. 2 uses Table 1's baseline: the predictor's learning rate decays with the encoder's.
Its curves need kNN and the spread during training, which the other grids at the cpu and
paper presets skip: here they are scored at ten points of training (CURVE_EVERY)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ssl_bench.benchmarks.simsiam_paper import PAPER, PROTOCOL, QUOTE_MOMENTUM, SOURCE, recipe

from ssl_bench.ablation import Ablation, PaperValue, Row, register_ablation
from ssl_bench.diagnostics import not_collapsed, reaches_floor, spread_near_ideal
from ssl_bench.verdicts import METRIC, RANDOM, Scale, Verdict, collapse_scope, collapsed

if TYPE_CHECKING:
    import pandas as pd

WITH, WITHOUT = "with stop-gradient", "without stop-gradient"
# Epochs between curve points: ten points over the cpu preset's 20 epochs (about 2 minutes
# of scoring a run there) and over the paper's 100 (SimSiam's schedule); cifar10 has its own.
CURVE_EVERY = {"cpu": 2, "paper": 10}
ROWS = ((WITH, {}, 67.7, 0.1), (WITHOUT, {"method.target": "online"}, 0.1, None))

QUOTE_COLLAPSE = (
    '§4.1: "Without stop-gradient, the optimizer quickly finds a degenerated solution and reaches the minimum '
    'possible loss of −1." (Fig. 2: 0.1 % against 67.7 ± 0.1.)'
)
QUOTE_SPREAD = '§4.1: "with stop-gradient, the std value is near 1/√d. This indicates that the outputs do not collapse"'


def claims(summary: pd.DataFrame, scale: Scale) -> list[Verdict]:
    scope = collapse_scope(scale)
    return [
        collapsed(
            "without stop-gradient, SimSiam collapses",
            summary,
            "simsiam",
            WITHOUT,
            METRIC,
            RANDOM,
            working=WITH,
            quote=QUOTE_COLLAPSE,
            scope=scope,
        ),
        reaches_floor(
            "without stop-gradient, the loss ends within 1 % of its minimum (the paper's −1)",
            summary,
            "simsiam",
            WITHOUT,
            quote=QUOTE_COLLAPSE,
        ),
        spread_near_ideal(
            "with stop-gradient, the projections' per-channel std stays within 2x of 1/√d",
            summary,
            "simsiam",
            WITH,
            quote=QUOTE_SPREAD,
        ),
        not_collapsed(
            "without a momentum encoder (stop-gradient alone), SimSiam does not collapse",
            summary,
            "simsiam",
            WITH,
            METRIC,
            RANDOM,
            quote=QUOTE_MOMENTUM,
            scope=scope,
        ),
    ]


def _curves(preset: str) -> dict:
    return {"eval.knn_every": CURVE_EVERY[preset]} if preset in CURVE_EVERY else {}


@register_ablation
def simsiam_stop_gradient() -> Ablation:
    return Ablation(
        name="simsiam_stop_gradient",
        title="SimSiam with and without stop-gradient (Fig. 2)",
        source=f"{SOURCE}, Fig. 2",
        methods=("simsiam",),
        rows=lambda preset: [Row(label, {**o, **_curves(preset)}) for label, o, _, _ in ROWS],
        paper=tuple(PaperValue(label, "simsiam", top1, None, s) for label, _, top1, s in ROWS),
        x_label="target branch",
        plot="training_curves",
        claims=claims,
        paper_name=PAPER,
        recipe=recipe,
        protocol=PROTOCOL,
    )
