"""`ssl-bench records DIR [--format csv|parquet] [--to FILE]`: every run record under DIR as
one table, one row per run, for pandas."""

from __future__ import annotations

import argparse
from pathlib import Path

from ssl_bench.cli.common import BadInput, check_writable

FORMATS = ("csv", "parquet")


def register(sub: argparse._SubParsersAction) -> None:
    rc = sub.add_parser(
        "records",
        help="every run record under a directory as one table (csv or parquet), one row per run",
        description="Write one row per run record under DIR (grids and single runs, any depth): labels, "
        "config fields, metrics, random-init and pixel scores, cost and provenance as dotted columns "
        "(config.train.batch_size, metrics.linear_top1). Curves stay in the records.",
    )
    rc.add_argument("runs", metavar="DIR", help="a --out directory, or any directory holding run records")
    rc.add_argument("--format", default="csv", help="csv (default) or parquet (needs pyarrow)")
    rc.add_argument("--to", default=None, metavar="FILE", help="where to write (default: DIR/records.<format>)")
    rc.set_defaults(func=cmd_records)


def cmd_records(args: argparse.Namespace) -> int:
    from ssl_bench.records import atomic_write
    from ssl_bench.records_table import records_frame

    root = Path(args.runs)
    if not root.is_dir():
        raise BadInput(f"records {args.runs}: no such directory")
    if args.format not in FORMATS:
        raise BadInput(f"--format {args.format!r}: choose csv or parquet")
    if args.format == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise BadInput("--format parquet needs pyarrow: pip install pyarrow (or use --format csv)") from None
    target = Path(args.to) if args.to else root / f"records.{args.format}"
    check_writable(target.parent, "--to")
    frame = records_frame(root)
    if args.format == "csv":
        atomic_write(target, lambda f: frame.to_csv(f, index=False))
    else:
        atomic_write(target, lambda f: frame.to_parquet(f, index=False), mode="wb")
    print(f"{len(frame)} run(s) under {root} written to {target}")
    return 0
