"""`ssl-bench status` and `ssl-bench report`: what a grid holds, and its tables, plots and
verdicts beside the paper's numbers (with `--ablation all`, the results index)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ssl_bench.cli.common import (
    BadInput,
    ablations_of,
    add_grid_selection,
    check_every_grid,
    check_writable,
    grid_from,
    not_here,
)

if TYPE_CHECKING:
    from ssl_bench.ablation import Point


def register(sub: argparse._SubParsersAction) -> None:
    st = sub.add_parser(
        "status",
        help="what an ablation grid has: done, running, failed (with reason), missing; "
        "without --ablation, every grid and run under --out",
    )
    st.add_argument(
        "--ablation",
        default=None,
        help="ablation name, or all (see: ssl-bench list ablations); none: every run under --out, by folder",
    )
    add_grid_selection(st)
    st.add_argument("--out", default="runs", help="where the run records are (run's --out; default runs)")
    st.set_defaults(func=cmd_status)

    rp = sub.add_parser(
        "report",
        help="tables, plots and verdicts of an ablation beside the paper's numbers",
        description="Reads the records of an ablation grid (same selection options as run/status) "
        "and writes <out>/<ablation>/<ablation>.{md,csv,tex,png,svg}; prints the table and the "
        "verdicts on the paper's claims.",
    )
    rp.add_argument("--ablation", required=True, help="ablation name, or all")
    add_grid_selection(rp)
    rp.add_argument("--runs", default="runs", help="where the run records are (run's --out; default runs)")
    rp.add_argument("--out", default="reports", help="where to write tables and plots (default reports)")
    rp.add_argument("--format", default="md,csv,tex,png,svg", help="comma-separated: md, csv, tex, png, svg")
    rp.set_defaults(func=cmd_report)


def cmd_status(args: argparse.Namespace) -> int:
    from ssl_bench.sweep import dump_grid, grid_status, summarize

    if args.ablation is None:
        return _status_of_out(Path(args.out))
    if args.ablation == "all":
        names = ablations_of(args.paper)
        check_every_grid(args, names)
        for name in names:
            cmd_status(argparse.Namespace(**{**vars(args), "ablation": name, "paper": None}))
        return 0
    ablation, preset, points = grid_from(args)
    if not_here(ablation, preset):
        print(not_here(ablation, preset))
        return 0
    statuses = grid_status(Path(args.out), points)
    print(f"{ablation.name}, preset {preset}: {len(points)} runs: {summarize(statuses)}")
    print(dump_grid(statuses))
    return 0


def _status_of_out(out: Path) -> int:
    """Every grid folder and single run under a --out, with counts, and what is not done."""
    from ssl_bench.sweep import count_states, out_status

    if not out.is_dir():
        raise BadInput(f"--out {out}: no such directory")
    found = out_status(out)
    if not found:
        print(f"{out}: no runs")
    for grid, runs in found.items():
        print(f"{grid}: {len(runs)} runs: {count_states([state for _, state, _ in runs])}")
        for run_id, state, detail in runs:
            if state != "done":
                print(f"  {run_id}  {state}" + (f": {detail}" if detail else ""))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ssl_bench.ablation import resolve_ablation
    from ssl_bench.records import load_records
    from ssl_bench.report import build_report, to_markdown, write_report
    from ssl_bench.report.frame import join_records

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in ("md", "csv", "tex", "png", "svg")]
    if bad or not formats:
        raise BadInput(f"--format {args.format!r}: choose from md, csv, tex, png, svg (comma-separated)")
    write_index = args.ablation == "all"
    if write_index:
        names = ablations_of(args.paper)
    else:
        names = [resolve_ablation(args.ablation, args.paper).name]
    # The flags a grid reads are checked before the folders, so a bad value is named first.
    user_seeds = None if args.seeds == "found" else args.seeds
    check_every_grid(argparse.Namespace(**{**vars(args), "seeds": user_seeds}), names)
    if not Path(args.runs).is_dir():
        raise BadInput(
            f"--runs {args.runs}: no such directory (give the --out that ssl-bench run wrote the records to)"
        )
    check_writable(Path(args.out), "--out")
    done_reports = []
    for name in names:
        # Each grid read with the user's flags, its full name (so no --paper) and, with
        # --seeds found, the seeds its records have; the user's args stay as given.
        seeds = _seeds_found(Path(args.runs) / name) if args.seeds == "found" else args.seeds
        ablation, preset, points = grid_from(
            argparse.Namespace(**{**vars(args), "ablation": name, "paper": None, "seeds": seeds})
        )
        records = load_records(Path(args.runs) / name)
        if args.seeds == "found":
            points = _expected(points, records)
        for rec in records.values():
            if rec["status"] == "corrupt":
                print(f"ssl-bench: {rec['error']}", file=sys.stderr)
        joined = join_records(points, records)
        unrun = not any(e.record for e in joined.entries + joined.stale)
        if len(names) > 1 and unrun and not not_here(ablation, preset):
            print(f"{name}: no records under {Path(args.runs) / name}; skipped")
            continue
        if joined.stale:
            print(
                f"{name}: {len(joined.stale)} record(s) of the selected rows whose config is not today's grid "
                "(a default changed, or another --set): shown as 'stale record'"
            )
        if joined.outside:
            print(f"{name}: {joined.outside} other record(s) under {Path(args.runs) / name} are outside this selection")
        rep = build_report(ablation, joined.entries + joined.stale, baseline=ablation.baseline(preset), preset=preset)
        done_reports.append((rep, preset))
        written = write_report(rep, args.out, formats)
        print(f"## {name}: {ablation.title}\nours: {rep.scale}; {rep.cost}\n")
        print(to_markdown(rep.table))
        print()
        for v in rep.verdicts:
            print(v.line().replace("**", ""))
        print("\nwrote " + ", ".join(str(w) for w in written) + "\n")
    if write_index:
        _write_index(args, done_reports)
    return 0


def _expected(points: list[Point], records: dict[Path, dict]) -> list[Point]:
    """The grid's first PILOT_SEEDS seeds are expected of every row; a later seed only of
    the rows that have a record at it: the claims sweep's power pass adds seeds to the rows
    a claim compares, so another row without them is not missing them."""
    from ssl_bench.power import PILOT_SEEDS

    pilot = sorted({p.seed for p in points})[:PILOT_SEEDS]
    have = {path.parent.name for path in records}  # a run's folder is its run id
    return [p for p in points if p.seed in pilot or p.run_id in have]


def _seeds_found(grid_dir: Path) -> str | None:
    """The seeds of the records under a grid's directory, as --seeds takes them (None: none)."""
    import json

    from ssl_bench.records import RECORD_NAME

    seeds = set()
    for path in grid_dir.glob(f"*/{RECORD_NAME}"):
        try:
            seeds.add(int(json.loads(path.read_text())["config"]["seed"]))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # an unreadable record is reported as such by the grid, not here
    return ",".join(str(s) for s in sorted(seeds)) or None


def _write_index(args: argparse.Namespace, reports: list) -> None:
    """With --ablation all: <out>/README.md embedding every table, plus the single-run
    records found in <out>/cpu-default/."""
    import json

    from ssl_bench.records import atomic_write
    from ssl_bench.report import index_markdown

    singles = []
    for path in sorted(Path(args.out, "cpu-default").glob("*.json")):
        rec = json.loads(path.read_text())
        if rec.get("status") == "done":
            singles.append((rec, path.name))
    text = index_markdown(reports, singles, args.runs, args.out)
    atomic_write(Path(args.out) / "README.md", lambda f: f.write(text))
    print(f"wrote {Path(args.out) / 'README.md'}")
