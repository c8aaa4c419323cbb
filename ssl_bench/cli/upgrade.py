"""`ssl-bench upgrade DIR`: rewrite the records under DIR to the current schema (their run
directories renamed to their new run ids), so sweeps find them done and reports read them."""

from __future__ import annotations

import argparse
from pathlib import Path

from ssl_bench.cli.common import BadInput


def register(sub: argparse._SubParsersAction) -> None:
    up = sub.add_parser("upgrade", help="upgrade the run records under a directory to the current schema")
    up.add_argument("runs", help="a --out directory (or any directory holding records)")
    up.set_defaults(func=cmd_upgrade)


def cmd_upgrade(args: argparse.Namespace) -> int:
    from ssl_bench.migrate import migrate_tree

    root = Path(args.runs)
    if not root.is_dir():
        raise BadInput(f"upgrade {args.runs}: no such directory")
    try:
        moved = migrate_tree(root)
    except FileExistsError as err:
        raise BadInput(str(err)) from None
    for old, new in moved:
        print(f"{old} -> {new}")
    print(f"{len(moved)} record(s) upgraded under {root}")
    return 0
