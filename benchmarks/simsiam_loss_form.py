"""The loss's form: SimSiam's similarity (§4.5: cosine against the cross-entropy of softmaxed
channels) and symmetrization (§4.6: symmetric, one direction, one direction over two
independently drawn pairs), both with the predictor at a constant lr. Two ablations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ssl_bench.benchmarks.simsiam_paper import CONSTANT_PREDICTOR_LR, PAPER, PROTOCOL, SOURCE, recipe

from ssl_bench.ablation import Ablation, PaperValue, Row, register_ablation
from ssl_bench.diagnostics import not_collapsed
from ssl_bench.verdicts import METRIC, RANDOM, Scale, Verdict, all_of, collapse_scope, compare, needs_gap, stat

if TYPE_CHECKING:
    import pandas as pd

COSINE, CROSS_ENTROPY = "cosine", "cross-entropy"
SIMILARITY = (
    (COSINE, {**CONSTANT_PREDICTOR_LR}, 68.1),
    (CROSS_ENTROPY, {**CONSTANT_PREDICTOR_LR, "method.loss.similarity": "cross_entropy"}, 63.2),
)
SYMMETRIC, ASYMMETRIC, TWICE = "symmetric", "asymmetric", "asymmetric 2x"
SYMMETRY = (
    (SYMMETRIC, {**CONSTANT_PREDICTOR_LR}, 68.1),
    (ASYMMETRIC, {**CONSTANT_PREDICTOR_LR, "method.symmetry": "asymmetric"}, 64.8),
    (TWICE, {**CONSTANT_PREDICTOR_LR, "method.symmetry": "asymmetric_2x"}, 67.3),
)

QUOTE_CE = (
    '§4.5: "The cross-entropy variant can converge to a reasonable result without collapsing." (63.2 against 68.1.)'
)
QUOTE_SYM = (
    '§4.6: "SimSiam\'s behavior of preventing collapsing does not depend on symmetrization." ... "Symmetrization '
    'is helpful for boosting accuracy, but it is not related to collapse prevention." (68.1, 64.8, 67.3.)'
)


def _same_crops(overrides: dict):
    """Asymmetric 2x draws its second pair of crops on the device, which crops cut in the
    loader (`data.crop_source=full`, the paper preset's) cannot give; there all three rows
    crop from the stored images, so they still differ in symmetrization alone."""

    def resolve(base) -> dict:
        return {**overrides, "data.crop_source": "stored"} if base.data.crop_source == "full" else dict(overrides)

    return resolve


def similarity_claims(summary: pd.DataFrame, scale: Scale) -> list[Verdict]:
    return [
        not_collapsed(
            "with the cross-entropy similarity, SimSiam converges without collapsing",
            summary,
            "simsiam",
            CROSS_ENTROPY,
            METRIC,
            RANDOM,
            quote=QUOTE_CE,
            scope=collapse_scope(scale),
        )
    ]


def symmetry_claims(summary: pd.DataFrame, scale: Scale) -> list[Verdict]:
    return [
        not_collapsed(
            "trained in one direction only, SimSiam does not collapse",
            summary,
            "simsiam",
            ASYMMETRIC,
            METRIC,
            RANDOM,
            quote=QUOTE_SYM,
            scope=collapse_scope(scale),
        ),
        all_of(
            "symmetrization helps: symmetric above asymmetric, and asymmetric 2x above asymmetric",
            [
                compare(
                    "symmetric",
                    stat(summary, "simsiam", SYMMETRIC, METRIC, "symmetric"),
                    stat(summary, "simsiam", ASYMMETRIC, METRIC, "asymmetric"),
                    0.0,
                    "above",
                    family=2,
                ),
                compare(
                    "asymmetric 2x",
                    stat(summary, "simsiam", TWICE, METRIC, "asymmetric 2x"),
                    stat(summary, "simsiam", ASYMMETRIC, METRIC, "asymmetric"),
                    0.0,
                    "above",
                    family=2,
                ),
            ],
            quote=QUOTE_SYM,
            scope=needs_gap(scale, 0.0),
        ),
    ]


@register_ablation
def simsiam_similarity() -> Ablation:
    return Ablation(
        name="simsiam_similarity",
        title="SimSiam's similarity: cosine or cross-entropy over channels (§4.5)",
        source=f"{SOURCE}, §4.5",
        methods=("simsiam",),
        rows=lambda preset: [Row(label, o) for label, o, _ in SIMILARITY],
        paper=tuple(PaperValue(label, "simsiam", top1) for label, _, top1 in SIMILARITY),
        x_label="similarity",
        claims=similarity_claims,
        paper_name=PAPER,
        recipe=recipe,
        protocol=PROTOCOL,
    )


@register_ablation
def simsiam_symmetry() -> Ablation:
    return Ablation(
        name="simsiam_symmetry",
        title="SimSiam's symmetrization: symmetric, asymmetric, asymmetric over two pairs (§4.6)",
        source=f"{SOURCE}, §4.6",
        methods=("simsiam",),
        rows=lambda preset: [Row(label, _same_crops(o)) for label, o, _ in SYMMETRY],
        paper=tuple(PaperValue(label, "simsiam", top1) for label, _, top1 in SYMMETRY),
        x_label="symmetrization",
        claims=symmetry_claims,
        paper_name=PAPER,
        recipe=recipe,
        protocol=PROTOCOL,
    )
