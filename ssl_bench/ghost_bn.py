"""Emulated small batches in one pass: "ghost" batch norm.

An update of B images emulated as G micro-batches of b = B / G (the BYOL paper's way of
shrinking the batch at a fixed number of images per update, App. F) normalises each
micro-batch with its own BatchNorm statistics. Run one after another, the G passes cost
far more than one pass over B: small convolutions use the cores poorly. Here every
BatchNorm of a module normalises its input in G groups of b consecutive rows within one
pass, each with the library's own kernel as for a batch of b, and the running statistics
are updated exactly as G successive micro-batches would update them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def batch_norms(module: nn.Module) -> list[_BatchNorm]:
    return [m for m in module.modules() if isinstance(m, _BatchNorm)]


def can_group(module: nn.Module) -> bool:
    """Whether every BatchNorm can be grouped: a cumulative running average (momentum None)
    and SyncBatchNorm (statistics across processes) keep the sequential path."""
    return all(m.momentum is not None and not isinstance(m, nn.SyncBatchNorm) for m in batch_norms(module))


@contextmanager
def ghost_batch_norm(module: nn.Module, groups: int) -> Iterator[None]:
    """Within the block, every BatchNorm of `module` in training mode normalises its input
    in `groups` equal groups of consecutive rows. Its running statistics are updated when
    the block ends, in the order the groups run one after another would update them: group
    by group, and within a group in the order of the module's calls (a network that
    forwards two views calls each BatchNorm twice per micro-batch)."""
    norms = batch_norms(module)
    steps: dict[_BatchNorm, list[tuple[torch.Tensor, torch.Tensor]]] = {m: [] for m in norms}
    for m in norms:
        m.forward = partial(_grouped_forward, m, groups, steps[m])  # shadows the class's forward
    try:
        yield
    finally:
        for m in norms:
            del m.forward
    with torch.no_grad():
        for m, calls in steps.items():
            if calls:
                _sequential_update(m.running_mean, [mean for mean, _ in calls], m.momentum)
                _sequential_update(m.running_var, [var for _, var in calls], m.momentum)
                m.num_batches_tracked.add_(groups * len(calls))


def _grouped_forward(m: _BatchNorm, groups: int, steps: list, x: torch.Tensor) -> torch.Tensor:
    if not m.training or groups == 1:
        return type(m).forward(m, x)
    m._check_input_dim(x)
    if x.shape[0] % groups:
        raise ValueError(f"{x.shape[0]} rows do not split into {groups} equal groups")
    track = m.track_running_stats and m.running_mean is not None
    outs, means, variances = [], [], []
    # Slices along the batch, views in either memory format: the convolutions between the
    # BatchNorms run once over all the rows, the (cheap) normalisation once per group.
    # `split`, not `tensor_split`: its backward is one concatenation of the groups'
    # gradients, where each of tensor_split's slices writes its gradient into a zero tensor
    # of the whole input (2-3x the cost of this BatchNorm, forward and backward, at 16
    # groups of 4 images).
    for part in x.split(x.shape[0] // groups):
        # Each group's copy of the running statistics takes one momentum step from the
        # module's state, which stays as it is until the block ends.
        mean = m.running_mean.clone() if track else None
        var = m.running_var.clone() if track else None
        outs.append(F.batch_norm(part, mean, var, m.weight, m.bias, True, m.momentum, m.eps))
        means.append(mean)
        variances.append(var)
    if track:
        steps.append((torch.stack(means), torch.stack(variances)))
    return torch.cat(outs)


def _sequential_update(running: torch.Tensor, calls: list[torch.Tensor], momentum: float) -> None:
    """Each `calls[c][g]` is (1 − m)·r + m·s_gc from the same r. Applied one after another,
    group by group and call by call within a group (k = g·calls + c, K updates in all):
    r ← (1 − m)^K·r + Σ_k (1 − m)^(K−1−k)·m·s_k."""
    stepped = torch.stack(calls, dim=1).flatten(0, 1)  # [G·calls, C], in the sequential order
    keep = 1.0 - momentum
    k = stepped.shape[0]
    decay = keep ** torch.arange(k - 1, -1, -1, dtype=running.dtype, device=running.device)
    moved = (decay[:, None] * (stepped - keep * running)).sum(0)  # Σ_k (1 − m)^(K−1−k)·m·s_k
    running.mul_(keep**k).add_(moved)
