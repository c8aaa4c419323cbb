"""`ssl-bench`: run methods, list what is registered.

Bad input (an unknown name, an out-of-range value, a missing directory) prints one
line naming the value and what is accepted, and exits with status 2 before anything
is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2
EXIT_FAILED = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + message
        print(f"ssl-bench: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


class BadInput(Exception):
    pass


def _add_grid_selection(p: argparse.ArgumentParser) -> None:
    """The options that pick an ablation grid; status and report take the ones run took."""
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


def _parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="ssl-bench",
        description="Compare self-supervised methods (BYOL, SimCLR, SimSiam, ...) as points of one "
        "β-weighted InfoNCE method space, and reproduce the BYOL paper's ablations.",
        epilog="Start with: ssl-bench run --method byol   (Fashion-MNIST shipped in the package, CPU, minutes)",
    )
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    r = sub.add_parser(
        "run",
        help="train and evaluate one or more methods",
        description="Train a method, then score its frozen encoder (weighted kNN, linear probe, "
        "collapse diagnostics) next to a randomly initialised encoder of the same architecture. "
        "Writes one JSON record per run under --out/<run id>/record.json. Re-running the same "
        "command resumes from the last checkpoint, or does nothing if the run is done.",
    )
    r.add_argument(
        "--method",
        default=None,
        help="method name, or a comma-separated list (see: ssl-bench list methods); default byol for one run, "
        "the paper's methods for an ablation",
    )
    r.add_argument(
        "--preset",
        default=None,
        help="scale preset: cpu (default for fashion-mnist), cifar10 (default for cifar10/100), "
        "paper, smoke, published (see: ssl-bench list presets)",
    )
    r.add_argument("--dataset", default=None, help="dataset name (see: ssl-bench list datasets); default fashion-mnist")
    r.add_argument("--data-dir", default=None, help="where dataset files are (required except for fashion-mnist)")
    r.add_argument(
        "--backbone", default=None, help="convnet, a torchvision ResNet name (resnet18, resnet50), or timm/<name>"
    )
    r.add_argument("--epochs", type=int, default=None, help="training epochs (default: the preset's)")
    r.add_argument(
        "--batch-size", type=int, default=None, help="images per optimizer update; lr = base_lr × batch / 256"
    )
    r.add_argument("--seed", type=int, default=0, help="seed of initialisation, data order and augmentation")
    r.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config field by dotted key, e.g. --set method.tau_base=0.99 "
        "--set train.accumulate=4 --set aug.view2.solarize_p=0 (repeatable; see --print-config)",
    )
    r.add_argument("--out", default="runs", help="directory for run records and checkpoints (default: runs)")
    r.add_argument("--device", default="auto", help="auto (cuda if available), cpu, cuda or cuda:N")
    r.add_argument(
        "--resume",
        default=None,
        metavar="RUN_DIR",
        help="continue the run in RUN_DIR (a directory holding config.json) from its checkpoint",
    )
    r.add_argument(
        "--checkpoint-every",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="checkpoint this often within an epoch as well as after each epoch (default 300)",
    )
    r.add_argument("--print-config", action="store_true", help="print the resolved config as JSON and exit")
    a = r.add_argument_group(
        "ablations", "run a whole ablation grid: ssl-bench run --method byol --ablation batch_size"
    )
    a.add_argument("--ablation", default=None, help="ablation name (see: ssl-bench list ablations)")
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
    s_ = r.add_argument_group("slurm", "options of --launcher slurm (nothing cluster-specific is built in)")
    s_.add_argument("--partition", default=None)
    s_.add_argument("--time", type=int, default=60, metavar="MINUTES", help="time limit per run (default 60)")
    s_.add_argument("--gpus-per-run", type=int, default=0)
    s_.add_argument("--cpus-per-run", type=int, default=None)
    s_.add_argument("--mem", type=float, default=None, metavar="GB")
    s_.add_argument("--array-parallelism", type=int, default=256, help="at most this many tasks at once")
    s_.add_argument("--account", default=None)
    s_.add_argument("--qos", default=None)
    s_.add_argument(
        "--sbatch",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other sbatch option, e.g. --sbatch constraint=a100 (repeatable)",
    )

    st = sub.add_parser("status", help="what an ablation grid has: done, running, failed (with reason), missing")
    st.add_argument("--ablation", required=True, help="ablation name (see: ssl-bench list ablations)")
    _add_grid_selection(st)
    st.add_argument("--out", default="runs", help="where the run records are (run's --out; default runs)")

    rp = sub.add_parser(
        "report",
        help="tables, plots and verdicts of an ablation beside the paper's numbers",
        description="Reads the records of an ablation grid (same selection options as run/status) "
        "and writes <out>/<ablation>/<ablation>.{md,csv,tex,png,svg}; prints the table and the "
        "verdicts on the paper's claims.",
    )
    rp.add_argument("--ablation", required=True, help="ablation name, or all")
    _add_grid_selection(rp)
    rp.add_argument("--runs", default="runs", help="where the run records are (run's --out; default runs)")
    rp.add_argument("--out", default="reports", help="where to write tables and plots (default reports)")
    rp.add_argument("--format", default="md,csv,tex,png,svg", help="comma-separated: md, csv, tex, png, svg")

    b = sub.add_parser(
        "bench",
        help="time the training step: images/s, step-time split, peak memory",
        description="Steady-state throughput of one method's training step on one device (the loop's own "
        "step, queued back to back), then each part timed behind a device sync: data+augmentation, "
        "forward+backward, optimizer, EMA. Speed switches are config fields: --set train.compile=default, "
        "--set train.channels_last=true, --set train.precision=bf16. Writes a record under --out/bench/.",
    )
    b.add_argument("--method", default="byol")
    b.add_argument("--preset", default=None)
    b.add_argument("--dataset", default=None)
    b.add_argument("--data-dir", default=None)
    b.add_argument("--backbone", default=None)
    b.add_argument("--batch-size", type=int, default=None)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    b.add_argument("--device", default="auto")
    b.add_argument("--steps", type=int, default=30, help="timed steps (default 30)")
    b.add_argument("--warmup", type=int, default=10, help="untimed steps first (default 10)")
    b.add_argument(
        "--each-switch",
        action="store_true",
        help="also time the step with each speed switch (precision, channels_last, compile) flipped in turn",
    )
    b.add_argument(
        "--compare",
        choices=["lightly"],
        default=None,
        help="also time lightly's own modules and transforms (same backbone, batch, precision) and print the ratio; "
        "needs: pip install 'ssl-bench[compare]'",
    )
    b.add_argument(
        "--workers", type=int, default=None, help="DataLoader workers for --compare (default: cores, max 16)"
    )
    b.add_argument("--out", default="runs")
    b.set_defaults(epochs=None, resume=None)

    bp = sub.add_parser(
        "bench-probe",
        help="time the torch linear probe on synthetic features (ImageNet's shape, or a fraction of it)",
        description="Time and peak memory of ssl_bench.probe (full-batch L-BFGS, 50 iterations, float32) on "
        "synthetic features: --fraction of ImageNet's 1,281,167 training images × 2048 dims × 1000 classes.",
    )
    bp.add_argument("--fraction", type=float, default=1.0, help="of ImageNet's training set (default 1)")
    bp.add_argument("--dim", type=int, default=2048)
    bp.add_argument("--classes", type=int, default=1000)
    bp.add_argument("--device", default="auto")

    dl = sub.add_parser("download", help="fetch a dataset with torchvision (needs network; loading never downloads)")
    dl.add_argument("dataset", help="fashion-mnist, cifar10, cifar100 or stl10")
    dl.add_argument("--data-dir", required=True, help="where to put it; pass the same --data-dir to run")

    ls = sub.add_parser("list", help="list registered methods, datasets, presets or backbones")
    ls.add_argument("what", choices=["methods", "datasets", "presets", "backbones", "ablations"])
    return p


def _validate_device(name: str) -> None:
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


def _configs(args: argparse.Namespace) -> list:
    from ssl_bench.backbones import check_backbone_name
    from ssl_bench.config import RunConfig, _coerce, build_config, parse_set_args, validate_run
    from ssl_bench.data import list_datasets

    if args.resume:
        path = Path(args.resume) / "config.json"
        if not path.is_file():
            raise BadInput(f"--resume {args.resume}: no config.json there (expected a run directory under --out)")
        cfg = _coerce(json.loads(path.read_text()), RunConfig, "config")
        validate_run(cfg)
        return [cfg]
    if args.dataset is not None and args.dataset not in list_datasets():
        raise BadInput(f"unknown dataset {args.dataset!r}; choose one of: {', '.join(list_datasets())}")
    if args.backbone is not None:
        check_backbone_name(args.backbone)
    if args.data_dir is not None and not Path(args.data_dir).expanduser().is_dir():
        raise BadInput(f"--data-dir {args.data_dir}: no such directory")
    overrides = parse_set_args(args.overrides)
    methods = [m.strip() for m in (args.method or "byol").split(",") if m.strip()]
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
            seed=args.seed,
            overrides=overrides,
        )
        for m in methods
    ]


def _summary(rec: dict, path: Path) -> str:
    m, r, c = rec["metrics"], rec["random_init"], rec["cost"]
    cfg = rec["config"]

    def pct(v: float | None) -> str:
        return "   –  " if v is None else f"{100 * v:5.1f}%"

    lines = [
        f"{cfg['method_name']} on {cfg['data']['dataset']} ({rec['data']['ssl_images']} images, {cfg['backbone']}, "
        f"{cfg['train']['epochs']} epochs, batch {cfg['train']['batch_size']}, seed {cfg['seed']}): "
        f"{c['train_wall_s'] / 60:.1f} min training at {c['images_per_s']:.0f} images/s on {c['device']}",
        f"  {'encoder':<13}{'kNN top-1':>10}{'linear top-1':>14}{'linear top-5':>14}{'z std':>8}{'eff. rank':>11}",
    ]
    for name, d in ((f"{cfg['method_name']}", m), ("random init", r)):
        lines.append(
            f"  {name:<13}{pct(d.get('knn_top1')):>10}{pct(d.get('linear_top1')):>14}"
            f"{pct(d.get('linear_top5')):>14}{d['z_std']:8.3f}{d['effective_rank']:11.1f}"
        )
    lines.append(f"  (z std is ≈ {m['z_std_ideal']:.3f} when projections are spread out, → 0 when collapsed)")
    lines.append(f"  kNN gain over random init: {100 * (m['knn_top1'] - r['knn_top1']):+.1f} points; record: {path}")
    return "\n".join(lines)


def cmd_run(args: argparse.Namespace) -> int:
    from ssl_bench.checkpoint import CheckpointError
    from ssl_bench.config import run_id, to_dict
    from ssl_bench.liveness import AlreadyRunning
    from ssl_bench.spec import DatasetError, SpecError
    from ssl_bench.train import RunEnv, record_path, run

    _validate_device(args.device)
    if args.ablation:
        return cmd_sweep(args)
    configs = _configs(args)
    if args.print_config:
        for cfg in configs:
            print(json.dumps({"run_id": run_id(cfg), **to_dict(cfg)}, indent=1))
        return 0
    out = Path(args.out)
    if args.resume:
        out = Path(args.resume).parent
    check_writable(out, "--out")
    status = 0
    for cfg in configs:
        env = RunEnv(out_dir=out, data_dir=args.data_dir, device=args.device, checkpoint_every_s=args.checkpoint_every)
        try:
            rec = run(cfg, env)
        except AlreadyRunning as err:
            print(f"ssl-bench: {err}", flush=True)
            continue
        except (DatasetError, SpecError, CheckpointError):
            raise
        except Exception as err:  # the traceback is in the failed record
            print(
                f"ssl-bench: run {run_id(cfg)} failed: {type(err).__name__}: {err} (record: {record_path(cfg, out)})",
                file=sys.stderr,
            )
            status = EXIT_FAILED
            continue
        print(_summary(rec, record_path(cfg, out)), flush=True)
    return status


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


def _grid(args: argparse.Namespace):
    from ssl_bench.ablation import expand, get_ablation
    from ssl_bench.config import default_preset, parse_set_args

    ablation = get_ablation(args.ablation)
    methods = [m.strip() for m in args.method.split(",") if m.strip()] if args.method else None
    try:
        seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else None
    except ValueError:
        raise BadInput(f"--seeds {args.seeds!r}: expected comma-separated integers such as 0,1,2") from None
    preset = args.preset or default_preset(getattr(args, "dataset", None))
    overrides = parse_set_args(args.overrides)
    if getattr(args, "dataset", None):
        overrides.setdefault("data.dataset", args.dataset)
    return (
        ablation,
        preset,
        expand(
            ablation,
            methods=methods,
            preset=preset,
            seeds=seeds,
            epochs=args.epochs,
            overrides=overrides,
            rows=args.rows,
        ),
    )


def cmd_sweep(args: argparse.Namespace) -> int:
    from ssl_bench.sweep import (
        RunTask,
        SlurmOptions,
        adopt_finished_twins,
        dump_grid,
        grid_status,
        launch_local,
        launch_slurm,
        summarize,
    )
    from ssl_bench.sweep import to_launch as pending

    if args.jobs < 1:
        raise BadInput(f"--jobs {args.jobs}: must be >= 1")
    if args.data_dir is not None and not Path(args.data_dir).expanduser().is_dir():
        raise BadInput(f"--data-dir {args.data_dir}: no such directory")
    sbatch = []
    for item in args.sbatch:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadInput(f"--sbatch {item!r}: expected KEY=VALUE, e.g. constraint=a100")
        sbatch.append((key.strip().lstrip("-"), value.strip()))
    ablation, preset, points = _grid(args)
    if not args.dry_run:
        check_writable(Path(args.out), "--out")
    statuses = grid_status(Path(args.out), points)
    if not args.dry_run:
        adopted = adopt_finished_twins(Path(args.out), pending(statuses))
        if adopted:
            print(f"{len(adopted)} runs already done under another ablation: their records were copied")
            statuses = grid_status(Path(args.out), points)
    todo = pending(statuses)
    print(f"{ablation.name} ({ablation.title}), preset {preset}: {len(points)} runs: {summarize(statuses)}")
    if args.dry_run:
        print(dump_grid(statuses))
        print(
            f"would launch {len(todo)} with --launcher {args.launcher}; records under {Path(args.out) / ablation.name}"
        )
        return 0
    if not todo:
        print("nothing to launch: every run is done or running")
        return 0
    wide = max(p.config.train.devices for p in todo)
    if args.launcher == "slurm" and args.gpus_per_run and wide > args.gpus_per_run:
        raise BadInput(f"--gpus-per-run {args.gpus_per_run} is fewer than train.devices={wide} of the grid")
    task = RunTask(str(args.out), args.data_dir, args.device, args.checkpoint_every)
    if args.launcher == "local":
        at_once = "one after another" if args.jobs == 1 else f"{args.jobs} at a time"
        print(f"launching {len(todo)} runs on this machine, {at_once}; an ETA follows from the first run's first steps")
        results = launch_local(todo, task, jobs=args.jobs, log=lambda m: print(m, flush=True))
        failed = [r for r in results if r["status"] not in ("done", "running")]
        print(f"{ablation.name}: {summarize(grid_status(Path(args.out), points))}")
        for r in failed:
            print(f"  failed: run {r['run_id']}: {r.get('error', 'see its record')}", file=sys.stderr)
        return EXIT_FAILED if failed else 0
    options = SlurmOptions(
        args.partition,
        args.time,
        args.gpus_per_run,
        args.cpus_per_run,
        args.mem,
        args.array_parallelism,
        args.account,
        args.qos,
        tuple(sbatch),
    )
    jobs = launch_slurm(todo, task, options, cluster="slurm" if args.launcher == "slurm" else "debug")
    if args.launcher == "debug":
        for job in jobs:
            job.result()
        print(f"{ablation.name}: {summarize(grid_status(Path(args.out), points))}")
        return 0
    array_id = jobs[0].job_id.split("_")[0] if jobs else "?"
    print(
        f"submitted job array {array_id} with {len(jobs)} tasks; follow with: ssl-bench status --ablation "
        f"{ablation.name}" + (f" --preset {preset}" if args.preset else "") + f" --out {args.out}"
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from ssl_bench.sweep import dump_grid, grid_status, summarize

    ablation, preset, points = _grid(args)
    statuses = grid_status(Path(args.out), points)
    print(f"{ablation.name}, preset {preset}: {len(points)} runs: {summarize(statuses)}")
    print(dump_grid(statuses))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from ssl_bench.ablation import list_ablations
    from ssl_bench.records import RECORD_NAME
    from ssl_bench.report import Entry, build_report, to_markdown, write_report
    from ssl_bench.sweep import run_dir

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in ("md", "csv", "tex", "png", "svg")]
    if bad or not formats:
        raise BadInput(f"--format {args.format!r}: choose from md, csv, tex, png, svg (comma-separated)")
    check_writable(Path(args.out), "--out")
    write_index = args.ablation == "all"
    names = list_ablations() if write_index else [args.ablation]
    seeds_arg = args.seeds
    done_reports = []
    for name in names:
        args.ablation = name
        if seeds_arg == "found":
            args.seeds = _seeds_found(Path(args.runs) / name)
        ablation, preset, points = _grid(args)
        entries = [Entry(p.labels, _record_or_corrupt(run_dir(Path(args.runs), p) / RECORD_NAME)) for p in points]
        if len(names) > 1 and not any(e.record for e in entries):
            print(f"{name}: no records under {Path(args.runs) / name}; skipped")
            continue
        rep = build_report(ablation, entries, baseline=ablation.baseline(preset))
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


def _record_or_corrupt(path: Path) -> dict | None:
    """A point's record for the report; a corrupt file shows as such, with its path."""
    from ssl_bench.records import CorruptRecord, load_record

    try:
        return load_record(path)
    except CorruptRecord as err:
        print(f"ssl-bench: {err}", file=sys.stderr)
        return {"status": "corrupt", "error": str(err)}


def _seeds_found(grid_dir: Path) -> str | None:
    """The seeds of the records under a grid's directory, as --seeds takes them (None: none)."""
    import json

    seeds = set()
    for path in grid_dir.glob("*/record.json"):
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


def cmd_bench(args: argparse.Namespace) -> int:
    import time

    from ssl_bench.bench import bench, format_line, switch_variants
    from ssl_bench.device import resolve_device
    from ssl_bench.records import write_json_atomic
    from ssl_bench.train import load_run_data

    _validate_device(args.device)
    if args.steps < 1 or args.warmup < 0:
        raise BadInput(f"--steps {args.steps} must be >= 1 and --warmup {args.warmup} >= 0")
    if args.workers is not None and args.workers < 0:
        raise BadInput(f"--workers {args.workers} must be >= 0")
    if "," in args.method:
        raise BadInput(f"--method {args.method!r}: bench takes one method")
    check_writable(Path(args.out), "--out")
    (cfg,) = _configs(args)
    if args.compare == "lightly":
        from ssl_bench.compare_lightly import check_comparable

        check_comparable(cfg)
    device = resolve_device(args.device)
    data = load_run_data(cfg, args.data_dir)
    variants = switch_variants(cfg, device) if args.each_switch else [("as configured", cfg)]
    print(
        f"{cfg.method_name}, {cfg.backbone}, batch {cfg.train.batch_size}, {cfg.data.dataset}, "
        f"{args.steps} timed steps after {args.warmup}, on {device}"
    )
    results = []
    for label, variant in variants:
        rec = bench(variant, args.device, steps=args.steps, warmup=args.warmup, data=data)
        rec["label"] = label
        results.append(rec)
        print(format_line(label, rec, results[0]["images_per_s"] if len(results) > 1 else None), flush=True)
    rec = {
        **results[0],
        "variants": [
            {k: r[k] for k in ("label", "switches", "images_per_s", "step_ms", "split_ms", "peak_memory_bytes")}
            for r in results
        ],
    }
    if args.compare == "lightly":
        from ssl_bench.compare_lightly import bench_lightly

        theirs = bench_lightly(cfg, device, data, args.steps, args.warmup, args.workers)
        theirs["ratio"] = rec["images_per_s"] / theirs["images_per_s"]
        rec["compare"] = theirs
        print(
            f"{'lightly ' + theirs['version']:<24} {theirs['images_per_s']:>9.0f} images/s  step "
            f"{theirs['step_ms']:.1f} ms ({theirs['workers']} DataLoader workers); ssl-bench / lightly = "
            f"{theirs['ratio']:.2f}x"
        )
    path = Path(args.out) / "bench" / f"{rec['run_id']}-{rec['device'].replace(':', '')}-{int(time.time())}.json"
    write_json_atomic(path, rec)
    print(f"record: {path}")
    return 0


def cmd_bench_probe(args: argparse.Namespace) -> int:
    from ssl_bench.device import device_name, resolve_device
    from ssl_bench.probe import bench_probe

    _validate_device(args.device)
    if not 0 < args.fraction <= 1 or args.dim < 1 or args.classes < 2:
        raise BadInput(
            f"--fraction {args.fraction} must be in (0, 1], --dim {args.dim} >= 1 and --classes {args.classes} >= 2"
        )
    device = resolve_device(args.device)
    samples = max(args.classes, round(1_281_167 * args.fraction))
    r = bench_probe(samples, args.dim, args.classes, device)
    gib = 2**30
    print(
        f"linear probe (torch, float32, 50 L-BFGS iterations) on {samples:,} × {args.dim} features, "
        f"{args.classes} classes, {device_name(device)}: {r['seconds']:.1f} s, peak memory "
        f"{r['peak_memory_bytes'] / gib:.2f} GiB (the features alone: {r['features_bytes'] / gib:.2f} GiB); "
        f"test top-1 {100 * r['top1']:.1f}% on synthetic classes"
    )
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from ssl_bench.data import download

    root = download(args.dataset, args.data_dir)
    print(f"{args.dataset} is in {root}; use: ssl-bench run --dataset {args.dataset} --data-dir {root}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "methods":
        from ssl_bench.registry import get_method, list_methods

        for name in list_methods():
            s = get_method(name)
            pred = f"predictor {s.predictor.hidden}->{s.predictor.out}" if s.predictor else "no predictor"
            tau = f" tau_base {s.tau_base}" if s.tau_base is not None else ""
            print(
                f"{name:<10} projector {s.projector.hidden}->{s.projector.out}, {pred}, target {s.target}{tau}, "
                f"beta {s.beta}, {s.optim.name} base lr {s.optim.base_lr:g}"
            )
    elif args.what == "datasets":
        from ssl_bench.data import list_datasets

        print("\n".join(list_datasets()))
    elif args.what == "presets":
        from ssl_bench.config import PRESETS

        for name in PRESETS.names():
            doc = (PRESETS._factories[name].__doc__ or "").strip().split("\n\n")[0]
            print(f"{name:<10} {' '.join(doc.split())}")
    elif args.what == "ablations":
        from ssl_bench.ablation import get_ablation, list_ablations

        for name in list_ablations():
            a = get_ablation(name)
            print(f"{name:<16} {a.title}; methods {','.join(a.methods)}; {a.source}")
    else:
        from ssl_bench.backbones import list_backbones

        print("\n".join(list_backbones()))
    return 0


def main(argv: list[str] | None = None) -> int:
    from ssl_bench.checkpoint import CheckpointError
    from ssl_bench.registry import UnknownNameError
    from ssl_bench.spec import DatasetError, SpecError

    args = _parser().parse_args(argv)
    try:
        return {
            "run": cmd_run,
            "list": cmd_list,
            "download": cmd_download,
            "status": cmd_status,
            "bench": cmd_bench,
            "bench-probe": cmd_bench_probe,
            "report": cmd_report,
        }[args.command](args)
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
