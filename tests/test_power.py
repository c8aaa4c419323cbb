"""The seeds a claim needs, from the noncentral t: checked by simulation through the real
verdict code, so that "n seeds give 80 % power" is what the verdicts then do."""

import math

import numpy as np
import pytest

from ssl_bench.power import pooled_sd, power, seeds_needed
from ssl_bench.verdicts import HOLDS, Stat, compare

TRIALS = 4000


def simulated_power(n: int, sd: float, effect: float, family: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    margin, hits = 1.0, 0
    for _ in range(TRIALS):
        a, b = rng.normal(margin + effect, sd, n), rng.normal(0.0, sd, n)
        sa = Stat("a", float(a.mean()), float(a.std(ddof=1)), n)
        sb = Stat("b", float(b.mean()), float(b.std(ddof=1)), n)
        hits += compare("c", sa, sb, margin, "above", family=family).outcome == HOLDS
    return hits / TRIALS


@pytest.mark.parametrize("sd, family", [(0.6, 1), (0.6, 4), (1.2, 1)])
def test_the_computed_power_is_what_the_verdict_code_does(sd, family):
    n = seeds_needed(sd, effect=1.0, family=family)
    assert n is not None and n >= 2
    # Welch's df falls below 2n - 2 when the two sample sds differ, so the real test is a
    # little more cautious than the equal-variance formula: within 4 binomial SE plus 3 points.
    se = math.sqrt(0.8 * 0.2 / TRIALS)
    for m in (n, max(n - 1, 2)):
        sim = simulated_power(m, sd, 1.0, family, seed=m * 10 + family)
        assert abs(sim - power(m, sd, 1.0, family)) <= 4 * se + 0.03, (m, sim)
    assert power(n, sd, 1.0, family) >= 0.8 > (power(n - 1, sd, 1.0, family) if n > 2 else 0.0)


def test_more_noise_or_a_larger_family_needs_more_seeds():
    assert seeds_needed(0.3) <= seeds_needed(0.6) <= seeds_needed(1.2)
    assert seeds_needed(0.6, family=1) <= seeds_needed(0.6, family=18)
    assert seeds_needed(5.0, most=10) is None


def test_pooled_sd_weights_each_cell_by_its_degrees_of_freedom():
    assert pooled_sd([1.0, 2.0], [2, 3]) == pytest.approx(math.sqrt((1 * 1 + 2 * 4) / 3))
    assert pooled_sd([float("nan"), 1.0], [3, 1]) is None
