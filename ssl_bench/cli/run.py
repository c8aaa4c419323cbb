"""`ssl-bench run`: one run, several methods, or a whole ablation grid (locally, or as a
SLURM job array)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from ssl_bench.cli.common import (
    EXIT_FAILED,
    BadInput,
    add_config_options,
    check_writable,
    configs_from,
    grid_from,
    validate_device,
)
from ssl_bench.cli.grid_options import add_grid_options, grid_flags_given
from ssl_bench.cli.slurm_options import add_slurm_options, set_devices_from_layout, slurm_options
from ssl_bench.cli.summary import run_summary


def register(sub: argparse._SubParsersAction) -> None:
    r = sub.add_parser(
        "run",
        help="train and evaluate one or more methods",
        description="Train a method, then score its frozen encoder (weighted kNN, linear probe, "
        "collapse diagnostics) next to a randomly initialised encoder of the same architecture. "
        "Writes one JSON record per run under --out/<run id>/record.json. Re-running the same "
        "command resumes from the last checkpoint, or does nothing if the run is done.",
    )
    add_config_options(
        r,
        method_help="method name, or a comma-separated list (see: ssl-bench list methods); default byol for one "
        "run, the paper's methods for an ablation",
    )
    r.add_argument("--epochs", type=int, default=None, help="training epochs (default: the preset's)")
    r.add_argument("--out", default="runs", help="directory for run records and checkpoints (default: runs)")
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
    r.add_argument(
        "--eval-dir",
        default=None,
        metavar="DIR",
        help="with --dataset imagefolder and a --data-dir of unlabelled images: class folders under DIR/train "
        "and DIR/val that score the encoder (kNN, linear probe); without it the run is not evaluated",
    )
    r.add_argument("--print-config", action="store_true", help="print the resolved config as JSON and exit")
    r.add_argument(
        "--init",
        default=None,
        metavar="WEIGHTS",
        help="start the backbone from these weights (continued pretraining): a .safetensors or torch "
        "state dict file, or timm/<name> or torchvision/<weights name> already in the local cache; "
        "the record scores the encoder against them",
    )
    r.add_argument(
        "--log",
        dest="log_to",
        action="append",
        default=[],
        metavar="SINK",
        help="also send what metrics.jsonl records to tensorboard, wandb (offline unless WANDB_MODE says) "
        "or mlflow (a local store unless MLFLOW_TRACKING_URI says); repeatable; needs that package",
    )
    add_grid_options(r)
    add_slurm_options(r)
    r.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    from ssl_bench.checkpoint import CheckpointError
    from ssl_bench.config import run_id, to_dict
    from ssl_bench.liveness import AlreadyRunning
    from ssl_bench.spec import DatasetError, SpecError
    from ssl_bench.tracking import check_sinks
    from ssl_bench.train import RunEnv, record_path, run

    validate_device(args.device)
    check_sinks(tuple(args.log_to))
    if args.eval_dir is not None and not Path(args.eval_dir).expanduser().is_dir():
        raise BadInput(f"--eval-dir {args.eval_dir}: no such directory")
    if args.eval_dir is not None and args.ablation:
        raise BadInput("--eval-dir is for a single run on an unlabelled folder, not with --ablation")
    if args.init is not None and args.ablation:
        raise BadInput("--init is for single runs (continued pretraining), not with --ablation")
    if args.ablation:
        return cmd_sweep(args)
    given = grid_flags_given(args)
    if given:
        raise BadInput(
            f"{', '.join(given)}: for a grid, with --ablation; a single run takes none of them "
            "(one seed is --seed; on SLURM, run the command inside your own sbatch script)"
        )
    configs = configs_from(args)
    if args.init is not None:
        import dataclasses

        from ssl_bench.init_weights import resolve_init

        init = resolve_init(args.init)  # read once: its digest is part of the run id
        configs = [dataclasses.replace(cfg, init=init) for cfg in configs]
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
        env = RunEnv(
            out_dir=out,
            data_dir=args.data_dir,
            eval_dir=args.eval_dir,
            device=args.device,
            checkpoint_every_s=args.checkpoint_every,
            log_to=tuple(args.log_to),
        )
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
        print(run_summary(rec, record_path(cfg, out)), flush=True)
    return status


def cmd_sweep(args: argparse.Namespace) -> int:
    if args.ablation == "all":
        # Every ablation of --paper (or of every paper), one grid after another.
        from ssl_bench.ablation import get_ablation
        from ssl_bench.cli.common import ablations_of, check_every_grid, not_here, preset_of

        names = ablations_of(args.paper)
        check_every_grid(args, names)
        status = 0
        for name in names:
            skip = not_here(get_ablation(name), preset_of(args))
            if skip:
                print(f"skipped: {skip}")
                continue
            status = max(status, cmd_sweep(argparse.Namespace(**{**vars(args), "ablation": name, "paper": None})))
        return status
    return _sweep_one(args)


def _sweep_one(args: argparse.Namespace) -> int:
    from ssl_bench.launch import RunTask
    from ssl_bench.sweep import adopt_finished_twins, dump_grid, grid_status, summarize
    from ssl_bench.sweep import to_launch as pending

    if args.jobs < 1:
        raise BadInput(f"--jobs {args.jobs}: must be >= 1")
    if args.data_dir is not None and not Path(args.data_dir).expanduser().is_dir():
        raise BadInput(f"--data-dir {args.data_dir}: no such directory")
    from ssl_bench.ablation import resolve_ablation
    from ssl_bench.cli.common import not_here, preset_of

    refused = not_here(resolve_ablation(args.ablation, args.paper), preset_of(args))
    if refused:
        raise BadInput(refused)
    options = slurm_options(args)
    set_devices_from_layout(args, options)
    ablation, preset, points = grid_from(args)
    if not args.dry_run:
        check_writable(Path(args.out), "--out")
    statuses = grid_status(Path(args.out), points)
    adopted = [] if args.dry_run else adopt_finished_twins(Path(args.out), pending(statuses))
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
    task = RunTask(
        str(args.out),
        args.data_dir,
        args.device,
        args.checkpoint_every,
        tasks=options.tasks,
        init_timeout_s=args.init_timeout,
        log_to=tuple(args.log_to),
    )
    if args.launcher == "local":
        return _launch_here(args, ablation.name, points, todo, task)
    return _launch_array(args, ablation.name, preset, points, todo, task, options)


def _launch_here(args: argparse.Namespace, name: str, points: list, todo: list, task) -> int:
    from ssl_bench.bench import PLAN_STEPS, PLAN_WARMUP
    from ssl_bench.launch import launch_local
    from ssl_bench.sweep import grid_status, summarize
    from ssl_bench.sweep_plan import worth_planning

    at_once = "one after another" if args.jobs == 1 else f"{args.jobs} at a time"
    planned = args.jobs == 1 and len(todo) > 1 and worth_planning(todo, PLAN_STEPS + PLAN_WARMUP)
    how = "each step shape timed first for the plan" if planned else "each run prints its estimate"
    print(f"launching {len(todo)} runs on this machine, {at_once}; {how}")
    plan = None
    if planned:
        from ssl_bench.bench import plan_here

        try:
            from ssl_bench.sweep import steps_done

            plan = plan_here(todo, args.data_dir, args.device, lambda p: steps_done(Path(args.out), p))
        except Exception as err:  # a point that cannot run fails as its own record, not the sweep
            print(f"no plan for this sweep ({type(err).__name__}: {err}); each run still prints its estimate")
    results = launch_local(todo, task, jobs=args.jobs, log=lambda m: print(m, flush=True), plan=plan)
    failed = [r for r in results if r["status"] not in ("done", "running")]
    print(f"{name}: {summarize(grid_status(Path(args.out), points))}")
    for r in failed:
        print(f"  failed: run {r['run_id']}: {r.get('error', 'see its record')}", file=sys.stderr)
    return EXIT_FAILED if failed else 0


def _launch_array(args: argparse.Namespace, name: str, preset: str, points: list, todo: list, task, options) -> int:
    """One submitit job array (or, with --launcher debug, the same path in this process)."""
    from ssl_bench.launch import launch_slurm
    from ssl_bench.sweep import grid_status, summarize

    jobs = launch_slurm(todo, task, options, cluster="slurm" if args.launcher == "slurm" else "debug")
    if args.launcher == "debug":
        for job in jobs:
            job.result()
        print(f"{name}: {summarize(grid_status(Path(args.out), points))}")
        return 0
    array_id = jobs[0].job_id.split("_")[0] if jobs else "?"
    layout = "" if options.tasks == 1 else f" of {options.nodes} node(s) × {options.tasks_per_node} tasks each"
    sets = "".join(f" --set {shlex.quote(o)}" for o in args.overrides)
    print(
        f"submitted job array {array_id} with {len(jobs)} runs{layout}; follow with: ssl-bench status --ablation "
        f"{name}" + (f" --preset {preset}" if args.preset else "") + f" --out {args.out}{sets}"
    )
    return 0
