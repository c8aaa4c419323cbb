"""Whether a sweep would add runs to grids whose finished runs ran on another machine.

Float sums differ between CPUs of one kind and between torch versions, so a verdict
compares runs from one machine (`verdicts.compare` flags the others). The claims sweep
asks this before it launches anything:

    python -m ssl_bench.one_machine OUT "--method byol --ablation tau" "--paper simsiam --ablation predictor" ...

It reads the finished records of each grid's points (every seed found under OUT) and
exits 1, naming both machines, when any ran on a CPU or torch version other than this one.
"""

from __future__ import annotations

import json
import shlex
import sys
from importlib import metadata
from pathlib import Path

from ssl_bench.ablation import Ablation, expand, resolve_ablation
from ssl_bench.records import RECORD_NAME, machine_of


def this_machine() -> str:
    """This machine's CPU as a record names it, and the installed torch."""
    import torch

    from ssl_bench.device import device_name

    return machine_of(
        {
            "cost": {"device_name": device_name(torch.device("cpu"))},
            "provenance": {"versions": {"torch": metadata.version("torch")}},
        }
    )


def _records(folder: Path) -> list[tuple[str, dict]]:
    out = []
    for path in folder.glob(f"*/{RECORD_NAME}"):
        try:
            out.append((path.parent.name, json.loads(path.read_text())))
        except (OSError, ValueError):
            continue  # a corrupt record is the report's to show; it ran nowhere that counts
    return out


def parse_grid(grid: str) -> tuple[Ablation, list[str] | None]:
    """(ablation, methods or None) of a grid given as `ssl-bench run` flags."""
    flags = shlex.split(grid)
    opts = dict(zip(flags[::2], flags[1::2], strict=True))
    methods = opts["--method"].split(",") if "--method" in opts else None
    return resolve_ablation(opts["--ablation"], opts.get("--paper")), methods


def grid_machines(out: Path, grid: str) -> set[str]:
    """The machines the finished runs of one grid (`ssl-bench run` flags) ran on."""
    ablation, methods = parse_grid(grid)
    found = _records(out / ablation.name)
    seeds = sorted({int(r["labels"]["seed"]) for _, r in found if "seed" in (r.get("labels") or {})})
    if not seeds:
        return set()
    ids = {p.run_id for p in expand(ablation, methods=methods, preset="cpu", seeds=seeds)}
    return {machine_of(r) for run_id, r in found if run_id in ids and r.get("status") == "done"}


def main(argv: list[str]) -> int:
    out, grids = Path(argv[0]), argv[1:]
    here = this_machine()
    for grid in grids:
        others = grid_machines(out, grid) - {here}
        if others:
            print(
                f"claims sweep: this machine is {here}, but finished runs of `{grid}` in {out} ran on "
                f"{'; '.join(sorted(others))}; run it there, or set MIXED_MACHINES=1 to mix machines",
                file=sys.stderr,
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
