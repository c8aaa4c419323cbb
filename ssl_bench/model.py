"""The Siamese network every method trains: one data flow, switched by the spec's fields.

The network returns its branches; the objective on them is the training step's
(`ssl_bench.objective`), so a loss outside β-InfoNCE needs no change here.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import torch
from torch import nn

from ssl_bench.spec import MLP, InfoNCE, MethodSpec


def build_mlp(spec: MLP, in_dim: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = in_dim
    for h in spec.hidden:
        layers += [nn.Linear(d, h, bias=not spec.bn), nn.BatchNorm1d(h) if spec.bn else nn.Identity()]
        layers.append(nn.ReLU(inplace=True))
        d = h
    layers.append(nn.Linear(d, spec.out, bias=not spec.bn_out))
    if spec.bn_out:
        layers.append(nn.BatchNorm1d(spec.out, affine=spec.bn_out_affine))
    return nn.Sequential(*layers)


class Branches(NamedTuple):
    """What one forward gives the objective: φ of each view (the prediction, or the
    projection without a predictor) and ψ of each view (the target's projection)."""

    online: tuple[torch.Tensor, torch.Tensor]
    target: tuple[torch.Tensor, torch.Tensor]


class Siamese(nn.Module):
    """Online network (backbone → projector → predictor) and, for "ema", a target copy.

    The target is a separate module (not a parameter of the optimizer); `ema_pairs()`
    lists (target, online) tensors for the EMA update after each optimizer step. A loss
    with a queue of negatives gets a `queue` buffer here, so it is saved, restored and
    moved with the model's state.
    """

    def __init__(self, spec: MethodSpec, backbone: nn.Module, feat_dim: int) -> None:
        super().__init__()
        self.spec = spec
        self.backbone = backbone
        self.projector = build_mlp(spec.projector, feat_dim)
        self.predictor = build_mlp(spec.predictor, spec.projector.out) if spec.predictor else nn.Identity()
        if spec.predictor_lr == "frozen":  # a fixed random predictor: gradients pass through, never into it
            for p in self.predictor.parameters():
                p.requires_grad_(False)
        self.target: nn.Module | None = None
        if spec.target == "ema":
            # Starts equal to the online network, as in BYOL's code (ξ ← θ at step 0).
            self.target = copy.deepcopy(nn.Sequential(self.backbone, self.projector))
            for p in self.target.parameters():
                p.requires_grad_(False)
        queue = None
        if isinstance(spec.loss, InfoNCE) and spec.loss.queue:
            # Random unit vectors until real keys replace them, as MoCo's code starts.
            queue = nn.functional.normalize(torch.randn(spec.loss.queue, spec.projector.out), dim=1)
        self.register_buffer("queue", queue)  # None: no buffer in the state
        self.register_buffer("queue_ptr", None if queue is None else torch.zeros((), dtype=torch.long))

    def online_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if not n.startswith("target.")]

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.backbone(x))

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> Branches:
        """The branches of two views; DistributedDataParallel calls this."""
        # Views go through the network separately, so BatchNorm statistics are per view
        # as in the official BYOL code.
        z1, z2 = self.project(x1), self.project(x2)
        p1, p2 = self.predictor(z1), self.predictor(z2)
        if self.spec.target == "ema":
            assert self.target is not None
            with torch.no_grad():
                t1, t2 = self.target(x1), self.target(x2)
        elif self.spec.target == "stopgrad":
            t1, t2 = z1.detach(), z2.detach()
        else:  # "online": SimCLR, Barlow Twins, VICReg: gradient through both branches
            t1, t2 = z1, z2
        return Branches((p1, p2), (t1, t2))

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        """Put `keys` (all ranks' target projections of one update) in the queue in place
        of the oldest, after the loss has used the queue as it was."""
        assert self.queue is not None
        k, n = self.queue.shape[0], keys.shape[0]
        if n >= k:
            self.queue.copy_(keys[-k:].to(self.queue.dtype))
            return
        rows = (self.queue_ptr + torch.arange(n, device=keys.device)) % k
        self.queue[rows] = keys.to(self.queue.dtype)
        self.queue_ptr.copy_((self.queue_ptr + n) % k)

    def ema_pairs(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(target, online) parameters, in matching order, for the EMA update."""
        assert self.target is not None
        return list(self.target.parameters()), list(self._online().parameters())

    def ema_buffer_pairs(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(target, online) buffers: BatchNorm statistics, copied rather than averaged
        (they are not learned; the target uses batch statistics in training)."""
        assert self.target is not None
        return list(self.target.buffers()), list(self._online().buffers())

    def _online(self) -> nn.Module:
        # The online counterpart of the target: the same module layout, so the same order.
        return nn.Sequential(self.backbone, self.projector)
