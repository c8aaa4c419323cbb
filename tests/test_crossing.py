"""Where the BYOL and SimSiam papers' claims meet, the results index puts both verdicts side
by side and says which paper the runs side with."""

from test_claims import paper_entries, perturb
from test_simsiam_claims import entries as simsiam_entries

from ssl_bench.ablation import get_ablation
from ssl_bench.report import build_report
from ssl_bench.report.crossing import crossing_markdown


def _verdicts(byol_change=None) -> dict:
    tau, stop = get_ablation("tau"), get_ablation("simsiam_stop_gradient")
    return {
        "tau": build_report(tau, paper_entries("tau", byol_change), baseline=tau.baseline("paper")).verdicts,
        "simsiam_stop_gradient": build_report(
            stop, simsiam_entries(stop.name), baseline=stop.baseline("paper")
        ).verdicts,
    }


def _row(lines: list[str], topic: str) -> list[str]:
    (line,) = [x for x in lines if x.startswith(f"| {topic} |")]
    return [c.strip() for c in line.strip("|").split("|")]


def test_each_papers_own_numbers_side_with_that_paper_so_together_they_disagree():
    row = _row(crossing_markdown(_verdicts()), "a stop-gradient target without a moving average")
    assert row[1].startswith("collapses: 0.3 %") and row[2].startswith("does not collapse: 67.7")
    assert (
        row[3].startswith("holds: ") and row[4].startswith("holds: ") and row[5] == "the runs disagree with each other"
    )
    # each verdict beside the numbers it read: trained against the random-init encoder, with the interval
    assert "vs random-init encoder 1.4" in row[3] and "interval [" in row[3] and "67.7" in row[4]


def test_runs_where_byols_tau_zero_trains_side_with_simsiam():
    # tau = 0 trained like the EMA rows, projections spread: BYOL's collapse claim does not hold.
    lines = crossing_markdown(_verdicts(perturb("0 (stop-gradient of online)", 70.0)))
    row = _row(lines, "a stop-gradient target without a moving average")
    assert row[3].startswith("does not hold: ") and "trained 70.0" in row[3] and row[5] == "SimSiam"
    assert lines[0] == "## Where the two papers meet"


def test_no_section_without_either_papers_report():
    assert crossing_markdown({}) == []
