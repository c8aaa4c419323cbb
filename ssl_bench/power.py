"""How many seeds a comparison needs: the power of the verdicts' one-sided Welch test at
equal n and equal seed sd, from the noncentral t distribution.

At n seeds per side and seed sd σ, the difference of two means has standard error
σ·√(2/n) and Welch's degrees of freedom are 2n − 2 (equal n and σ). A claim "holds" when
its 95 % interval (Bonferroni over `family` comparisons) clears the margin, i.e. when
t = (difference − margin) / SE exceeds the t quantile at 1 − 0.025/family. With a true
difference `effect` beyond the margin, t is noncentral t with noncentrality effect / SE.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

ALPHA = 0.025  # one side of the verdicts' 95 % interval
POWER = 0.8
PILOT_SEEDS = 3  # the seeds every row of a grid runs before the power calculation asks for more
EFFECT = 1.0  # points beyond the margin a claim should be decided at: one point of top-1


def power(n: int, sd: float, effect: float = EFFECT, family: int = 1) -> float:
    """Probability that a true difference `effect` beyond the margin reads "holds" at n
    seeds per side (equal seed sd `sd` on both sides)."""
    from scipy.stats import nct, t  # here: naming a claim does not load scipy

    if n < 2:
        return 0.0
    df = 2 * n - 2
    se = sd * math.sqrt(2.0 / n)
    critical = t.ppf(1 - ALPHA / family, df)
    return float(nct.sf(critical, df, effect / se)) if se > 0 else 1.0


def seeds_needed(
    sd: float, effect: float = EFFECT, family: int = 1, target: float = POWER, most: int = 50
) -> int | None:
    """The fewest seeds per side at which `power` reaches `target`; None beyond `most`."""
    for n in range(2, most + 1):
        if power(n, sd, effect, family) >= target:
            return n
    return None


def pooled_sd(stds: Iterable[float], ns: Iterable[int]) -> float | None:
    """The seed sd pooled over cells (each with its own mean): √(Σ (n−1) s² / Σ (n−1))."""
    pairs = [(s, n) for s, n in zip(stds, ns, strict=True) if n >= 2 and s == s]  # s == s: not nan
    dof = sum(n - 1 for _, n in pairs)
    return math.sqrt(sum((n - 1) * s * s for s, n in pairs) / dof) if dof else None


def power_sentence(sd: float | None, metric_name: str) -> str:
    """The power calculation behind a report's 'seeds per row', at the seed sd `sd`
    measured on its runs (None: not yet measurable)."""
    if sd is None:
        return "Seeds needed: not yet known (no row has two finished seeds to measure the seed noise)."
    return (
        f"Seeds per row for {POWER * 100:.0f} % power: the fewest seeds per side at which a true difference "
        f'{EFFECT:g} point beyond a claim\'s margin reads "holds" with probability {POWER * 100:.0f} %, on the '
        f"verdicts' one-sided Welch test (noncentral t, Bonferroni over the claim's comparisons), per comparison, "
        f"at the seed sd of the rows the claim compares (its noisiest comparison's standard error, read as the sd "
        f"that would give it at equal seeds: √(Σ s²/2) over the means it reads, four for a difference of two "
        f"drops), or, for a claim with one seed a side, the grid's sd pooled over its rows ({sd:.2f} points of "
        f"{metric_name})."
    )
