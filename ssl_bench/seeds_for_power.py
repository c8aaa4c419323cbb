"""The seeds a grid of the claims sweep still needs: the most any of its claims needs for
80 % power at the seed noise its finished runs measured (the report's "seeds for 80 %
power"), beyond the seeds it has.

    python -m ssl_bench.seeds_for_power OUT "--method byol --ablation tau"

prints the seeds to add, comma-separated (nothing when the grid has enough), never more
than MOST in all. The sweep runs three seeds a grid first, then asks this once per grid:
an internal pilot (Wittes & Brittain, Stat. Med. 1990), where the noise is re-estimated
from the spread of each row over its own seeds, never from the differences between rows
that the claims test, so the re-estimate does not look at the outcome it powers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ssl_bench.ablation import expand
from ssl_bench.one_machine import parse_grid
from ssl_bench.records import RECORD_NAME, load_records
from ssl_bench.report import Report, build_report
from ssl_bench.report.frame import join_records

MOST = 8  # seeds per row at most: at 8 min a run, a grid of 4 rows at 8 seeds is over 4 h


def seeds_found(grid_dir: Path) -> list[int]:
    """The seeds of the finished records under a grid's folder."""
    seeds = set()
    for path in grid_dir.glob(f"*/{RECORD_NAME}"):
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # a corrupt record is the report's to show
        if rec.get("status") == "done":
            seeds.add(int(rec["labels"]["seed"]))
    return sorted(seeds)


def seeds_to_add(out: Path, grid: str, preset: str = "cpu", most: int = MOST) -> list[int]:
    """The seeds after the grid's own that its claims need for the power target (at most
    `most` in all); none while fewer than two seeds have finished, as no noise is measured."""
    ablation, methods = parse_grid(grid)
    seeds = seeds_found(out / ablation.name)
    if len(seeds) < 2:
        return []
    points = expand(ablation, methods=methods, preset=preset, seeds=seeds)
    joined = join_records(points, load_records(out / ablation.name))
    rep = build_report(ablation, joined.entries, baseline=ablation.baseline(preset), preset=preset)
    return more_seeds(rep, seeds, most)


def more_seeds(rep: Report, seeds: Sequence[int], most: int = MOST) -> list[int]:
    """The seeds after `seeds` that the report's claims on its metric need for the power
    target, each at the seed noise of the rows it compares (at most `most` seeds in all)."""
    on_metric = [v for v in rep.verdicts if v.testable and v.metric == rep.metric_name]
    if rep.seed_sd is None or not on_metric:
        return []  # no noise measured, or no claim reads the metric whose noise it is
    # A claim that needs more than `most` seeds (None) gets `most`: the cap, not the target.
    want = max(rep.seeds_needed(v, most=most) or most for v in on_metric)
    return list(range(max(seeds) + 1, max(seeds) + 1 + max(0, want - len(seeds))))


def main(argv: list[str]) -> int:
    out, grid = Path(argv[0]), argv[1]
    print(",".join(str(s) for s in seeds_to_add(out, grid)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
