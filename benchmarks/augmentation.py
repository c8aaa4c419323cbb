"""Augmentations: BYOL Fig. 3b / Table 17 (arXiv 2006.07733 v3, 300 epochs, ImageNet top-1).

Both methods start from BYOL's asymmetric T/T′ (Table 6), as in the paper's comparison;
each row switches parts off. On grey images (Fashion-MNIST) saturation, hue and grayscale
do nothing, so the presets for grey data leave out the rows that differ from another only
there ("remove color jitter", "remove grayscale"): they would repeat a run under a new name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ssl_bench.ablation import Ablation, PaperValue, Row, register_ablation
from ssl_bench.dataset_info import channels_of
from ssl_bench.verdicts import METRIC, MUCH_MORE, Scale, Verdict, compare, drop, left_out, needs_gap
from ssl_bench.views import AUG_PRESETS

if TYPE_CHECKING:
    import pandas as pd

SOURCE = "BYOL, Grill et al. 2020, arXiv 2006.07733 v3, Table 17 (Fig. 3b)"

_BOTH = ("aug.view1", "aug.view2")


def _both(**fields: float) -> dict:
    return {f"{v}.{k}": val for v in _BOTH for k, val in fields.items()}


NO_COLOR = {"jitter_p": 0.0, "gray_p": 0.0}
# label, overrides, BYOL (top1, top5), SimCLR (top1, top5), spreads
SETS = (
    ("baseline", {}, (72.5, 90.8), (67.9, 88.5)),
    ("remove flip", _both(flip_p=0.0), (71.9, 90.6), (67.3, 88.2)),
    ("remove blur", _both(blur_p=0.0), (71.2, 90.3), (65.2, 86.6)),
    ("remove color (jitter and grayscale)", _both(**NO_COLOR), (63.4, 85.3), (45.7, 70.6)),
    ("remove color jitter", _both(jitter_p=0.0), (71.8, 90.7), (63.7, 85.9)),
    ("remove grayscale", _both(gray_p=0.0), (70.3, 89.8), (61.9, 84.1)),
    ("remove blur in T'", {"aug.view2.blur_p": 0.0}, (72.4, 90.8), (67.5, 88.4)),
    ("remove solarize in T'", {"aug.view2.solarize_p": 0.0}, (72.3, 90.8), (67.7, 88.2)),
    (
        "remove blur and solarize in T'",
        {"aug.view2.blur_p": 0.0, "aug.view2.solarize_p": 0.0},
        (72.2, 90.8),
        (67.4, 88.1),
    ),
    ("symmetric blur and solarize", _both(blur_p=0.5, solarize_p=0.2), (72.5, 90.8), (68.1, 88.4)),
    ("crop only", _both(flip_p=0.0, blur_p=0.0, solarize_p=0.0, **NO_COLOR), (59.4, 82.4), (40.3, 64.8)),
    ("crop and flip only", _both(blur_p=0.0, solarize_p=0.0, **NO_COLOR), (60.1, 83.0), (40.2, 64.8)),
    ("crop and color only", _both(flip_p=0.0, blur_p=0.0, solarize_p=0.0), (70.7, 90.0), (64.2, 86.2)),
    ("crop and blur only", _both(flip_p=0.0, solarize_p=0.0, **NO_COLOR), (61.1, 83.9), (41.7, 66.4)),
)
_SPREAD = {
    ("byol", "remove color (jitter and grayscale)"): 0.7,
    ("byol", "crop only"): 0.3,
    ("simclr", "crop only"): 0.3,
    ("byol", "crop and flip only"): 0.3,
    ("byol", "crop and blur only"): 0.3,
}
PAPER = tuple(
    PaperValue(label, method, top1, top5, _SPREAD.get((method, label)))
    for label, _, byol, simclr in SETS
    for method, (top1, top5) in (("byol", byol), ("simclr", simclr))
)
_COLOUR_ONLY = ("remove color jitter", "remove grayscale")


def has_colour(base) -> bool:
    """Whether the base config's data has colour: on grey images, saturation, hue and
    grayscale do nothing, so the rows that remove only those are the baseline again."""
    return channels_of(base.data.dataset) > 1


def _rows(preset: str) -> list[Row]:
    same_start = {"aug": AUG_PRESETS["byol"]}
    return [
        Row(label, {**same_start, **overrides}, applies=has_colour if label in _COLOUR_ONLY else None)
        for label, overrides, _, _ in SETS
        if preset != "cpu" or label in CPU_ROWS
    ]


# The cpu grid (grey Fashion-MNIST) runs the crop-only claim's rows alone: removing colour
# from grey images removes nothing the claim is about.
CPU_ROWS = ("baseline", "crop only")


QUOTE_COLOUR = (
    '§5 "Image augmentations": "the performance of BYOL is much less affected than the performance of SimCLR '
    "when removing color distortions from the set of image augmentations (−9.1 accuracy points for BYOL, −22.2 "
    'accuracy points for SimCLR)."'
)
QUOTE_CROP = (
    '§5 "Image augmentations": "When image augmentations are reduced to mere random crops, BYOL still displays '
    "good performance (59.4%, i.e. −13.1 points from 72.5% ), while SimCLR loses more than a third of its "
    'performance (40.3%, i.e. −27.6 points from 67.9%)."'
)
BASELINE = "baseline"
# The paper's reading of both claims is that SimCLR leans on colour (its colour histograms
# alone can tell two crops of one image apart), which grey images cannot show.
GREY_COLOUR = (
    "cannot show: the images are grey, so removing colour removes only brightness and contrast jitter, "
    "and there are no colour histograms for SimCLR to lean on"
)
GREY_CROP = (
    "weak: the images are grey, so crop only removes brightness and contrast jitter, blur and "
    "solarisation, but no colour, the cue the paper finds SimCLR leans on"
)


def claims(summary: pd.DataFrame, scale: Scale) -> list[Verdict]:
    """BYOL §5, Fig. 3b: removing colour, or keeping only crops, costs SimCLR more than
    MUCH_MORE points beyond what it costs BYOL (each drop against the method's own
    baseline, over seeds)."""
    out = []
    for row, what, quote in (
        ("remove color (jitter and grayscale)", "removing colour", QUOTE_COLOUR),
        ("crop only", "crop only", QUOTE_CROP),
    ):
        scope = left_out(summary, [row], "grey images have no colour to remove") or needs_gap(scale, MUCH_MORE)
        if scale.channels == 1 and scope and not scope.startswith("cannot show: this scale's grid"):
            scope = GREY_COLOUR if what == "removing colour" else GREY_CROP
        out.append(
            compare(
                f"{what} costs SimCLR more than {MUCH_MORE:g} points beyond BYOL's drop",
                drop(summary, "byol", row, BASELINE, METRIC),
                drop(summary, "simclr", row, BASELINE, METRIC),
                MUCH_MORE,
                "above",
                quote=quote,
                scope=scope,
            )
        )
    return out


@register_ablation
def augmentation() -> Ablation:
    return Ablation(
        name="augmentation",
        title="Image augmentations removed from BYOL's T/T' (Table 6)",
        source=SOURCE,
        methods=("byol", "simclr"),
        rows=_rows,
        paper=PAPER,
        x_label="augmentation set",
        claims=claims,
        plot="bars_drop",
    )
