"""Target decay rate τ: BYOL Table 5a (arXiv 2006.07733 v3, 300 epochs, ImageNet top-1).

τ_base is raised to 1 by the paper's cosine schedule in the EMA rows. τ = 1 keeps the
randomly initialised target for the whole run; τ = 0 is the online network with
stop-gradient (the paper's "τ = τ_base = 0 throughout"), i.e. target "stopgrad".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ssl_bench.ablation import Ablation, PaperValue, Row, register_ablation
from ssl_bench.verdicts import (
    CLOSE_TO_BEST,
    FAR,
    METRIC,
    RANDOM,
    Scale,
    Verdict,
    all_of,
    collapse_scope,
    collapsed,
    compare,
    left_out,
    needs_gap,
    stat,
    within,
)

if TYPE_CHECKING:
    import pandas as pd

SOURCE = "BYOL, Grill et al. 2020, arXiv 2006.07733 v3, Table 5a"
ROWS = (
    ("0.99", {"method.ema.tau_base": 0.99}, 72.5, None),  # the paper's ablation baseline
    ("1 (constant random target)", {"method.ema.tau_base": 1.0}, 18.8, 0.7),
    ("0.999", {"method.ema.tau_base": 0.999}, 69.8, None),
    ("0.9", {"method.ema.tau_base": 0.9}, 68.4, None),
    # Table 19 prints 5.5 for this config (the predictor grid's); both read collapse.
    ("0 (stop-gradient of online)", {"method.target": "stopgrad", "method.ema": None}, 0.3, None),
)
PAPER = tuple(PaperValue(label, "byol", top1, None, spread) for label, _, top1, spread in ROWS)


STOPGRAD, CONSTANT = ROWS[4][0], ROWS[1][0]
EMA_ROWS = ("0.9", "0.99", "0.999")
# The cpu grid runs the collapse claim's rows alone: there training adds some 5 points of
# kNN over a random encoder, so tau = 1 cannot lie 5 points below tau = 0.99 and 5 above a
# random encoder, and rows within 5 points of each other cannot fail to be.
CPU_ROWS = ("0.99", STOPGRAD)
CPU_WHY = "training adds too few points over a random encoder at this scale for its 5-point margins"

QUOTE_ZERO = (
    '§5 "Bootstrapping": "Instantaneously updating the target network (τ = 0) destabilizes training, yielding '
    'very poor performance" (Table 5a: 0.3%, against 1.4% for a randomly initialised network, §3).'
)
QUOTE_ONE = (
    '§3: "we apply this procedure by predicting a fixed randomly initialized network and achieve 18.8% top-1 '
    "accuracy (Table 5a) on the linear evaluation protocol on ImageNet, whereas the randomly initialized network "
    'only achieves 1.4% by itself." §5: "never updating the target (τ = 1) makes the training stable but '
    'prevents iterative improvement, ending with low-quality final representation."'
)
QUOTE_RANGE = (
    '§5 "Bootstrapping": "All values of the decay rate between 0.9 and 0.999 yield performance above 68.4% '
    'top-1 accuracy at 300 epochs." (72.5 at 0.99: each within 4.1 points of the best.)'
)

# Context for a reader of the τ = 0 verdict: the point was later trained without collapse.
SIMSIAM = (
    " (SimSiam, Chen & He 2021, later trained this point, stop-gradient with a predictor and no EMA, "
    "without collapse: a 'does not hold' here agrees with it)"
)


def claims(summary: pd.DataFrame, scale: Scale) -> list[Verdict]:
    """BYOL §3, §5, Table 5a: τ = 0 collapses; τ = 1 is far below the EMA yet far above a
    randomly initialised encoder; every τ_base in [0.9, 0.999] stays close to the best."""
    out = [
        collapsed(
            "tau = 0 (stop-gradient of online) collapses",
            summary,
            "byol",
            STOPGRAD,
            METRIC,
            RANDOM,
            working="0.99",
            quote=QUOTE_ZERO,
            scope=collapse_scope(scale) + SIMSIAM * bool(scale.learned is not None and scale.learned > 1),
        )
    ]
    tau1 = stat(summary, "byol", CONSTANT, METRIC, "tau 1")
    out.append(
        all_of(
            f"tau = 1 is far (> {FAR:g} points) below tau = 0.99, yet far above the random-init encoder",
            [
                compare("below 0.99", stat(summary, "byol", "0.99", METRIC, "tau 0.99"), tau1, FAR, "above", family=2),
                compare(
                    "above random init",
                    tau1,
                    stat(summary, "byol", CONSTANT, RANDOM, "random init"),
                    FAR,
                    "above",
                    family=2,
                ),
            ],
            quote=QUOTE_ONE,
            scope=left_out(summary, [CONSTANT], CPU_WHY) or needs_gap(scale, FAR),
        )
    )
    # "Above 68.4 %" with 72.5 the best is "within 4.1 points of the best". The best is the
    # paper's own baseline, 0.99, fixed before any run: each other value is compared with it,
    # both together (an all-pairs family of 6 failed the paper's own numbers where the
    # unprinted spread reaches 0.25; a best row picked from the runs would be chosen after
    # the fact).
    base = stat(summary, "byol", "0.99", METRIC, "tau 0.99")
    others = [r for r in EMA_ROWS if r != "0.99"]
    parts = [
        compare(f"{r} below 0.99", base, stat(summary, "byol", r, METRIC, f"tau {r}"), CLOSE_TO_BEST, "below", family=2)
        for r in others
    ]
    out.append(
        all_of(
            f"no tau_base in [0.9, 0.999] is more than {CLOSE_TO_BEST:g} points below 0.99 (the paper's best)",
            parts,
            quote=QUOTE_RANGE,
            scope=left_out(summary, ["0.9", "0.999"], CPU_WHY) or within(scale, CLOSE_TO_BEST),
        )
    )
    return out


@register_ablation
def tau() -> Ablation:
    return Ablation(
        name="tau",
        title="Target network decay rate tau_base",
        source=SOURCE,
        methods=("byol",),
        rows=lambda preset: [Row(label, o) for label, o, _, _ in ROWS if preset != "cpu" or label in CPU_ROWS],
        paper=PAPER,
        x_label="tau_base",
        claims=claims,
    )
