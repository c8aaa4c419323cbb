"""lightly's own BYOL / SimCLR / SimSiam training step, timed beside ours (`bench --compare lightly`).

This is lightly as its examples use it: its heads, losses and momentum update, and its
PIL transforms run per image in DataLoader workers. Only what must match for a fair
comparison is taken from our config: the backbone, the head widths, the batch, the
optimizer and the precision. lightly is a benchmark-only extra (`pip install
'ssl-bench[compare]'`), imported only here.
"""

from __future__ import annotations

import copy
import os
import time

import numpy as np
import torch
from torch import nn

from ssl_bench.backbones import build_backbone
from ssl_bench.bench import timing_lr
from ssl_bench.config import RunConfig
from ssl_bench.data import ImageData
from ssl_bench.device import synchronize
from ssl_bench.spec import SpecError
from ssl_bench.step import autocast, build_optimizer

METHODS = ("byol", "simclr", "simsiam")


def check_comparable(cfg: RunConfig) -> None:
    """Raise SpecError if lightly has no counterpart for this config."""
    if cfg.method_name not in METHODS:
        raise SpecError(
            f"--compare lightly: method {cfg.method_name!r} has no lightly counterpart; use one of {METHODS}"
        )
    if cfg.data.stream:
        raise SpecError("--compare lightly: data.stream=true; the comparison holds the images in memory, set it false")
    if cfg.train.accumulate != 1:
        raise SpecError(f"--compare lightly: train.accumulate={cfg.train.accumulate}; lightly's step has none, use 1")
    try:
        import lightly  # noqa: F401
    except ImportError:
        raise SpecError("--compare lightly needs lightly: pip install 'ssl-bench[compare]'") from None


class LightlyModel(nn.Module):
    """The method as lightly's examples build it, with our widths."""

    def __init__(self, cfg: RunConfig, backbone: nn.Module, feat_dim: int) -> None:
        from lightly.loss import NegativeCosineSimilarity, NTXentLoss
        from lightly.models import modules as heads

        super().__init__()
        s = cfg.method
        self.method = cfg.method_name
        self.backbone = backbone
        proj_hidden = s.projector.hidden[0]
        if self.method == "byol":
            self.projection_head = heads.BYOLProjectionHead(feat_dim, proj_hidden, s.projector.out)
            self.prediction_head = heads.BYOLPredictionHead(s.projector.out, s.predictor.hidden[0], s.predictor.out)
            self.backbone_momentum = copy.deepcopy(backbone)
            self.projection_head_momentum = copy.deepcopy(self.projection_head)
            from lightly.models.utils import deactivate_requires_grad

            deactivate_requires_grad(self.backbone_momentum)
            deactivate_requires_grad(self.projection_head_momentum)
            self.criterion = NegativeCosineSimilarity()
        elif self.method == "simclr":
            self.projection_head = heads.SimCLRProjectionHead(
                feat_dim, proj_hidden, s.projector.out, num_layers=len(s.projector.hidden) + 1
            )
            self.criterion = NTXentLoss(temperature=s.loss.temperature)
        else:
            self.projection_head = heads.SimSiamProjectionHead(feat_dim, proj_hidden, s.projector.out)
            self.prediction_head = heads.SimSiamPredictionHead(s.projector.out, s.predictor.hidden[0], s.predictor.out)
            self.criterion = NegativeCosineSimilarity()

    def loss(self, x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        z0 = self.projection_head(self.backbone(x0).flatten(start_dim=1))
        z1 = self.projection_head(self.backbone(x1).flatten(start_dim=1))
        if self.method == "simclr":
            return self.criterion(z0, z1)
        p0, p1 = self.prediction_head(z0), self.prediction_head(z1)
        if self.method == "simsiam":
            return 0.5 * (self.criterion(p0, z1.detach()) + self.criterion(p1, z0.detach()))
        with torch.no_grad():
            t0 = self.projection_head_momentum(self.backbone_momentum(x0).flatten(start_dim=1))
            t1 = self.projection_head_momentum(self.backbone_momentum(x1).flatten(start_dim=1))
        return 0.5 * (self.criterion(p0, t1) + self.criterion(p1, t0))

    def momentum_update(self, tau: float) -> None:
        if self.method == "byol":
            from lightly.models.utils import update_momentum

            update_momentum(self.backbone, self.backbone_momentum, m=tau)
            update_momentum(self.projection_head, self.projection_head_momentum, m=tau)


def lightly_transform(cfg: RunConfig, size: int, mean: tuple, std: tuple):
    """lightly's two-view transform for the method, at our image size and normalisation."""
    from lightly import transforms as lt

    norm = {"mean": list(mean), "std": list(std)}
    if cfg.method_name == "byol":
        return lt.BYOLTransform(
            view_1_transform=lt.BYOLView1Transform(input_size=size, normalize=norm),
            view_2_transform=lt.BYOLView2Transform(input_size=size, normalize=norm),
        )
    if cfg.method_name == "simclr":
        return lt.SimCLRTransform(input_size=size, normalize=norm)
    return lt.SimSiamTransform(input_size=size, normalize=norm)


class PILViews(torch.utils.data.Dataset):
    """Our uint8 images as PIL images through lightly's transform, one image per call."""

    def __init__(self, images: torch.Tensor, transform) -> None:
        self.array = np.ascontiguousarray(images.permute(0, 2, 3, 1).numpy())
        self.transform = transform

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, i: int):
        from PIL import Image

        a = self.array[i]
        return self.transform(Image.fromarray(a[..., 0] if a.shape[-1] == 1 else a))


def default_workers() -> int:
    return min(16, os.cpu_count() or 1)


def bench_lightly(
    cfg: RunConfig, device: torch.device, data: ImageData, steps: int, warmup: int, workers: int | None = None
) -> dict:
    """Steady-state images/s of lightly's step, data loading included (as lightly trains)."""
    from lightly import __version__

    check_comparable(cfg)
    workers = default_workers() if workers is None else workers
    size = cfg.data.image_size or data.ssl_images.shape[-1]
    torch.manual_seed(cfg.seed)
    backbone, feat_dim = build_backbone(cfg.backbone, data.ssl_images.shape[1], size)
    model = LightlyModel(cfg, backbone, feat_dim).to(device).train()
    optimizer = build_optimizer(cfg, model)
    for group in optimizer.param_groups:
        group["lr"] = timing_lr(cfg)
    loader = torch.utils.data.DataLoader(
        PILViews(data.ssl_images, lightly_transform(cfg, size, data.mean, data.std)),
        batch_size=cfg.train.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
        generator=torch.Generator().manual_seed(cfg.seed),
    )

    def batches():
        while True:
            yield from loader

    it = batches()
    start = 0.0
    for i in range(warmup + steps):
        if i == warmup:
            synchronize(device)
            start = time.perf_counter()
        x0, x1 = (v.to(device, non_blocking=True) for v in next(it))
        with autocast(cfg, device):
            loss = model.loss(x0, x1)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        model.momentum_update(0.99)
    synchronize(device)
    elapsed = time.perf_counter() - start
    return {
        "library": "lightly",
        "version": __version__,
        "images_per_s": steps * cfg.train.batch_size / elapsed,
        "step_ms": 1000 * elapsed / steps,
        "workers": workers,
        "final_loss": float(loss.detach()),
    }
