"""What the scale a grid ran at can show of a claim, read from its records: how far
training moved the verdicts' metric above a random encoder and above the pixels it is
given, whether the images have colour, and which rows the scale's grid leaves out. A claim
that the scale can neither show nor make fail reads "not testable at this scale", never a
verdict. Pure functions of a summary frame (see `ssl_bench.verdicts`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported by the report that calls these, not by the ablations that name them
    import pandas as pd

# A summary's "score" is the metric the verdicts read, chosen per preset before its runs
# (`SCALE_METRIC`; the paper's linear evaluation top-1 where a preset names none).
# `random_score` and `pixels_score` are the same metric of the run's random-init encoder
# and of the normalised pixels it is given. The cpu preset reads linear top-1 too: on its
# 20-epoch schedule, on the whole 10k test set, BYOL's encoder scored kNN 77.5 (k = 200)
# against 77.6 for the pixels it is given and linear 85.6 against 79.3 (random init: kNN
# 73.8, linear 82.1; AMD EPYC, AVX2). kNN separated the 6-epoch grids' rows better, but
# there training had added nothing over the pixels: a metric on which the trained encoder
# does not beat its own input cannot read a claim about learned representations.
METRIC, RANDOM, PIXELS = "score", "random_score", "pixels_score"
# The seeds of the runs that choice was made on; the report tests it on the others
# (`ssl_bench.report.over_pixels`).
METRIC_CHOSEN_ON_SEEDS = (0,)
SCALE_METRIC: dict[str, str] = {}
METRIC_NAMES = {"linear_top1": "linear top-1", "knn_top1": "kNN top-1"}


def metric_for(preset: str | None) -> str:
    """The record column the verdicts read at a preset (the paper's metric by default)."""
    return SCALE_METRIC.get(preset or "", "linear_top1")


NEAR = 1.0  # "stays nearly constant", "does not improve significantly"


@dataclass(frozen=True)
class Scale:
    """What the records say about the scale they ran at: the facts that decide which of
    the paper's claims it can show, whatever the runs read."""

    learned: float | None = None  # points of the metric training adds over the random-init encoder (best row)
    over_pixels: float | None = None  # points the best row scores over the normalised pixels it is given
    metric: str = ""  # the name of the metric the verdicts read
    channels: int | None = None  # of the images trained on; 1 is grey
    chance: float | None = None  # top-1 % of guessing
    dataset: str | None = None  # what the records trained on


CAN = "can show"


def learned_span(summary: pd.DataFrame, col: str = METRIC, random_col: str = RANDOM) -> float | None:
    """How far training moves the metric above the random-init encoder at this scale: the
    largest mean gain of any (method, row). The paper's scale: 72.5 against 1.4 (§3)."""
    if col not in summary or random_col not in summary:
        return None
    gains = (summary[col] - summary[random_col]).dropna()
    return float(gains.max()) if len(gains) else None


def _below_pixels(scale: Scale) -> str:
    """Why a comparison of learned representations cannot be made: no trained row scores
    above the pixels it was trained on (empty when one does, or where pixels were not scored)."""
    if scale.over_pixels is None or scale.over_pixels > 0:
        return ""
    name = scale.metric or "the metric"
    return f"no trained encoder scores above the normalised pixels it is given on {name} ({scale.over_pixels:+.1f})"


def needs_gap(scale: Scale, margin: float) -> str:
    """Scope of a claim that a trained row lies more than `margin` points from another row
    or from the random-init encoder: no row can, where training adds no more than that."""
    if scale.learned is None:
        return ""
    if _below_pixels(scale):
        return f"cannot show: {_below_pixels(scale)}"
    if scale.learned <= margin:
        return (
            f"cannot show: it asks for a gap of {margin:g} points, and training adds only "
            f"{scale.learned:.1f} over a random encoder here"
        )
    return CAN


def within(scale: Scale, margin: float) -> str:
    """Scope of a claim that rows stay within `margin` points: it cannot fail where all
    that training adds is less (short of a row falling below the random encoder)."""
    if scale.learned is None:
        return ""
    if _below_pixels(scale):
        return f"cannot fail here: {_below_pixels(scale)}"
    if scale.learned <= margin:
        return (
            f"cannot fail here: training adds only {scale.learned:.1f} points over a random encoder, "
            f"within the {margin:g}-point margin"
        )
    return CAN


def left_out(summary: pd.DataFrame, rows: Sequence[str], why: str) -> str:
    """Scope of a claim that reads rows this scale's grid leaves out (a grid is cut to the
    rows its scale can decide; the rest stay at the presets that can): empty if all ran."""
    if "row" not in summary or not len(summary):
        return ""
    missing = [r for r in rows if r not in set(summary.row)]
    return f"cannot show: this scale's grid leaves out {'; '.join(missing)}, because {why}" if missing else ""


def on_dataset(scale: Scale, dataset: str, why: str) -> str:
    """Scope of a claim made on one dataset's recipe: not shown by records of another."""
    if scale.dataset is None or scale.dataset == dataset:
        return ""
    return f"cannot show: {why}; these runs trained on {scale.dataset}"


def collapse_scope(scale: Scale) -> str:
    """Collapse is told from the projections' spread and the gain over the random-init
    encoder, so it needs a scale where training adds more than NEAR points."""
    if scale.learned is not None and scale.learned <= NEAR:
        return f"cannot show: training adds only {scale.learned:.1f} points, within the {NEAR:g} that marks collapse"
    return "" if scale.learned is None else f"{CAN}: the projections' spread and the gain over the random encoder"


# What a scale can show, in words, written into every report and the results index.
SCOPE_RULES = (
    "What a scale can show: each claim says whether the scale its runs ran at can show it, and why. Training "
    "there adds some points of top-1 over a random encoder of the same architecture (the paper's scale adds 71: "
    "72.5 against 1.4, §3). A claim that asks for a gap as large as that cannot be shown, whatever the runs read, "
    "and a claim that rows stay within such a margin cannot fail. A claim about colour cannot be shown on grey "
    "images, and one about batch size is weak where BatchNorm sees far fewer images than the paper's 256. "
    "Beyond that, every scale but the paper's is shorter and smaller: a verdict there says what holds at that "
    "scale, not what holds at the paper's."
)
