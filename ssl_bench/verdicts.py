"""Deciding a claim of the paper from runs over seeds: pure functions of a summary frame
(one row per method and grid row: mean, std and n of each metric over seeds).

Every decision compares a 95 % Welch t-interval (unpaired over seeds, fixed before any
run) with a margin stated up front; a claim about m comparisons reads Bonferroni-
simultaneous intervals. `RULES` below states the rules in the words every report prints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ssl_bench.intervals import Stat, comparison_sd, difference, digits_to_tell, welch_interval
from ssl_bench.scope import (  # noqa: F401  (re-exported: the ablations name them from here)
    CAN,
    METRIC,
    METRIC_NAMES,
    NEAR,
    PIXELS,
    RANDOM,
    SCALE_METRIC,
    SCOPE_RULES,
    Scale,
    collapse_scope,
    learned_span,
    left_out,
    metric_for,
    needs_gap,
    on_dataset,
    within,
)

if TYPE_CHECKING:  # pandas is imported by the report that calls these, not by the ablations that name them
    import pandas as pd


def _isna(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))  # numpy's float64 is a float


HOLDS, FAILS, CANNOT_TELL, NOT_ENOUGH = "holds", "does not hold", "cannot tell", "not enough runs"
NOT_TESTABLE = "not testable at this scale"
OUTCOMES = (HOLDS, FAILS, CANNOT_TELL, NOT_ENOUGH)

# The margins, in points of top-1, that turn the paper's words into tests.
FAR = 5.0  # "far below", "far above"
MUCH_MORE = 2.0  # "hurts SimCLR far more than BYOL": the difference of the two drops
CLOSE_TO_BEST = 5.0  # every tau_base in [0.9, 0.999] stays close to the best (72.5 vs > 68.4)


@dataclass(frozen=True)
class Verdict:
    claim: str  # the claim in a few words
    outcome: str  # one of OUTCOMES
    numbers: str  # what was compared, with the interval and the margin
    quote: str = ""  # the paper's sentence, with its section
    metric: str = ""  # which metric the verdict read
    scope: str = ""  # what the scale the runs ran at can show of this claim, and why
    family: int = 1  # how many comparisons it makes together (its intervals are Bonferroni over them)
    noise: float = math.nan  # the seed sd its noisiest comparison reads as (`intervals.comparison_sd`)
    cells: frozenset[tuple[str, str]] = frozenset()  # the (method, row) cells it compares

    def __post_init__(self) -> None:
        if not any(self.outcome.startswith(o) for o in OUTCOMES):
            raise ValueError(f"unknown outcome {self.outcome!r}")

    @property
    def testable(self) -> bool:
        """False where the scale can neither show the claim nor make it fail (its scope
        says "cannot show" or "cannot fail"): then no outcome is a verdict on the claim."""
        return not self.scope.startswith(("cannot show", "cannot fail"))

    @property
    def reading(self) -> str:
        """What a headline prints: the outcome, or "not testable at this scale (why)"."""
        if self.testable:
            return self.outcome
        return f"{NOT_TESTABLE} ({self.scope.split(': ', 1)[-1]})"

    @property
    def decided(self) -> bool:
        return self.testable and self.outcome in (HOLDS, FAILS)

    def line(self) -> str:
        reads = f" [{self.metric}]" if self.metric else ""
        if not self.testable:
            return f"- {self.claim}: **{NOT_TESTABLE}**{reads}: {self.scope} (the runs read: {self.numbers})."
        scope = f" At this scale: {self.scope}." if self.scope else ""
        return f"- {self.claim}: **{self.outcome}**{reads} ({self.numbers}).{scope}"


def stat(
    summary: pd.DataFrame, method: str, row: str, col: str, label: str | None = None, digits: int = 1
) -> Stat | None:
    """The (method, row) cell of `summary` for column `col` (None when nothing finished),
    printed with `digits` decimals."""
    s = summary[(summary.method == method) & (summary.row == row)]
    if not len(s) or s.iloc[0]["n"] == 0 or _isna(s.iloc[0][col]):
        return None
    item = s.iloc[0]
    asked = int(item["n"] + item.get("failed", 0) + item.get("missing", 0) + item.get("corrupt", 0))
    machines = frozenset(m for m in str(item.get("machines") or "").split("\n") if m)
    return Stat(
        label or f"{method} {row}",
        float(item[col]),
        float(item.get(f"{col}_std", math.nan)),
        int(item.get(f"{col}_n", item["n"])),  # the runs that scored this column, not only finished
        asked,
        machines=machines,
        digits=digits,
        cells=frozenset({(method, row)}),
    )


def _machines_note(machines: frozenset[str]) -> str:
    # Float sums differ between CPUs and torch versions; a difference may be partly theirs.
    return f"; NOT ONE MACHINE: the runs ran on {' and on '.join(sorted(machines))}" if len(machines) > 1 else ""


def compare(claim: str, a: Stat | None, b: Stat | None, margin: float, side: str, *, family: int = 1, **kw) -> Verdict:
    """Decide a − b against `margin`: side "above" claims a − b > margin; "below" claims
    a − b < margin. `family`: how many comparisons the claim makes together (Bonferroni).
    With one seed on either side, the point estimate only."""
    if a is None or b is None:
        have = "; ".join(x.text() for x in (a, b) if x is not None)
        side_gone = "either side" if a is None and b is None else "one side"
        text = (have + "; " if have else "") + f"no finished run on {side_gone}"
        return Verdict(claim, NOT_ENOUGH, text, family=family, **kw)
    diff, digits = a.mean - b.mean, max(a.digits, b.digits)
    sign = ">" if side == "above" else "<"
    numbers = f"{a.text()} vs {b.text()}; difference {diff:+.{digits}f}, claimed {sign} {margin:+g}"
    numbers += _machines_note(a.machines | b.machines)
    if a.one_seed or b.one_seed:
        agrees = (diff > margin) if side == "above" else (diff < margin)
        point = "agrees" if agrees else "disagrees"
        return Verdict(claim, f"{NOT_ENOUGH} (one seed; the point estimate {point})", numbers, family=family, **kw)
    low, high, df = welch_interval(a, b, family)
    kind = "95 % Welch t" if family == 1 else f"95 % Welch t, simultaneous over {family} (Bonferroni)"
    shown = digits_to_tell((low, high), margin, digits)
    numbers += f"; interval [{low:+.{shown}f}, {high:+.{shown}f}] ({kind}, df {df:.1f})"
    if side == "above":
        outcome = HOLDS if low > margin else FAILS if high < margin else CANNOT_TELL
    else:
        outcome = HOLDS if high < margin else FAILS if low > margin else CANNOT_TELL
    return Verdict(claim, outcome, numbers, family=family, noise=comparison_sd(a, b), cells=a.cells | b.cells, **kw)


def drop(summary: pd.DataFrame, method: str, row: str, base: str, col: str) -> Stat | None:
    """top-1 at `row` minus top-1 at `base` over seeds, as one Stat: the mean difference
    with the std that makes its standard error √(s_row²/n_row + s_base²/n_base)."""
    r, b = stat(summary, method, row, col), stat(summary, method, base, col)
    if r is None or b is None:
        return None
    return difference(f"{method} drop at {row}", r, b)


# Projections' std over its spread-out value 1/√d: below COLLAPSED they have collapsed;
# from SPREAD up they are spread out; in between they have shrunk without collapsing.
COLLAPSED, SPREAD = 0.1, 0.5


def collapsed(
    claim: str,
    summary: pd.DataFrame,
    method: str,
    row: str,
    col: str,
    random_col: str,
    working: str | None = None,
    **kw,
) -> Verdict:
    """Collapse, judged against the run's own random-init encoder, as RULES states it: the
    gain over it (below NEAR points, interval included) and the projections' spread over
    1/√d (under COLLAPSED; from SPREAD up, spread out), a fall of more than FAR points below
    the method's `working` row (its intact configuration) for collapsed projections over a
    small gain (the paper's collapsed rows score 0.1 to 5.5 % against 1.4 %, Tables 5, 19),
    and, where the projector ends in BatchNorm without affine parameters (`spread_bounded`:
    SimSiam's head), only a collapsed spread read. Seeds that disagree on collapse decide nothing."""
    trained = stat(summary, method, row, col, f"{row}: trained")
    random = stat(summary, method, row, random_col, "random-init encoder")
    v = compare(claim, trained, random, NEAR, "below", **kw)
    s = summary[(summary.method == method) & (summary.row == row)]
    if not len(s) or _isna(s.iloc[0].get("z_std")) or _isna(s.iloc[0].get("z_std_ideal")):
        return v
    c = s.iloc[0]
    ratio, k, n = float(c["z_std"] / c["z_std_ideal"]), c.get("z_collapsed"), c.get("z_ratio_n")
    numbers = f"{v.numbers}; z std {ratio:.2f}× 1/√d (collapsed below {COLLAPSED:.2f}×, spread from {SPREAD:.2f}×)"
    split = not _isna(k) and not _isna(n) and 0 < k < n  # some seeds collapsed, others did not
    numbers += f", {int(k)} of {int(n)} seeds collapsed" if not _isna(k) and not _isna(n) and n > 1 else ""
    pixels = c.get(PIXELS) if col == METRIC else None  # the pixels are scored on the verdicts' metric
    numbers += "" if pixels is None or _isna(pixels) else f"; the raw pixels {pixels:.1f}"
    # Where BatchNorm holds the spread up, the rank shows what the spread cannot: how many
    # directions the projections use. Elsewhere it is scale-free and would read the shape of
    # whatever noise is left around a collapsed point, so it is not printed.
    if (bounded := bool(c.get("spread_bounded", False))) and not _isna(c.get("effective_rank")):
        numbers += f"; effective rank {c['effective_rank']:.1f} of {round(float(c['z_std_ideal']) ** -2)}"
    outcome = v.outcome
    decided = v.outcome in (HOLDS, CANNOT_TELL)  # both sides had seeds enough to decide on
    if ratio >= COLLAPSED and bounded:
        numbers += "; the projector's output BatchNorm keeps this spread up, so the gain decides"
    elif ratio >= SPREAD and decided:
        outcome = FAILS  # spread-out projections: no collapse, whatever the probe says
    elif COLLAPSED <= ratio < SPREAD and decided:
        outcome = CANNOT_TELL  # shrunk, not collapsed; the gain did not clear NEAR either
    elif ratio < COLLAPSED and v.outcome == FAILS:
        # Collapsed projections over an encoder that gained: the two signals disagree,
        # unless top-1 also stays far below the intact method (the paper's collapsed rows).
        outcome = CANNOT_TELL
        if working is not None:
            intact = stat(summary, method, working, col, f"{working}: trained")
            fall = compare("far below", intact, trained, FAR, "above", family=v.family)
            numbers += f"; against the intact {working}: {fall.outcome} ({fall.numbers})"
            if fall.outcome == HOLDS:
                outcome = HOLDS  # collapsed projections, far below the working method
        if outcome == CANNOT_TELL:
            numbers += "; collapsed projections, yet the encoder gained: the signals disagree"
    if split and outcome in (HOLDS, FAILS):  # the mean spread would hide the seeds that went the other way
        outcome, numbers = CANNOT_TELL, numbers + "; the seeds disagree on collapse"
    return replace(v, claim=claim, outcome=outcome, numbers=numbers)


def all_of(claim: str, parts: Sequence[Verdict], **kw) -> Verdict:
    """A claim made of several conditions: holds when all hold, does not hold when any
    does not, and otherwise the weakest outcome of the parts. The parts are compared as a
    family (`compare(..., family=len(parts))`), so that "any does not hold" keeps its
    error rate."""
    numbers = "; ".join(f"{p.claim}: {p.outcome} ({p.numbers})" for p in parts)
    outcomes = [p.outcome for p in parts]
    if all(o == HOLDS for o in outcomes):
        outcome = HOLDS
    elif any(o == FAILS for o in outcomes):
        outcome = FAILS
    elif any(o.startswith(NOT_ENOUGH) for o in outcomes):
        outcome = NOT_ENOUGH
    else:
        outcome = CANNOT_TELL
    family = max((p.family for p in parts), default=1)
    noise = max((p.noise for p in parts if not math.isnan(p.noise)), default=math.nan)
    cells = frozenset().union(*(p.cells for p in parts))
    return Verdict(claim, outcome, numbers, family=family, noise=noise, cells=cells, **kw)


def none_above(claim: str, expected: Sequence[Stat | None], base: Stat | None, margin: float, **kw) -> Verdict:
    """A claim about a family of rows: no row's mean exceeds `base`'s by `margin` or more.
    Every row the grid runs is compared (None: one with no finished run, so the family is
    not yet whole), on Bonferroni-simultaneous intervals over all of them, never only the
    best-looking one: holds when every row's interval lies below the margin, does not hold
    when any row's lies above it. The numbers name the row with the highest upper bound."""
    rows, m = [r for r in expected if r is not None], len(expected)
    if not rows:
        return Verdict(claim, NOT_ENOUGH, "no finished row", **kw)
    parts = [compare(r.label, r, base, margin, "below", family=m) for r in rows]
    combined = all_of(claim, parts, **kw)
    below = sum(p.outcome == HOLDS for p in parts)
    above = sum(p.outcome == FAILS for p in parts)

    def upper(r: Stat) -> float:
        if base is None or r.one_seed or base.one_seed:
            return r.mean - (base.mean if base is not None else 0.0)
        return welch_interval(r, base, m)[1]

    worst = max(range(len(rows)), key=lambda k: upper(rows[k]))
    numbers = (
        f"{m} rows, each against the same baseline on simultaneous intervals: {below} lie wholly below "
        f"{margin:+g}, {above} wholly above; the highest: {parts[worst].numbers}"
    )
    if "NOT ONE MACHINE" not in numbers:  # another row than the highest may have mixed them
        numbers += _machines_note(frozenset().union(*(r.machines for r in (*rows, base) if r is not None)))
    outcome = combined.outcome
    if len(rows) < m:  # "holds" on part of the family is a claim about fewer rows; one row above is enough
        numbers = f"{m - len(rows)} of the {m} rows have no finished run; {numbers}"
        outcome = outcome if outcome == FAILS else NOT_ENOUGH
    return Verdict(claim, outcome, numbers, family=m, noise=combined.noise, cells=combined.cells, **kw)


# The rules above in words, written into every report and the results index.
RULES = (
    "How a verdict is decided: the difference of two means over seeds, unpaired, with its 95 % Welch t-interval "
    "(Welch–Satterthwaite degrees of freedom where both sides have the same seeds, at 3 seeds a side a multiplier of "
    "2.8 to 4.3 on the standard error; Hsu's, the fewer seeds less one, where they differ), "
    "is compared with the margin each claim states. It holds only when the whole interval clears the margin on "
    "the claimed side, does not hold only when the whole interval lies on the other side, and otherwise cannot "
    "tell; with one seed on either side it gives the point estimate only. A claim that makes m comparisons at "
    "once (several rows, or several conditions) reads Bonferroni-simultaneous intervals, each at 1 − 0.05/m. "
    "Collapse is judged against the run's own random-init encoder: collapsed when the trained encoder's top-1 is "
    "no more than 1 point above it (interval included) and its projections' std is under 0.1 × 1/√d; not "
    "collapsed when the projections stay spread (0.5 × 1/√d or more), or when the gain clears 1 point and they "
    "did not collapse; collapsed projections with a clear gain, or projections that shrank in between with none, "
    "cannot tell, and so do seeds of which some collapsed and some did not. Where the projector ends in BatchNorm "
    "without affine parameters (SimSiam's), which keeps every channel's spread up unless its input is constant, "
    "only a "
    "collapsed spread is read, and otherwise the gain decides. Collapsed projections also read collapse where top-1 "
    "stays more than 5 points below the method's intact configuration, whatever a small gain over the random "
    "encoder says (the paper's collapsed rows score 0.1 to 5.5 % against 1.4 %). A small model trained briefly "
    "stays close to its initialisation, so at such a scale a verdict on collapse reads the projections and the "
    "gain, never the top-1 against chance."
)
