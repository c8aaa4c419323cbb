"""Several devices in one run: one process per device, DistributedDataParallel.

`Dist` is what the training loop needs to know about the other processes; for a single
process every method is a no-op, so the one-device path is unchanged. Rank 0 decides
when to checkpoint or stop (so every rank stops at the same step), writes checkpoints,
evaluates and writes the record.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

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

    def gather_objects(self, obj: object) -> list:
        if self.world == 1:
            return [obj]
        out: list = [None] * self.world
        tdist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.world > 1:
            tdist.barrier()


SINGLE = Dist()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rank_device(requested: str, rank: int) -> torch.device:
    if requested.startswith("cuda") or (requested == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", rank)
    return torch.device("cpu")


def init(rank: int, world: int, port: int, device: torch.device) -> Dist:
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    else:
        # The cores are shared between the ranks; oversubscribed threads are much slower.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    tdist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    return Dist(rank, world)


def shutdown() -> None:
    if tdist.is_initialized():
        tdist.destroy_process_group()
