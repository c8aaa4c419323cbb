"""`ssl-bench export RUN_DIR [--to DIR]`: a done run's encoder as `model.safetensors` and
`encoder.json`, loadable with `ssl_bench.load_encoder` (or into timm/torchvision)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ssl_bench.cli.common import BadInput, check_writable


def register(sub: argparse._SubParsersAction) -> None:
    ex = sub.add_parser(
        "export",
        help="write a done run's encoder as model.safetensors plus encoder.json",
        description="Write the encoder of the done run in RUN_DIR as model.safetensors and encoder.json "
        "(backbone, stem, input channels, image size, normalisation mean/std, run id, record path). "
        "Load it with ssl_bench.load_encoder(DIR).",
    )
    ex.add_argument("run_dir", metavar="RUN_DIR", help="a run's directory under --out (holding record.json)")
    ex.add_argument("--to", default=None, metavar="DIR", help="where to write (default: RUN_DIR/export)")
    ex.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from ssl_bench.export import export_run

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        raise BadInput(f"export {args.run_dir}: no such directory")
    if args.to is not None:
        check_writable(Path(args.to), "--to")
    out = export_run(run_dir, args.to)
    print(f"encoder of {run_dir} written to {out} (model.safetensors, encoder.json)")
    return 0
