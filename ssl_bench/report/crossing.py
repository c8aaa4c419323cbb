"""Where the BYOL and SimSiam papers' claims meet, side by side in the results index.

BYOL reports that its network without a moving-average target (τ = 0: the online network
with stop-gradient) collapses, 0.3 % (Table 5a); SimSiam trains that point, a predictor
and a stop-gradient target with no moving average, to 67.7 % and says the momentum
encoder "is not necessary for preventing collapsing" (§6.2). Both papers say that without
the predictor the network collapses. The same method space runs both, so one set of runs
can say which paper they agree with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ssl_bench.verdicts import FAILS, HOLDS, Verdict


@dataclass(frozen=True)
class Side:
    ablation: str
    claim: str  # the start of the claim's text in that ablation's verdicts
    paper: str  # what the paper printed


@dataclass(frozen=True)
class Crossing:
    topic: str
    byol: Side
    simsiam: Side
    # The reading under which our runs side with each paper: BYOL's claim holding, or SimSiam's.
    contradict: bool


CROSSINGS = (
    Crossing(
        "a stop-gradient target without a moving average",
        Side("tau", "tau = 0 (stop-gradient of online) collapses", "collapses: 0.3 % (Table 5a)"),
        Side(
            "simsiam_stop_gradient",
            "without a momentum encoder (stop-gradient alone), SimSiam does not collapse",
            "does not collapse: 67.7 ± 0.1 (Fig. 2, §6.2)",
        ),
        contradict=True,
    ),
    Crossing(
        "no predictor",
        Side("predictor", "without the predictor, beta = 0 collapses", "collapses: 0.2 % (Table 5b)"),
        Side("simsiam_predictor", "without the predictor, SimSiam collapses", "collapses: 0.1 % (Table 1a)"),
        contradict=False,
    ),
)


def _find(verdicts: dict[str, Sequence[Verdict]], side: Side) -> Verdict | None:
    return next((v for v in verdicts.get(side.ablation, ()) if v.claim.startswith(side.claim)), None)


def _ours(v: Verdict | None) -> str:
    """Our verdict on one side's claim, with the numbers it read."""
    if v is None:
        return "no runs"
    return f"{v.reading}: {v.numbers}".replace("|", "/")


def _agrees(c: Crossing, byol: Verdict | None, simsiam: Verdict | None) -> str:
    """Which paper the runs side with, from the decided verdicts only."""
    b = byol.outcome if byol is not None and byol.decided else None
    s = simsiam.outcome if simsiam is not None and simsiam.decided else None
    if not c.contradict:
        if HOLDS in (b, s) and FAILS not in (b, s):
            return "both papers"
        if FAILS in (b, s) and HOLDS not in (b, s):
            return "neither paper"
        return "undecided" if b is None and s is None else "the runs disagree with each other"
    with_byol = b == HOLDS or s == FAILS
    with_simsiam = b == FAILS or s == HOLDS
    if with_simsiam and not with_byol:
        return "SimSiam"
    if with_byol and not with_simsiam:
        return "BYOL"
    return "undecided" if not (with_byol or with_simsiam) else "the runs disagree with each other"


def crossing_markdown(verdicts: dict[str, Sequence[Verdict]]) -> list[str]:
    """The section, from each ablation's verdicts (by ablation name); empty where neither
    paper's side has a report."""
    rows = []
    for c in CROSSINGS:
        if c.byol.ablation not in verdicts and c.simsiam.ablation not in verdicts:
            continue
        byol, simsiam = _find(verdicts, c.byol), _find(verdicts, c.simsiam)
        rows.append(
            f"| {c.topic} | {c.byol.paper} | {c.simsiam.paper} | {_ours(byol)} | {_ours(simsiam)} "
            f"| {_agrees(c, byol, simsiam)} |"
        )
    if not rows:
        return []
    return [
        "## Where the two papers meet",
        "",
        "The BYOL paper reports that its network without a moving-average target collapses; the SimSiam paper "
        "trains the same point of the method space without collapse. Both report that the network without its "
        "predictor collapses. Our verdicts on each side's claim with the numbers they read, and which paper the "
        "runs side with (decided verdicts only):",
        "",
        "| where they meet | BYOL paper | SimSiam paper | ours on BYOL's claim | ours on SimSiam's claim | the runs "
        "side with |",
        "|---|---|---|---|---|---|",
        *rows,
    ]
