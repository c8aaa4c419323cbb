"""One run as a group of SLURM tasks, one per device, on one node or several.

srun (through submitit) starts every task of the allocation with the same callable. Each
task learns its place from submitit's `TorchDistributedEnvironment` (rank and world from
SLURM_PROCID and SLURM_NTASKS, the master from the job's first node) and a port drawn from
the job id (`master_port`), so every task agrees on it and two jobs on one host do not share
it; it joins the process group through torch.distributed's env:// variables. Rank 0 alone decides whether
the run is done or trained elsewhere, claims it, checkpoints and writes its record; the
other ranks follow its decision. Nothing of a rank's place is pickled, so a requeued job
recomputes it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
from pathlib import Path

from ssl_bench.config import RunConfig, run_id
from ssl_bench.distributed import Dist, init_from_env, shutdown
from ssl_bench.liveness import AlreadyRunning, RunClaim, check_not_running
from ssl_bench.records import RECORD_NAME
from ssl_bench.spec import SpecError
from ssl_bench.train import RunEnv, done_record, done_record_once_claimed, run

__all__ = ["run_as_task"]


def run_as_task(cfg: RunConfig, env: RunEnv, tasks: int, init_timeout_s: float) -> dict:
    """This SLURM task's part of the run `cfg`, trained by `tasks` tasks together: rank 0
    returns the record; the other ranks a short summary of their part."""
    world = int(os.environ.get("SLURM_NTASKS", "1"))
    if world != tasks or cfg.train.devices != tasks:
        raise SpecError(
            f"the run wants {cfg.train.devices} processes (train.devices) and the launcher asked for {tasks}, "
            f"but this SLURM job has {world} tasks (SLURM_NTASKS)"
        )
    layout = _export_slurm_environment()
    dist, device = init_from_env(env.device, init_timeout_s)
    try:
        with contextlib.ExitStack() as claim:
            decision = dist.broadcast_object(_claim(cfg, env, claim) if dist.main else None)
            if decision == "done":
                return done_record(Path(env.out_dir) / run_id(cfg) / RECORD_NAME) or {
                    "run_id": run_id(cfg),
                    "status": "done",
                }
            if decision != "train":
                raise AlreadyRunning(decision)
            rank_env = dataclasses.replace(env, device=str(device), layout=layout)
            if not dist.main:
                rank_env = dataclasses.replace(rank_env, progress=False, log=_prefixed(env.log, dist))
            return run(cfg, rank_env, dist)
    finally:
        shutdown()


def _export_slurm_environment() -> dict:
    """MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE from
    submitit's reading of SLURM's variables; what the record keeps of the layout."""
    import submitit

    job = submitit.JobEnvironment()
    os.environ.setdefault("MASTER_PORT", str(master_port(job.job_id)))  # a user's own port stays
    tde = submitit.helpers.TorchDistributedEnvironment()
    # Not CUDA_VISIBLE_DEVICES: with --gpus-per-task SLURM already shows each task only its
    # own GPU, where submitit's str(local_rank) would name one that does not exist.
    tde.export(set_cuda_visible_devices=False, overwrite=True)
    return {
        "nodes": job.num_nodes,
        "tasks_per_node": tde.local_world_size,
        "world": tde.world_size,
        "node_names": job.hostnames,
        "master": f"{tde.master_addr}:{tde.master_port}",
        "slurm_job": job.job_id,
    }


# Below Linux's default ephemeral range (32768-60999), from which every client socket on the
# node draws its local port: submitit's own choice (20000-60000) can find its port taken by
# one, and rank 0 then fails with EADDRINUSE. Above the ports services commonly listen on.
MASTER_PORTS = (21000, 32767)


def master_port(job_id: str) -> int:
    """The master's port for SLURM job `job_id`: the same in every task of the job, drawn
    from MASTER_PORTS by the id, so two jobs on one node rarely share it."""
    return random.Random(job_id).randint(*MASTER_PORTS)


def _claim(cfg: RunConfig, env: RunEnv, claim: contextlib.ExitStack) -> str:
    """Rank 0's decision: "done", "train" (with the run's claim held in `claim`), or why
    another process has it."""
    rid = run_id(cfg)
    run_dir = Path(env.out_dir) / rid
    rec_path = run_dir / RECORD_NAME
    if done_record(rec_path):
        return "done"
    try:
        check_not_running(run_dir, rid)
        claim.enter_context(RunClaim(run_dir, rid))
    except AlreadyRunning as err:
        return str(err)
    return "done" if done_record_once_claimed(rec_path, env.log) else "train"


def _prefixed(log, dist: Dist):
    return lambda msg: log(f"[rank {dist.rank}/{dist.world}] {msg}")
