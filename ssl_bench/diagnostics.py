"""Verdicts on what a run's training did rather than on its accuracy: that it did not
collapse, that its projections stay spread as an isotropic Gaussian's would (SimSiam §4.1:
"the std value is near 1/√d"), that its loss reached the minimum a collapsed solution
gives (§4.1: "the minimum possible loss of −1") or stayed high (§4.2), that its loss
oscillated (§4.4, Table 3d). Pure functions of a summary frame, on the verdicts' rules (`ssl_bench.verdicts`)."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ssl_bench.intervals import Stat
from ssl_bench.verdicts import FAILS, HOLDS, Verdict, all_of, collapsed, compare, stat

if TYPE_CHECKING:
    import pandas as pd

# What any scale can show of these claims: they read the run's own loss and projections,
# not a gap in top-1 that a short run may be too small to open.
READS_LOSS = "can show: the loss and its minimum are read directly, whatever training adds to top-1"
READS_SPREAD = (
    "can show: the spread is read directly; a projector that ends in BatchNorm without affine parameters "
    "(SimSiam's) keeps every channel's spread near 1/√d unless its input is constant, so a spread there says "
    "little of the rank"
)
READS_CURVE = "can show: the loss curve is read directly"
NEAR_IDEAL = 2.0  # "near 1/√d": within a factor of 2 either way
AT_FLOOR = 0.99  # "reaches the minimum": the final loss within 1 % of it
HIGH = 0.1  # "the loss remains high": 10 % of the minimum short of where the intact run ends
OSCILLATES = 1.0  # the loss travels at least its net change once more, back and forth, than the intact run's


def not_collapsed(claim: str, summary: pd.DataFrame, method: str, row: str, col: str, random_col: str, **kw) -> Verdict:
    """The collapse rule (`verdicts.collapsed`) read the other way: holds where the run has
    not collapsed (its projections stay spread, or its top-1 clears the random encoder)."""
    v = collapsed(claim, summary, method, row, col, random_col, **kw)
    flipped = {HOLDS: FAILS, FAILS: HOLDS}.get(v.outcome, v.outcome)
    if "point estimate" in flipped:  # one seed: its point estimate is read the other way too
        said = flipped.rsplit(" ", 1)[-1].rstrip(")")
        other = {"agrees": "disagrees", "disagrees": "agrees"}.get(said, said)
        flipped = flipped[: -len(said) - 1] + other + ")" if flipped.endswith(f"{said})") else flipped
    # The gain's comparison is read the other way too: no collapse claims a gain above the margin.
    numbers = v.numbers.replace("claimed < ", "claimed > ", 1)
    return replace(v, claim=claim, outcome=flipped, numbers=numbers)


def spread_near_ideal(claim: str, summary: pd.DataFrame, method: str, row: str, **kw) -> Verdict:
    """The per-channel std of ℓ2-normalised projections, over 1/√d, lies within NEAR_IDEAL
    of 1 either way (both bounds together, as a family of 2)."""
    ratio = stat(summary, method, row, "z_ratio", f"{row}: z std × √d", digits=2)
    parts = [
        compare("above 1/2", ratio, Stat.bound("1/2", 1 / NEAR_IDEAL, 2), 0.0, "above", family=2),
        compare("below 2", ratio, Stat.bound("2", NEAR_IDEAL, 2), 0.0, "below", family=2),
    ]
    return all_of(claim, parts, **{"metric": "z std × √d", "scope": READS_SPREAD, **kw})


def oscillates(claim: str, summary: pd.DataFrame, method: str, row: str, intact: str, **kw) -> Verdict:
    """The loss curve of `row` goes back and forth more than the intact run's: its total
    variation over its net change (1 for a monotone curve) exceeds the intact run's by more
    than OSCILLATES. A run whose loss went non-finite also reads as unstable."""
    kw = {"metric": "loss path / net change", "scope": READS_CURVE, **kw}
    s = summary[(summary.method == method) & (summary.row == row)]
    if len(s) and s.iloc[0]["n"] == 0 and s.iloc[0].get("failed", 0) > 0:
        errors = str(s.iloc[0].get("errors") or "")
        if "non-finite" in errors or "nan" in errors.lower():
            return Verdict(claim, HOLDS, f"{row}: every run failed with a non-finite loss ({errors})", **kw)
    a = stat(summary, method, row, "loss_tv", f"{row}: loss path / net change", digits=2)
    b = stat(summary, method, intact, "loss_tv", f"{intact}: loss path / net change", digits=2)
    return compare(claim, a, b, OSCILLATES, "above", **kw)


def loss_floor(method: dict | None) -> float | None:
    """The least value of a run's loss, from its config (a record's `config.method`): at
    β = 0 with the cosine, predictions equal to their targets, −2 a direction summed over
    two directions (or one direction twice), ÷ 2α in the `infonce` scale; SimSiam's own
    loss is a quarter of it, its −1. None where the loss has no such floor (negatives, the
    cross-entropy similarity, another loss kind)."""
    loss = (method or {}).get("loss") or {}
    if (
        loss.get("kind", "info_nce") != "info_nce"
        or loss.get("beta") != 0
        or loss.get("similarity", "cosine") != "cosine"
    ):
        return None
    floor = -4.0  # Eq. 8 at β = 0: both directions, each −2 × the mean cosine (`InfoNCE.factor` 1)
    return floor / (2 * loss["temperature"]) if loss.get("scale") == "infonce" else floor


def reaches_floor(claim: str, summary: pd.DataFrame, method: str, row: str, **kw) -> Verdict:
    """The final loss of `row` over its floor (`loss_floor`) is above AT_FLOOR: the run
    ended at the minimum a collapsed solution reaches."""
    ratio = stat(summary, method, row, "loss_to_floor", f"{row}: final loss / its minimum", digits=3)
    bound = Stat.bound(f"{AT_FLOOR:g}", AT_FLOOR, 3)
    kw = {"metric": "final loss / its minimum", "scope": READS_LOSS, **kw}
    return compare(claim, ratio, bound, 0.0, "above", **kw)


def loss_stays_high(claim: str, summary: pd.DataFrame, method: str, row: str, intact: str, **kw) -> Verdict:
    """The loss of `row` ends short of where the `intact` run's ends, by more than HIGH of
    its minimum (final loss over its floor, `loss_floor`): the training did not converge
    (SimSiam §4.2: "The training does not converge, and the loss remains high"), which a
    collapsed run, at its floor, cannot show."""
    a = stat(summary, method, intact, "loss_to_floor", f"{intact}: final loss / its minimum", digits=3)
    b = stat(summary, method, row, "loss_to_floor", f"{row}: final loss / its minimum", digits=3)
    kw = {"metric": "final loss / its minimum", "scope": READS_LOSS, **kw}
    return compare(claim, a, b, HIGH, "above", **kw)
