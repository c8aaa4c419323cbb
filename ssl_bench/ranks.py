"""One run on several devices of this machine: one process per device, spawned here.

The parent holds the run's claim, forwards a stop request (SLURM preemption) to the ranks
and returns the record rank 0 wrote. Each rank gets the whole RunEnv (its callables aside,
which do not pickle) and runs `target`, the training entry point, handed in by the caller
so this module never imports the loop.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ssl_bench.config import RunConfig, run_id
from ssl_bench.records import RECORD_NAME, read_record
from ssl_bench.spec import SpecError

# RunEnv fields that are functions of the parent process: rebuilt in each rank.
_CALLABLES = ("should_stop", "log", "on_estimate")


def check_spawnable(cfg: RunConfig, device: str) -> None:
    """Bad input for a run on several devices, refused before anything is written."""
    world = cfg.train.devices
    wants_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if wants_cuda and world > torch.cuda.device_count():
        raise SpecError(f"train.devices={world} but only {torch.cuda.device_count()} CUDA devices are visible")


def run_spawned(cfg: RunConfig, env: Any, target: Callable, preempted: type, non_finite: type) -> dict:
    """Run `target(cfg, env, dist)` in one process per device; the record rank 0 wrote.
    A rank's Preempted or NonFiniteLoss comes back as the same exception here."""
    import torch.multiprocessing as mp

    from ssl_bench.distributed import free_port

    world = cfg.train.devices
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    finished = threading.Event()

    def forward_stop() -> None:
        while not finished.wait(0.5):
            if env.should_stop is not None and env.should_stop():
                stop.set()

    # Asked once before the ranks start, then twice a second: a stop already requested is
    # never missed by a run short enough to end within the first wait.
    if env.should_stop is not None and env.should_stop():
        stop.set()

    threading.Thread(target=forward_stop, daemon=True).start()
    fields = {f.name: getattr(env, f.name) for f in dataclasses.fields(env) if f.name not in _CALLABLES}
    try:
        args = (world, cfg, type(env), fields, target, free_port(), stop)
        mp.start_processes(_rank_main, args=args, nprocs=world, start_method="spawn")
    except mp.ProcessRaisedException as err:
        last = str(err).strip().splitlines()[-1]
        if "Preempted" in last:
            raise preempted(last) from None
        if "NonFiniteLoss" in last:
            raise non_finite(last.split(": ", 1)[-1]) from None
        raise RuntimeError(f"a rank of the run failed: {last}") from None
    finally:
        finished.set()
    rec = read_record(Path(env.out_dir) / run_id(cfg) / RECORD_NAME)
    if rec is None:
        raise RuntimeError("the ranks exited without a record")
    return rec


def _rank_main(rank: int, world: int, cfg: RunConfig, env_type: type, fields: dict, target, port: int, stop) -> None:
    from ssl_bench import distributed

    device = distributed.rank_device(fields["device"], rank)
    dist = distributed.init(rank, world, port, device)
    env = env_type(**{**fields, "device": str(device), "should_stop": stop.is_set})
    if rank:
        env = dataclasses.replace(env, progress=False, log=lambda msg: None)
    try:
        target(cfg, env, dist)
    finally:
        distributed.shutdown()
