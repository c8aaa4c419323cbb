"""The seeds a claim needs, from the noncentral t: checked by simulation through the real
verdict code, so that "n seeds give 80 % power" is what the verdicts then do."""

import math

import numpy as np
import pytest

from ssl_bench.intervals import comparison_sd
from ssl_bench.power import pooled_sd, power, seeds_needed
from ssl_bench.verdicts import HOLDS, Stat, compare, difference

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


def _report(spread: float, without_spread: float | None = None):
    """The stop-gradient grid at the cpu preset, three seeds a row, each row's seeds at
    its mean ± `spread` (so the pooled seed sd is `spread`), or ± `without_spread` for the
    row without stop-gradient where given."""
    from ssl_bench.ablation import expand, get_ablation
    from ssl_bench.report import Entry, build_report

    ablation, entries = get_ablation("simsiam_stop_gradient"), []
    for p in expand(ablation, preset="cpu", seeds=[0, 1, 2]):
        without = "without" in p.row
        sd = without_spread if without and without_spread is not None else spread
        v = (0.85 if not without else 0.84) + (p.seed - 1) * sd / 100
        record = {
            "status": "done",
            "metrics": {"linear_top1": v, "knn_top1": v, "z_std": 0.06, "z_std_ideal": 0.0625, "final_loss": -3.0},
            "random_init": {"linear_top1": 0.82, "knn_top1": 0.74},
            "config": {"seed": p.seed, "preset": "cpu", "data": {"dataset": "fashion-mnist"}},
            "data": {"num_classes": 10},
        }
        entries.append(Entry(p.labels, record))
    return build_report(ablation, entries, baseline=ablation.baseline("cpu"), preset="cpu")


@pytest.mark.parametrize("spread", [0.1, 0.4, 0.6, 3.0])
def test_the_sweep_adds_the_seeds_each_claim_needs_to_its_rows_up_to_the_cap(spread):
    from ssl_bench.seeds_for_power import MOST, more_seeds

    rep = _report(spread)
    assert rep.seed_sd == pytest.approx(spread)
    on_metric = [v for v in rep.verdicts if v.testable and v.metric == rep.metric_name]
    want: dict = {}
    for v in on_metric:
        for cell in v.cells:
            want[cell] = max(want.get(cell, 0), min(rep.seeds_needed(v, most=MOST) or MOST, MOST))
    added = more_seeds(rep, [0, 1, 2])
    assert added == {cell: list(range(n)) for cell, n in want.items()}  # the grid's seeds, then the next
    assert all(len(seeds) <= MOST for seeds in added.values())
    # Its claims compare a trained row (sd `spread`) with its random-init encoder (sd 0 here), so each is
    # powered at spread/√2: 0.4 needs no seed more, 0.6 two; far more noise hits the cap.
    longest = max([3, *(len(s) for s in added.values())])  # the pilot's three, or more
    assert {0.1: 3, 0.4: 3, 0.6: 5, 3.0: MOST}[spread] == longest


def test_a_noisy_row_gets_seeds_the_quiet_rows_do_not():
    """Only the claims that read the noisy row ask for more seeds, and only on their rows."""
    from ssl_bench.seeds_for_power import MOST, missing_runs, more_seeds

    added = more_seeds(_report(0.1, without_spread=3.0), [0, 1, 2])
    more = {cell: seeds for cell, seeds in added.items() if len(seeds) > 3}
    assert more and all("without" in row for _, row in more)
    assert all(seeds == list(range(MOST)) for seeds in more.values())
    (cell,) = more
    runs = missing_runs(more, {cell: {0, 1, 2, 3}}, row_order=[cell[1]])
    assert runs == [(seed, cell[0], [cell[1]]) for seed in range(4, MOST)]  # seed by seed, none it has


def test_a_power_pass_cut_short_is_finished_on_the_rows_it_had_not_reached():
    """Killed after seed 3 of some rows, the grid's seeds read 0-3: the rows still at three
    seeds that a claim powers at four get their fourth, not nothing."""
    from ssl_bench.seeds_for_power import missing_runs, more_seeds

    rep = _report(0.6)
    added = more_seeds(rep, [0, 1, 2])
    (first, *rest) = sorted(cell for cell, seeds in added.items() if len(seeds) == 5)
    assert rest  # the claim compares several rows
    cut_short = more_seeds(rep, [0, 1, 2, 3])
    done = {cell: {0, 1, 2} for cell in added} | {first: {0, 1, 2, 3}}
    runs = missing_runs(cut_short, done, row_order=sorted({row for _, row in added}))
    assert (3, rest[0][0]) in {(seed, method) for seed, method, _ in runs}
    assert all(seed != 3 or first[1] not in rows or method != first[0] for seed, method, rows in runs)


def test_missing_runs_go_seed_by_seed_in_the_grid_s_row_order():
    from ssl_bench.seeds_for_power import missing_runs

    wanted = {("m", "b"): [0, 1, 2, 3, 4], ("m", "a"): [0, 1, 2, 3], ("k", "a"): [0, 1, 2, 3]}
    done = {("m", "a"): {0, 1, 2}, ("m", "b"): {0, 1, 2, 3}, ("k", "a"): {0, 1, 2}}
    assert missing_runs(wanted, done, row_order=["a", "b"]) == [(3, "k", ["a"]), (3, "m", ["a"]), (4, "m", ["b"])]


def test_a_difference_of_two_drops_is_powered_at_its_four_means():
    """A claim comparing two methods' drops reads four means: its standard error is
    s·√(4/n), so it is powered as a comparison at sd s·√2, and the power computed there
    is what the real verdict code does (by simulation)."""
    sd, n, margin, effect = 0.5, 6, 2.0, 1.0
    cell = Stat("x", 0.0, sd, n)
    drop = difference("d", cell, cell)
    assert comparison_sd(drop, drop) == pytest.approx(sd * math.sqrt(2))
    assert comparison_sd(cell, cell) == pytest.approx(sd)
    rng, hits = np.random.default_rng(5), 0
    for _ in range(TRIALS):
        x = [rng.normal(0.0, sd, n) for _ in range(4)]
        s = [Stat(str(k), float(v.mean()), float(v.std(ddof=1)), n) for k, v in enumerate(x)]
        a = difference("a", s[0], s[1])
        a = Stat("a", a.mean + margin + effect, a.std, a.n, None, a.terms)
        hits += compare("c", a, difference("b", s[2], s[3]), margin, "above").outcome == HOLDS
    want = power(n, sd * math.sqrt(2), effect)
    assert abs(hits / TRIALS - want) <= 4 * math.sqrt(want * (1 - want) / TRIALS) + 0.03
    assert want < power(n, sd, effect) - 0.2  # powered at s, as if two means, it would promise far more


def test_a_claim_on_a_noisy_row_is_powered_at_that_row_not_the_pooled_noise():
    """Pooling over rows hides a noisy one: the claims that read it need more seeds."""
    quiet, noisy = Stat("q", 0.0, 0.2, 3), Stat("n", 0.0, 1.2, 3)
    v_quiet = compare("c", quiet, quiet, 1.0, "above")
    v_noisy = compare("c", noisy, quiet, 1.0, "above")
    assert v_noisy.noise == pytest.approx(math.sqrt((1.2**2 + 0.2**2) / 2))
    assert (
        seeds_needed(v_noisy.noise)
        > seeds_needed(pooled_sd([0.2, 0.2, 0.2, 1.2], [3] * 4))
        > seeds_needed(v_quiet.noise)
    )


def test_a_report_of_the_seeds_found_expects_power_seeds_only_of_the_rows_that_ran_them():
    """The power pass runs seeds 3 to 7 on the rows a claim compares; the other rows are not
    missing them. The first three seeds are expected of every row, so a pilot run that has
    not finished still shows as missing."""
    from pathlib import Path

    from ssl_bench.ablation import expand, get_ablation
    from ssl_bench.cli.grid import _expected

    points = expand(get_ablation("simsiam_heads_bn"), preset="cpu", seeds=list(range(8)))
    noisy = "(a) no BN"
    unfinished = (2, "(d) BN on every layer, the predictor's output too")
    ran = [p for p in points if p.seed < 3 and (p.seed, p.row) != unfinished]
    ran += [p for p in points if p.seed >= 3 and p.row == noisy]
    records = {Path("out", p.run_id, "record.json"): {"status": "done"} for p in ran}
    kept = {(p.row, p.seed) for p in _expected(points, records)}
    rows = {p.row for p in points}
    assert kept == {(r, s) for r in rows for s in range(3)} | {(noisy, s) for s in range(3, 8)}
