"""Several devices in one run: one process per device, DistributedDataParallel.

`Dist` is what the training loop needs to know about the other processes; for a single
process every method is a no-op, so the one-device path is unchanged. Rank 0 decides
when to checkpoint or stop (so every rank stops at the same step), writes checkpoints,
evaluates and writes the record.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as tdist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def mean_values(self, values: torch.Tensor) -> list[float]:
        """The mean over ranks of each entry, read back to the host (one sync for many values)."""
        if self.world == 1:
            return values.tolist()
        t = values.to(torch.float64)
        tdist.all_reduce(t)
        return (t / self.world).tolist()

    def decide(self, flags: tuple[bool, ...], device: torch.device) -> tuple[bool, ...]:
        """Rank 0's flags, on every rank."""
        if self.world == 1:
            return flags
        t = torch.tensor([float(f) for f in flags], device=device)
        tdist.broadcast(t, src=0)
        return tuple(bool(v) for v in t.tolist())

    def gather_with_grad(self, x: torch.Tensor) -> tuple[torch.Tensor, int]:
        """All ranks' rows, gradient flowing back to their owners (so SimCLR's negatives
        come from the global batch, as in its code); and where this rank's rows start."""
        if self.world == 1:
            return x, 0
        from torch.distributed.nn.functional import all_gather

        return torch.cat(all_gather(x)), self.rank * x.shape[0]

    def broadcast_object(self, obj: object) -> object:
        """Rank 0's `obj`, on every rank."""
        if self.world == 1:
            return obj
        box = [obj]
        tdist.broadcast_object_list(box, src=0)
        return box[0]

    def gather_objects(self, obj: object) -> list:
        if self.world == 1:
            return [obj]
        out: list = [None] * self.world
        tdist.all_gather_object(out, obj)
        return out


SINGLE = Dist()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DistInitError(RuntimeError):
    """The processes of a run could not form their group: one line naming what and where."""


# How long a collective may wait for the slowest rank: long enough for rank 0's evaluations
# between epochs at ImageNet scale; a crashed rank ends a SLURM job sooner (srun -K).
COLLECTIVE_TIMEOUT = timedelta(minutes=30)


def rank_device(requested: str, local_rank: int) -> torch.device:
    """This process's device: the local rank's GPU (modulo the GPUs it can see, since SLURM
    may show each task only its own), or the CPU."""
    if requested.startswith("cuda") or (requested == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", local_rank % max(1, torch.cuda.device_count()))
    return torch.device("cpu")


def init(rank: int, world: int, port: int, device: torch.device, timeout_s: float = 120.0) -> Dist:
    """A process of a run spawned on this machine (`ssl_bench.ranks`)."""
    return _join(device, rank, world, world, "127.0.0.1", port, timeout_s)


def init_from_env(requested: str, timeout_s: float) -> tuple[Dist, torch.device]:
    """A process of a run started by someone else: torch.distributed's env:// variables
    (MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE), which
    submitit's TorchDistributedEnvironment.export() sets in a SLURM task, as torchrun does."""
    e = os.environ
    try:
        rank, world = int(e["RANK"]), int(e["WORLD_SIZE"])
        local_rank, local_world = int(e.get("LOCAL_RANK", rank)), int(e.get("LOCAL_WORLD_SIZE", world))
        addr, port = e["MASTER_ADDR"], int(e["MASTER_PORT"])
    except (KeyError, ValueError) as err:
        raise DistInitError(f"torch.distributed's environment is incomplete or malformed: {err}") from None
    device = rank_device(requested, local_rank)
    return _join(device, rank, world, local_world, addr, port, timeout_s), device


def _join(
    device: torch.device, rank: int, world: int, local_world: int, addr: str, port: int, timeout_s: float
) -> Dist:
    """Meet the other processes within `timeout_s`, then form the process group.

    The meeting is a counter in a TCPStore on the master: every process adds itself and
    waits for the count to reach `world`. A wrong world size, an unreachable or unresolvable
    master or a rank that never starts thus fails in every process within the timeout,
    with one line, instead of hanging in the backend's own rendezvous.
    """
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    else:
        # The node's cores are shared between its processes; oversubscribed threads are much slower.
        cores = int(os.environ.get("SLURM_CPUS_PER_TASK", 0)) or max(1, (os.cpu_count() or 1) // local_world)
        torch.set_num_threads(cores)
    where = f"rank {rank} of {world}, master {addr}:{port}"
    deadline = time.monotonic() + timeout_s
    try:
        store = tdist.TCPStore(addr, port, world, rank == 0, timedelta(seconds=timeout_s), wait_for_workers=False)
        arrived = store.add("ssl-bench/arrived", 1)
    except Exception as err:  # socket, DNS and store errors come as several types
        raise DistInitError(
            f"could not reach the run's other processes within {timeout_s:g} s ({where}): {_first_line(err)}"
        ) from None
    try:
        while arrived < world and time.monotonic() < deadline:
            time.sleep(0.05)
            arrived = store.add("ssl-bench/arrived", 0)
    except Exception:  # the master gave up waiting (its deadline came first) and closed the store
        pass
    if arrived != world:
        raise DistInitError(
            f"only {arrived} of {world} processes arrived within {timeout_s:g} s ({where}): "
            "is the world size right, and did every task start?"
        )
    tdist.init_process_group(backend, store=store, rank=rank, world_size=world, timeout=COLLECTIVE_TIMEOUT)
    return Dist(rank, world)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def shutdown() -> None:
    if tdist.is_initialized():
        tdist.destroy_process_group()
