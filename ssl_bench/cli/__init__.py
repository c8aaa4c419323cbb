"""`ssl-bench`: run methods, list what is registered.

Bad input (an unknown name, an out-of-range value, a missing directory) prints one
line naming the value and what is accepted, and exits with status 2 before anything
is written.
"""

from __future__ import annotations

import sys

from ssl_bench.cli import bench, catalog, export, grid, records, run, upgrade
from ssl_bench.cli.common import EXIT_BAD_INPUT, BadInput, Parser, check_writable
from ssl_bench.cli.grid import _seeds_found

__all__ = ["EXIT_BAD_INPUT", "BadInput", "_seeds_found", "check_writable", "main"]


def parser() -> Parser:
    p = Parser(
        prog="ssl-bench",
        description="Compare self-supervised methods (BYOL, SimCLR, SimSiam, ...) as points of one "
        "β-weighted InfoNCE method space, and reproduce the BYOL paper's ablations.",
        epilog="Start with: ssl-bench run --method byol   (Fashion-MNIST shipped in the package, CPU, minutes)",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in (run, grid, bench, catalog, upgrade, export, records):
        command.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    from ssl_bench.checkpoint import CheckpointError
    from ssl_bench.registry import UnknownNameError
    from ssl_bench.spec import DatasetError, SpecError

    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (BadInput, CheckpointError, DatasetError, SpecError, UnknownNameError) as err:
        print(f"ssl-bench: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("ssl-bench: interrupted; re-run the same command to resume from the last checkpoint", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`ssl-bench status ... | head`): stop quietly, as other tools do.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
