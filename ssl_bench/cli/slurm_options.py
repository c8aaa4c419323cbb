"""The options of `ssl-bench run --launcher slurm`: the allocation of each run (one task,
or nodes × tasks, one per device) and the sbatch options passed through."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from ssl_bench.cli.common import BadInput

if TYPE_CHECKING:
    from ssl_bench.launch import SlurmOptions


def add_slurm_options(r: argparse.ArgumentParser) -> None:
    s_ = r.add_argument_group("slurm", "options of --launcher slurm (nothing cluster-specific is built in)")
    s_.add_argument("--partition", default=None)
    s_.add_argument("--time", type=int, default=60, metavar="MINUTES", help="time limit per run (default 60)")
    s_.add_argument(
        "--gpus-per-run", type=int, default=0, help="GPUs of a one-task run, which starts one process per GPU itself"
    )
    s_.add_argument("--cpus-per-run", type=int, default=None)
    s_.add_argument("--mem", type=float, default=None, metavar="GB")
    s_.add_argument("--array-parallelism", type=int, default=256, help="at most this many runs at once")
    s_.add_argument("--account", default=None)
    s_.add_argument("--qos", default=None)
    s_.add_argument(
        "--nodes",
        type=int,
        default=1,
        help="nodes per run; with --gpus-per-node (or --tasks-per-node on a CPU cluster) each run is one "
        "allocation of nodes × tasks, one SLURM task per device (default 1)",
    )
    s_.add_argument("--gpus-per-node", type=int, default=0, help="GPUs per node of each run, one task per GPU")
    s_.add_argument(
        "--tasks-per-node", type=int, default=None, help="tasks per node of each run (default: --gpus-per-node, or 1)"
    )
    s_.add_argument("--cpus-per-task", type=int, default=None, help="CPU cores of each task of a multi-task run")
    s_.add_argument(
        "--init-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="how long the tasks of a run may take to find each other before failing (default 120)",
    )
    s_.add_argument(
        "--sbatch",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other sbatch option, e.g. --sbatch constraint=a100 (repeatable)",
    )


def slurm_options(args: argparse.Namespace) -> SlurmOptions:
    from ssl_bench.launch import SlurmOptions

    sbatch = []
    for item in args.sbatch:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadInput(f"--sbatch {item!r}: expected KEY=VALUE, e.g. constraint=a100")
        sbatch.append((key.strip().lstrip("-"), value.strip()))
    a = args
    for flag, value, least in (
        ("--nodes", a.nodes, 1),
        ("--gpus-per-node", a.gpus_per_node, 0),
        ("--tasks-per-node", a.tasks_per_node, 1),
        ("--cpus-per-task", a.cpus_per_task, 1),
    ):
        if value is not None and value < least:
            raise BadInput(f"{flag} {value}: must be >= {least}")
    if not a.init_timeout > 0:
        raise BadInput(f"--init-timeout {a.init_timeout:g}: must be > 0 seconds")
    tasks_per_node = a.tasks_per_node or a.gpus_per_node or 1
    if a.gpus_per_node and tasks_per_node != a.gpus_per_node:
        raise BadInput(
            f"--tasks-per-node {tasks_per_node} with --gpus-per-node {a.gpus_per_node}: a run has one task per GPU"
        )
    if a.gpus_per_node and a.gpus_per_run:
        raise BadInput("--gpus-per-run and --gpus-per-node: give one (--gpus-per-node for one task per GPU)")
    if a.launcher == "slurm" and any(ch.isspace() for ch in str(Path(a.out).resolve())):
        raise BadInput(
            f"--out {a.out!r}: a path with whitespace cannot go into sbatch's #SBATCH lines; choose one without"
        )
    if a.nodes * tasks_per_node > 1 and a.launcher != "slurm":
        raise BadInput(
            f"--nodes {a.nodes} × {tasks_per_node} tasks needs --launcher slurm; on this machine use "
            "--set train.devices=N (one process per device)"
        )
    return SlurmOptions(
        a.partition,
        a.time,
        a.gpus_per_run,
        a.cpus_per_run,
        a.mem,
        a.array_parallelism,
        a.account,
        a.qos,
        tuple(sbatch),
        nodes=a.nodes,
        tasks_per_node=tasks_per_node,
        gpus_per_node=a.gpus_per_node,
        cpus_per_task=a.cpus_per_task,
    )


def set_devices_from_layout(args: argparse.Namespace, options: SlurmOptions) -> None:
    """A multi-task run trains with one process per task: train.devices is the layout's
    world size (the global batch, and so the recipe, stay the same)."""
    from ssl_bench.config import parse_set_args

    if options.tasks == 1:
        return
    given = parse_set_args(args.overrides).get("train.devices")
    if given is not None and int(given) != options.tasks:
        raise BadInput(
            f"--set train.devices={given} but --nodes {options.nodes} × {options.tasks_per_node} tasks "
            f"make {options.tasks} processes: drop the --set, or change the layout"
        )
    args.overrides = [*args.overrides, f"train.devices={options.tasks}"]
