"""Means over seeds and the intervals of their differences: pure arithmetic, no pandas, no
claims. A `Stat` is a mean over seeds with its spread; `welch_interval` is the 95 % Welch
t-interval of a difference of two (with Welch–Satterthwaite degrees of freedom), at
Bonferroni's level for a family of comparisons; `difference` is a difference of two means
as one Stat that keeps both sides' variance terms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Two-sided coverage of every interval; each side errs with (1 - COVERAGE) / 2.
COVERAGE = 0.95


@dataclass(frozen=True)
class Stat:
    """A mean over seeds with its std and n (std is nan when n < 2), or a bound stated up
    front (`bound`: n 0, std 0); `of` says how many seeds were asked for, so a failed seed
    is never mistaken for a missing one."""

    label: str
    mean: float
    std: float
    n: int
    of: int | None = None
    # The variance terms (s²/n, n − 1) of the means it is made of, for Welch–Satterthwaite;
    # empty for a plain mean over seeds, whose one term comes from std and n.
    parts: tuple[tuple[float, int], ...] = ()
    machines: frozenset[str] = frozenset()  # the devices and torch versions its runs ran on
    digits: int = 1  # decimals it prints with: 1 for points of top-1, more for a ratio near 1
    cells: frozenset[tuple[str, str]] = frozenset()  # the grid's (method, row) cells it was read from

    @classmethod
    def bound(cls, label: str, value: float, digits: int = 1) -> Stat:
        """A bound stated up front, not measured: no variance, and never "too few seeds"."""
        return cls(label, value, 0.0, 0, digits=digits)

    @property
    def exact(self) -> bool:
        return self.n == 0 and self.std == 0.0

    @property
    def one_seed(self) -> bool:
        """Too few seeds for an interval: fewer than 2, or no spread known."""
        return not self.exact and (self.n < 2 or math.isnan(self.std))

    @property
    def terms(self) -> tuple[tuple[float, int], ...]:
        if self.exact:
            return ()
        return self.parts or ((self.std**2 / self.n, self.n - 1),)

    def text(self) -> str:
        if self.exact:
            return f"{self.mean:.{self.digits}f}"
        seeds = f"n={self.n}" + (f" of {self.of}" if self.of is not None and self.of != self.n else "")
        spread = "" if math.isnan(self.std) else f" ± {self.std:.{self.digits}f}"
        return f"{self.label} {self.mean:.{self.digits}f}{spread} ({seeds})"


def t_quantile(p: float, df: float) -> float:
    """The p-quantile of Student's t with df degrees of freedom (df may be fractional)."""
    from scipy.special import stdtrit  # here, so that naming a claim does not load scipy

    return float(stdtrit(df, p))


def welch_interval(a: Stat, b: Stat, family: int = 1) -> tuple[float, float, float]:
    """(low, high, df): the two-sided COVERAGE t-interval of a.mean − b.mean, unpaired,
    with Welch–Satterthwaite degrees of freedom where every mean has the same number of
    seeds, and Hsu's min(n) − 1 where they differ; for a family of m comparisons, each
    interval at 1 − (1 − COVERAGE)/m (Bonferroni), so all m hold together at COVERAGE."""
    terms = a.terms + b.terms
    var = sum(v for v, _ in terms)
    diff = a.mean - b.mean
    if var == 0:
        return diff, diff, math.inf
    dofs = {d for _, d in terms}
    # Welch's df overstates the information when a side with fewer seeds is also the
    # noisier one: at 2 seeds (sd 1.5) against 8 (sd 0.3) a 95 % interval misses on one
    # side 5 % of the time, not 2.5 %. Hsu's df, the fewest seeds less one, never does.
    df = var**2 / sum(v**2 / d for v, d in terms if v > 0) if len(dofs) == 1 else float(min(dofs))
    half = t_quantile(1 - (1 - COVERAGE) / (2 * family), df) * math.sqrt(var)
    return diff - half, diff + half, df


def comparison_sd(a: Stat, b: Stat) -> float:
    """The seed sd σ at which a comparison of two means with equal seeds would have the
    standard error a − b has at the same n: √(Σ s_i² / 2) over the means it is made of (two
    for a plain comparison, four for a difference of two drops); nan where a side has no
    spread. The power of the comparison (`ssl_bench.power`) is computed at it."""
    terms = a.terms + b.terms
    if a.one_seed or b.one_seed or not terms:
        return math.nan
    return math.sqrt(sum(v * (d + 1) for v, d in terms) / 2)


def difference(label: str, r: Stat, b: Stat) -> Stat:
    """r − b as one Stat, carrying both sides' variance terms for Welch–Satterthwaite."""
    if r.one_seed or b.one_seed or r.exact or b.exact:
        return Stat(
            label,
            r.mean - b.mean,
            math.nan,
            min(r.n, b.n),
            None,
            machines=r.machines | b.machines,
            cells=r.cells | b.cells,
        )
    se = math.sqrt(r.std**2 / r.n + b.std**2 / b.n)
    n = min(r.n, b.n)
    return Stat(
        label,
        r.mean - b.mean,
        se * math.sqrt(n),
        n,
        None,
        r.terms + b.terms,
        r.machines | b.machines,
        cells=r.cells | b.cells,
    )


def digits_to_tell(values: Sequence[float], margin: float, digits: int) -> int:
    """The decimals at which no value prints as a margin it is not on (at most 3 more than
    `digits`): an interval ending at 1.96 against a margin of 2 must not read "+2.0"."""
    shown = digits
    while shown < digits + 3 and any(round(x, shown) == margin != x for x in values):
        shown += 1
    return shown
