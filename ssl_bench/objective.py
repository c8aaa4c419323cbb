"""The objective on a forward's branches: the one place that switches on the loss kind.

The network (`model.Siamese`) only computes branches and the loss functions
(`ssl_bench.loss`) only compute numbers; this module joins them with what the run
spans: negatives and batch statistics come from the global batch when several
processes train one run, and a queue of earlier keys is read here and filled after the
backward pass (`Step.forward_backward`).
"""

from __future__ import annotations

import torch

from ssl_bench.distributed import Dist
from ssl_bench.loss import barlow_twins, beta_info_nce, cross_entropy_similarity, vicreg
from ssl_bench.model import Branches
from ssl_bench.spec import BarlowTwins, InfoNCE, MethodSpec, VICReg


def objective(spec: MethodSpec, b: Branches, dist: Dist, queue: torch.Tensor | None = None) -> torch.Tensor:
    """The loss of one micro-batch. `queue` holds the earlier keys of a loss with a queue."""
    loss = spec.loss
    match loss:
        case InfoNCE(similarity="cross_entropy"):  # β = 0 only (validated): no negatives to gather
            value = cross_entropy_similarity(*b.online, *b.target, symmetric=spec.symmetry == "symmetric")
            return value if loss.factor == 1.0 else value * loss.factor
        case InfoNCE():
            (t1, t2), offset = b.target, 0
            if loss.beta > 0 and dist.world > 1:
                # SimCLR's code gathers the negatives from every process, gradient flowing back.
                (t1, offset), (t2, _) = dist.gather_with_grad(t1), dist.gather_with_grad(t2)
            value = beta_info_nce(
                *b.online,
                t1,
                t2,
                beta=loss.beta,
                temperature=loss.temperature,
                offset=offset,
                queue=queue,
                same_view_negatives=loss.same_view_negatives,
                other_view_negatives=loss.other_view_negatives,
                symmetric=spec.symmetry == "symmetric",
            )
            return value if loss.factor == 1.0 else value * loss.factor
        case BarlowTwins():
            return _symmetric(spec, b, dist, lambda x, y: barlow_twins(x, y, lambd=loss.lambd))
        case VICReg():
            return _symmetric(spec, b, dist, lambda x, y: vicreg(x, y, sim=loss.sim, var=loss.var, cov=loss.cov))
    raise TypeError(f"no objective for loss {loss!r}")


def _symmetric(spec: MethodSpec, b: Branches, dist: Dist, fn) -> torch.Tensor:
    """fn(φ(v), ψ(v′)) over the global batch (these losses take batch statistics). With
    the two branches equal (online target, no predictor: the methods' own setting) the
    loss is symmetric in its arguments and computed once; otherwise both directions are
    averaged."""
    (o1, o2), (t1, t2) = b.online, b.target
    o1, o2, t1, t2 = (dist.gather_with_grad(x)[0] for x in (o1, o2, t1, t2))
    if spec.target == "online" and spec.predictor is None:
        return fn(o1, t2)
    return (fn(o1, t2) + fn(o2, t1)) / 2


def keys_to_enqueue(b: Branches, dist: Dist) -> torch.Tensor:
    """Every process's target projections of both views, detached: the queue's new rows
    (the same on every rank, so every rank's queue stays the same)."""
    t1, t2 = (t.detach() for t in b.target)
    if dist.world > 1:
        t1, t2 = dist.gather_with_grad(t1)[0], dist.gather_with_grad(t2)[0]
    return torch.cat([t1, t2])


def split_branches(b: Branches, groups: int) -> list[Branches]:
    """The branches of each of `groups` equal groups of consecutive rows: the micro-batches
    of an update that went through the network in one pass."""
    # `split`, whose backward concatenates the groups' gradients (see `ghost_bn`).
    o1, o2, t1, t2 = (t.split(t.shape[0] // groups) for t in (*b.online, *b.target))
    return [Branches((o1[g], o2[g]), (t1[g], t2[g])) for g in range(groups)]
