"""The options of `ssl-bench run` that only a grid takes (with --ablation), and which of
them a command line set: a single run refuses them rather than ignore them."""

from __future__ import annotations

import argparse

from ssl_bench.cli.slurm_options import add_slurm_options


def add_grid_options(r: argparse.ArgumentParser) -> None:
    a = r.add_argument_group(
        "ablations", "run a whole ablation grid: ssl-bench run --method byol --ablation batch_size"
    )
    a.add_argument("--ablation", default=None, help="ablation name, or all (see: ssl-bench list ablations)")
    a.add_argument(
        "--paper",
        default=None,
        help="whose ablation --ablation names: byol (the default for its short names) or simsiam",
    )
    a.add_argument(
        "--row",
        dest="rows",
        action="append",
        default=None,
        metavar="LABEL",
        help="only this row of the grid (repeatable; see --dry-run for the labels)",
    )
    a.add_argument("--seeds", default=None, help="comma-separated seeds for the grid (default: the ablation's)")
    a.add_argument("--dry-run", action="store_true", help="show the grid, what is done, what would launch; run nothing")
    a.add_argument(
        "--launcher",
        default="local",
        choices=["local", "slurm", "debug"],
        help="local: this machine; slurm: one submitit job array; debug: submitit in-process",
    )
    a.add_argument("--jobs", type=int, default=1, help="local launcher: runs at once (cores are shared between them)")


def grid_flags_given(args: argparse.Namespace) -> list[str]:
    """The grid and SLURM options set away from their defaults: a single run would ignore
    them, and a user's flag is never silently dropped."""
    grid = argparse.ArgumentParser(add_help=False)
    add_grid_options(grid)
    add_slurm_options(grid)
    return [
        a.option_strings[0]
        for a in grid._actions  # argparse keeps no public list of a parser's options
        if a.dest != "ablation" and getattr(args, a.dest, a.default) != a.default
    ]
