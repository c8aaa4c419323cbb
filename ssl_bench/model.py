"""The Siamese network every method trains: one data flow, switched by the spec's fields."""

from __future__ import annotations

import copy

import torch
from torch import nn

from ssl_bench.loss import beta_info_nce
from ssl_bench.spec import MLP, MethodSpec


def build_mlp(spec: MLP, in_dim: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    d = in_dim
    for h in spec.hidden:
        layers += [nn.Linear(d, h, bias=False), nn.BatchNorm1d(h), nn.ReLU(inplace=True)]
        d = h
    layers.append(nn.Linear(d, spec.out, bias=not spec.bn_out))
    if spec.bn_out:
        layers.append(nn.BatchNorm1d(spec.out, affine=False))
    return nn.Sequential(*layers)


class Siamese(nn.Module):
    """Online network (backbone → projector → predictor) and, for "ema", a target copy.

    The target is a separate module (not a parameter of the optimizer); `ema_pairs()`
    lists (target, online) tensors for the EMA update after each optimizer step.
    """

    def __init__(self, spec: MethodSpec, backbone: nn.Module, feat_dim: int) -> None:
        super().__init__()
        self.spec = spec
        self.backbone = backbone
        self.projector = build_mlp(spec.projector, feat_dim)
        self.predictor = build_mlp(spec.predictor, spec.projector.out) if spec.predictor else nn.Identity()
        self.target: nn.Module | None = None
        if spec.target == "ema":
            # Starts equal to the online network, as in BYOL's code (ξ ← θ at step 0).
            self.target = copy.deepcopy(nn.Sequential(self.backbone, self.projector))
            for p in self.target.parameters():
                p.requires_grad_(False)

    def online_parameters(self) -> list[nn.Parameter]:
        return [p for n, p in self.named_parameters() if not n.startswith("target.")]

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.backbone(x))

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, gather=None) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss; DistributedDataParallel calls this."""
        return self.loss(x1, x2, gather)

    def loss(self, x1: torch.Tensor, x2: torch.Tensor, gather=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, detached online projection of view 1 for collapse monitoring).

        `gather(t) -> (all ranks' t, this rank's first row)` widens the contrastive
        term's negatives to the global batch when a run spans several processes."""
        s = self.spec
        # Views go through the network separately, so BatchNorm statistics are per view
        # as in the official BYOL code.
        z1, z2 = self.project(x1), self.project(x2)
        p1, p2 = self.predictor(z1), self.predictor(z2)
        if s.target == "ema":
            assert self.target is not None
            with torch.no_grad():
                t1, t2 = self.target(x1), self.target(x2)
        elif s.target == "stopgrad":
            t1, t2 = z1.detach(), z2.detach()
        else:  # "online": SimCLR, gradient through both branches
            t1, t2 = z1, z2
        offset = 0
        if gather is not None and s.beta > 0:
            (t1, offset), (t2, _) = gather(t1), gather(t2)
        loss = beta_info_nce(p1, p2, t1, t2, beta=s.beta, temperature=s.temperature, offset=offset)
        return (loss if s.loss_factor == 1.0 else loss * s.loss_factor), z1.detach()

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
