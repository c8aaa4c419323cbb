"""The intervals the verdicts read have the coverage they state, checked by simulation
through the real verdict code: with the true difference exactly on a claim's margin, a
claim reads "holds" at most 2.5 % of the time (one side of a 95 % interval), at the
seed counts the results use."""

import math

import numpy as np
import pytest

from ssl_bench.verdicts import HOLDS, Stat, compare, difference, none_above

TRIALS = 10_000
NOMINAL = 0.025
# The rate is a binomial proportion over TRIALS: allow three standard errors above it.
CEILING = NOMINAL + 3 * math.sqrt(NOMINAL * (1 - NOMINAL) / TRIALS)


def _stat(rng: np.random.Generator, label: str, mean: float, sd: float, n: int) -> Stat:
    x = rng.normal(mean, sd, n)
    return Stat(label, float(x.mean()), float(x.std(ddof=1)), n)


def _rate(decide, trials: int = TRIALS) -> float:
    return sum(decide() == HOLDS for _ in range(trials)) / trials


def _rate_on_the_margin(seed: int, n_a: int, sd_a: float, n_b: int, sd_b: float) -> float:
    """How often a claim "a − b above 1" reads "holds" when the true difference is 1."""
    rng, margin = np.random.default_rng(seed), 1.0

    def decide():
        a, b = _stat(rng, "a", margin, sd_a, n_a), _stat(rng, "b", 0.0, sd_b, n_b)
        return compare("c", a, b, margin, "above").outcome

    return _rate(decide)


@pytest.mark.parametrize("n", [3, 5])
@pytest.mark.parametrize("sd_a, sd_b", [(0.6, 0.6), (1.5, 0.4)])
def test_a_difference_on_the_margin_holds_at_most_2_5_percent(n, sd_a, sd_b):
    rate = _rate_on_the_margin(n * 100 + int(sd_a * 10), n, sd_a, n, sd_b)
    assert rate <= CEILING, f"false 'holds' {rate:.2%} at n={n}"
    assert rate >= 0.01, f"{rate:.2%}: far more cautious than stated"


@pytest.mark.parametrize(
    "n_a, sd_a, n_b, sd_b", [(2, 1.5, 8, 0.3), (3, 1.5, 8, 0.3), (3, 1.5, 4, 0.3), (4, 0.3, 3, 1.5)]
)
def test_unequal_seed_counts_on_the_margin_hold_at_most_2_5_percent(n_a, sd_a, n_b, sd_b):
    """A failed seed, or a grid with more seeds than the one it is compared with, leaves
    the two sides unequal; where the side with fewer seeds is the noisier one, Welch's
    degrees of freedom read "holds" on the margin about 5 % of the time at 2 against 8."""
    rate = _rate_on_the_margin(n_a * 10 + n_b, n_a, sd_a, n_b, sd_b)
    assert rate <= CEILING, f"false 'holds' {rate:.2%} at n={n_a} (sd {sd_a}) vs n={n_b} (sd {sd_b})"


def test_welch_degrees_of_freedom_at_unequal_seeds_would_fail_this_check():
    """The check can fail: Welch's df at 2 seeds (sd 1.5) against 8 (sd 0.3)."""
    from ssl_bench.intervals import t_quantile

    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(TRIALS):
        a, b = _stat(rng, "a", 1.0, 1.5, 2), _stat(rng, "b", 0.0, 0.3, 8)
        va, vb = a.std**2 / 2, b.std**2 / 8
        df = (va + vb) ** 2 / (va**2 / 1 + vb**2 / 7)
        hits += a.mean - b.mean - t_quantile(0.975, df) * math.sqrt(va + vb) > 1.0
    assert hits / TRIALS > CEILING


def test_two_standard_errors_would_fail_this_check():
    """The check can fail: ± 2 SE at n = 3 (what a naive interval uses) reads "holds" on
    the margin far more often than 2.5 %."""
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(TRIALS):
        a, b = _stat(rng, "a", 1.0, 0.6, 3), _stat(rng, "b", 0.0, 0.6, 3)
        hits += a.mean - b.mean - 2 * math.sqrt(a.std**2 / 3 + b.std**2 / 3) > 1.0
    assert hits / TRIALS > CEILING


def test_a_difference_of_two_drops_on_the_margin_holds_at_most_2_5_percent():
    """Claims that compare two methods' drops read four means (Welch–Satterthwaite over all)."""
    rng = np.random.default_rng(3)
    margin, n = 2.0, 3

    def decide():
        drops = [
            difference(m, _stat(rng, "low", 60.0 + fall, 1.2, n), _stat(rng, "base", 70.0, 0.5, n))
            for m, fall in (("byol", margin), ("simclr", 0.0))
        ]
        return compare("c", *drops, margin, "above").outcome

    assert _rate(decide) <= CEILING


def test_a_family_of_rows_with_one_on_the_margin_holds_at_most_2_5_percent():
    """ "No row improves by the margin": one row exactly on it, the rest far below. Every
    row is tested, on simultaneous intervals; picking the best row could only raise this."""
    rng = np.random.default_rng(11)
    margin, n, m = 1.0, 3, 6

    def decide():
        base = _stat(rng, "base", 0.0, 0.6, n)
        rows = [_stat(rng, f"r{k}", margin if k == 0 else margin - 3.0, 0.6, n) for k in range(m)]
        return none_above("c", rows, base, margin).outcome

    assert _rate(decide) <= NOMINAL


def test_a_family_of_rows_all_on_the_margin_does_not_hold_at_most_2_5_percent():
    """The other error of a family: every row exactly on the margin, so the claim ("no row
    improves by the margin") is true at its edge, and "does not hold" (some row's interval
    wholly above) must stay within 2.5 %. Simultaneous intervals keep it there; the row
    picked as the best and tested on its own interval reads it far more often (about 4.7 %
    here, the rows sharing one baseline), which the last line shows."""
    from ssl_bench.verdicts import FAILS

    rng = np.random.default_rng(13)
    margin, n, m = 2.0, 3, 4
    family = best_alone = 0
    for _ in range(TRIALS):
        base = _stat(rng, "base", 0.0, 0.4, n)
        rows = [_stat(rng, f"r{k}", margin, 0.4, n) for k in range(m)]
        family += none_above("c", rows, base, margin).outcome == FAILS
        best = max(rows, key=lambda r: r.mean)
        best_alone += compare("c", best, base, margin, "below").outcome == FAILS
    assert family / TRIALS <= CEILING, f"false 'does not hold' {family / TRIALS:.2%} on a family of {m}"
    assert best_alone / TRIALS > CEILING + 0.01  # the rule the family test replaces fails this check
