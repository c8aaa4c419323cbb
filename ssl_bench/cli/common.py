"""What every command shares: exit codes, the one-line error, the option groups that pick
a config or a grid, and the checks that refuse bad input before anything runs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ssl_bench.ablation import Ablation, Point

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        print(f"ssl-bench: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


class BadInput(Exception):
    pass


def add_config_options(p: argparse.ArgumentParser, method_help: str, method_default: str | None = None) -> None:
    """The options that make a config (method, scale, data, backbone, seed, overrides)
    and pick its device: `run` and `bench` take the same ones."""
    p.add_argument("--method", default=method_default, help=method_help)
    p.add_argument(
        "--preset",
        default=None,
        help="scale preset: cpu (default for fashion-mnist), cifar10 (default for cifar10/100), "
        "paper, smoke, published (see: ssl-bench list presets)",
    )
    p.add_argument("--dataset", default=None, help="dataset name (see: ssl-bench list datasets); default fashion-mnist")
    p.add_argument("--data-dir", default=None, help="where dataset files are (required except for fashion-mnist)")
    p.add_argument(
        "--backbone", default=None, help="convnet, a torchvision ResNet name (resnet18, resnet50), or timm/<name>"
    )
    p.add_argument(
        "--batch-size", type=int, default=None, help="images per optimizer update; lr = base_lr × batch / 256"
    )
    p.add_argument(
        "--seed", type=int, default=None, help="seed of initialisation, data order and augmentation (default 0)"
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config field by dotted key, e.g. --set method.ema.tau_base=0.99 "
        "--set train.accumulate=4 --set aug.view2.solarize_p=0 (repeatable; see --print-config)",
    )
    p.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda or cuda:N")


def ablations_of(paper: str | None) -> list[str]:
    """`--ablation all`: every ablation of `paper`, or of every paper."""
    from ssl_bench.ablation import list_ablations, papers

    if paper is not None and paper not in papers():
        raise BadInput(f"--paper {paper!r}: choose one of: {', '.join(papers())}")
    return list_ablations(paper)


def add_grid_selection(p: argparse.ArgumentParser) -> None:
    """The options that pick an ablation grid; status and report take the ones run took."""
    p.add_argument(
        "--paper",
        default=None,
        help="whose ablation --ablation names: byol (the default for its short names) or simsiam",
    )
    p.add_argument("--method", default=None, help="comma-separated methods (default: the ablation's)")
    p.add_argument("--preset", default=None, help="scale preset the grid ran at (default cpu)")
    p.add_argument(
        "--seeds",
        default=None,
        help="comma-separated seeds (default: the ablation's); report also takes 'found': every seed with a record",
    )
    p.add_argument("--row", dest="rows", action="append", default=None, metavar="LABEL", help="only this row")
    p.add_argument("--epochs", type=int, default=None, help="the --epochs the grid ran with, if any")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="the --set overrides the grid ran with",
    )


def validate_device(name: str) -> None:
    import torch

    if name == "auto" or name == "cpu":
        return
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise BadInput(f"--device {name}: no CUDA device is available here; use --device cpu or auto")
        if ":" in name:
            idx = name.split(":", 1)[1]
            if not idx.isdigit() or int(idx) >= torch.cuda.device_count():
                raise BadInput(f"--device {name}: choose cuda:0..cuda:{torch.cuda.device_count() - 1}")
        return
    raise BadInput(f"--device {name!r}: choose auto, cpu, cuda or cuda:N")


def configs_from(args: argparse.Namespace) -> list:
    from ssl_bench.backbones import check_backbone_name
    from ssl_bench.config import build_config, config_from_dict, parse_set_args
    from ssl_bench.data import list_datasets
    from ssl_bench.migrate import upgrade_config
    from ssl_bench.records import CONFIG_NAME

    if args.resume:
        path = Path(args.resume) / CONFIG_NAME
        if not path.is_file():
            raise BadInput(f"--resume {args.resume}: no config.json there (expected a run directory under --out)")
        return [config_from_dict(upgrade_config(json.loads(path.read_text())))]
    if args.dataset is not None and args.dataset not in list_datasets():
        raise BadInput(f"unknown dataset {args.dataset!r}; choose one of: {', '.join(list_datasets())}")
    if args.backbone is not None:
        check_backbone_name(args.backbone)
    if args.data_dir is not None and not Path(args.data_dir).expanduser().is_dir():
        raise BadInput(f"--data-dir {args.data_dir}: no such directory")
    overrides = parse_set_args(args.overrides)
    methods = comma_list(args.method or "byol", "--method")
    if not methods:
        raise BadInput("--method is empty; see: ssl-bench list methods")
    return [
        build_config(
            m,
            preset=args.preset,
            dataset=args.dataset,
            backbone=args.backbone,
            epochs=args.epochs,
            batch_size=args.batch_size,
            seed=args.seed if args.seed is not None else 0,
            overrides=overrides,
        )
        for m in methods
    ]


def check_writable(path: Path, option: str) -> None:
    """Refuse an output directory that cannot be written, before anything runs: create it
    (and any missing parents) and a probe file in it, and remove whatever this created."""
    import os
    import tempfile

    path = Path(path).expanduser()
    created = []
    probe = path
    while not probe.exists():
        created.append(probe)
        probe = probe.parent
    try:
        if not probe.is_dir():
            raise NotADirectoryError(f"{probe} is not a directory")
        path.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path, prefix=".ssl-bench-write-test-")
        os.close(fd)
        os.unlink(name)
    except OSError as err:
        for d in created:  # deepest first: leave nothing behind
            try:
                d.rmdir()
            except OSError:
                pass
        reason = f"{err.strerror}: {err.filename}" if err.strerror and err.filename else (err.strerror or str(err))
        raise BadInput(f"{option} {path}: cannot write there ({reason}); choose a writable directory") from None
    for d in created:
        d.rmdir()  # made only to test; the run makes what it needs


def preset_of(args: argparse.Namespace) -> str:
    """The preset a command runs at: --preset, else the dataset's default."""
    from ssl_bench.config import default_preset

    return args.preset or default_preset(getattr(args, "dataset", None))


def not_here(ablation: Ablation, preset: str) -> str | None:
    """Why a grid runs none of its rows at `preset` (None where it runs some)."""
    why = ablation.not_at.get(preset)
    if why is None:
        return None
    elsewhere = ", ".join(p for p in ("cpu", "cifar10", "paper", "smoke") if p not in ablation.not_at)
    return (
        f"{ablation.name} runs none of its rows at the {preset} preset: {why}; "
        f"the claims read 'not testable at this scale' there (it runs at --preset {elsewhere})"
    )


def comma_list(value: str, flag: str) -> list[str]:
    """A comma-separated flag's items; one given twice is refused (it would run once)."""
    items = [x.strip() for x in value.split(",") if x.strip()]
    twice = sorted({x for x in items if items.count(x) > 1})
    if twice:
        raise BadInput(f"{flag} {value!r}: {', '.join(twice)} given twice; give each once")
    return items


def grid_from(args: argparse.Namespace) -> tuple[Ablation, str, list[Point]]:
    from ssl_bench.ablation import expand, resolve_ablation
    from ssl_bench.config import parse_set_args

    ablation = resolve_ablation(args.ablation, getattr(args, "paper", None))
    methods = comma_list(args.method, "--method") if args.method else None
    try:
        seeds = [int(x) for x in comma_list(args.seeds, "--seeds")] if args.seeds else None
    except ValueError:
        raise BadInput(f"--seeds {args.seeds!r}: expected comma-separated integers such as 0,1,2") from None
    seed = getattr(args, "seed", None)
    if seed is not None:
        if seeds is not None:
            raise BadInput(f"--seed {seed} and --seeds {args.seeds}: give one (a grid takes --seeds)")
        seeds = [seed]
    preset = preset_of(args)
    overrides = parse_set_args(args.overrides)
    # The shorthands beat the preset's and the grid's scale, as --set does (--set wins over both).
    if getattr(args, "dataset", None):
        overrides.setdefault("data.dataset", args.dataset)
    if getattr(args, "backbone", None):
        overrides.setdefault("backbone", args.backbone)
    return (
        ablation,
        preset,
        expand(
            ablation,
            methods=methods,
            preset=preset,
            seeds=seeds,
            epochs=args.epochs,
            batch_size=getattr(args, "batch_size", None),
            overrides=overrides,
            rows=args.rows,
        ),
    )


def check_every_grid(args: argparse.Namespace, names: list[str]) -> None:
    """Every grid of `names` expanded with the user's flags before any of them is run,
    reported or shown, so a flag one grid refuses stops the command before anything is
    trained or written, not part-way through the list. A bad flag is refused as it is on
    the first grid; only a refusal by a later grid says which of `--ablation all` it was."""
    from ssl_bench.spec import SpecError

    for name in names:
        try:
            grid_from(argparse.Namespace(**{**vars(args), "ablation": name, "paper": None}))
        except (SpecError, BadInput) as err:
            if name == names[0]:
                raise
            raise BadInput(
                f"--ablation all: {err} (nothing ran; pass the grids that take it one at a time with --ablation NAME)"
            ) from None
