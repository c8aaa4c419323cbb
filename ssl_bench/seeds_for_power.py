"""The runs a grid of the claims sweep still needs: for each claim, the seeds at which it
reaches 80 % power at the seed noise of the rows it compares (the report's "seeds for
80 % power"), on those rows, beyond the seeds they have.

    python -m ssl_bench.seeds_for_power OUT "--method byol --ablation tau"

prints the runs to add, one line per seed and method: the seed, the method and the rows
that need it, tab-separated (nothing when the grid has enough), never more than MOST seeds
a row in all. A noisy row that one claim reads adds no seeds to the rows no such claim
reads. The sweep runs three seeds a grid first, then asks this once per grid: an internal
pilot (Wittes & Brittain, Stat. Med. 1990), where the noise is re-estimated from the
spread of each row over its own seeds, never from the differences between rows that the
claims test, so the re-estimate does not look at the outcome it powers.
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


def seeds_to_add(out: Path, grid: str, preset: str = "cpu", most: int = MOST) -> list[tuple[int, str, list[str]]]:
    """The runs the grid's claims still need for the power target, as (seed, method, rows),
    seed by seed; none while fewer than two seeds have finished, as no noise is measured."""
    ablation, methods = parse_grid(grid)
    seeds = seeds_found(out / ablation.name)
    if len(seeds) < 2:
        return []
    points = expand(ablation, methods=methods, preset=preset, seeds=seeds)
    joined = join_records(points, load_records(out / ablation.name))
    rep = build_report(ablation, joined.entries, baseline=ablation.baseline(preset), preset=preset)
    done: dict[tuple[str, str], set[int]] = {}
    for e in joined.entries:
        if e.record and e.record.get("status") == "done":
            done.setdefault((e.labels["method"], e.labels["row"]), set()).add(int(e.labels["seed"]))
    return missing_runs(more_seeds(rep, seeds, most), done, row_order=[r.label for r in ablation.rows_at(preset)])


def more_seeds(rep: Report, seeds: Sequence[int], most: int = MOST) -> dict[tuple[str, str], list[int]]:
    """The seeds each (method, row) cell needs: for every claim on the report's metric, the
    seeds at which it reaches the power target at the noise of the rows it compares (at most
    `most`), given to every cell it reads; a cell read by several claims gets the most. The
    seeds are the grid's own, then the next ones: every cell a claim reads gets its whole
    list, since a power pass cut short leaves the grid's seeds (a fourth seed on some rows)
    ahead of the seeds each cell has. Cells no claim on the metric reads get none."""
    on_metric = [v for v in rep.verdicts if v.testable and v.metric == rep.metric_name]
    if rep.seed_sd is None or not on_metric:
        return {}  # no noise measured, or no claim reads the metric whose noise it is
    want: dict[tuple[str, str], int] = {}
    for v in on_metric:
        # A claim that needs more than `most` seeds (None) gets `most`: the cap, not the target.
        n = min(rep.seeds_needed(v, most=most) or most, most)
        for cell in v.cells:
            want[cell] = max(want.get(cell, 0), n)
    ladder = sorted(seeds) + list(range(max(seeds) + 1, max(seeds) + 1 + most))
    return {cell: ladder[:n] for cell, n in want.items()}


def missing_runs(
    wanted: dict[tuple[str, str], list[int]], done: dict[tuple[str, str], set[int]], row_order: Sequence[str]
) -> list[tuple[int, str, list[str]]]:
    """(seed, method, rows) for every wanted seed a cell has not finished: seed-major, so an
    interrupted pass leaves every claim's rows at the same seeds as far as it went."""
    todo: dict[tuple[int, str], list[str]] = {}
    for (method, row), wanted_seeds in wanted.items():
        for seed in wanted_seeds:
            if seed not in done.get((method, row), set()):
                todo.setdefault((seed, method), []).append(row)
    rank = {r: k for k, r in enumerate(row_order)}
    return [
        (seed, method, sorted(rows, key=lambda r: rank.get(r, len(rank))))
        for (seed, method), rows in sorted(todo.items())
    ]


def main(argv: list[str]) -> int:
    """Print one line a run group: the seed, the method and the rows, tab-separated."""
    out, grid = Path(argv[0]), argv[1]
    for seed, method, rows in seeds_to_add(out, grid):
        print("\t".join([str(seed), method, *rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
