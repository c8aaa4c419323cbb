"""The images of each update, from the device or streamed from disk.

An epoch's order fixes every update's images (`micro_batches`). Images held on the
device are gathered by index there; `ImageFiles` are decoded by DataLoader workers into
pinned memory, ahead of the step, in exactly that order, so both give the same batches.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from ssl_bench.config import RunConfig
from ssl_bench.data import ImageFiles
from ssl_bench.data.view_crops import ViewCrops
from ssl_bench.distributed import Dist


def on_device(images: torch.Tensor | ImageFiles, device: torch.device) -> torch.Tensor | ImageFiles:
    """Images moved to the device, or left on disk when they are streamed."""
    return images if isinstance(images, ImageFiles) else images.to(device)


def training_images(
    images: torch.Tensor | ImageFiles, cfg: RunConfig, device: torch.device
) -> torch.Tensor | ImageFiles:
    """The SSL images where the training loop reads them: on the device, or files for the
    DataLoader workers, which also cut the run's crops when they come from whole images."""
    images = on_device(images, device)
    if isinstance(images, ViewCrops):
        images = images.with_views((cfg.aug.view1, cfg.aug.view2), cfg.seed)
    return images


def _stack(images: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack(images)


def loader(
    images: ImageFiles, batches: list[list[int]], workers: int, device: torch.device
) -> torch.utils.data.DataLoader:
    """A DataLoader decoding the given index batches, in order, into (pinned) uint8 tensors."""
    return torch.utils.data.DataLoader(
        images,
        batch_sampler=batches,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        collate_fn=_stack,
        prefetch_factor=4 if workers else None,
    )


def epoch_batches(
    images: torch.Tensor | ImageFiles,
    order: torch.Tensor,
    first_step: int,
    steps_per_epoch: int,
    cfg: RunConfig,
    dist: Dist,
    epoch: int = 0,
) -> Iterator[list[torch.Tensor]]:
    """This process's micro-batches (uint8, on the order's device) for the updates
    `first_step` .. the end of the epoch (a resumed run starts mid-epoch). Crops cut from
    whole images (`ViewCrops`) come as [B, 2, C, H, W] pairs, drawn for `epoch`."""
    steps = [micro_batches(order, k, cfg, dist) for k in range(first_step, steps_per_epoch)]
    if not isinstance(images, ImageFiles):
        for idx in steps:
            yield [images[i] for i in idx]
        return
    if isinstance(images, ViewCrops):
        images = images.at_epoch(epoch)
    flat = [i.tolist() for idx in steps for i in idx]
    it = iter(loader(images, flat, cfg.data.workers, order.device))
    for idx in steps:
        yield [next(it).to(order.device, non_blocking=True) for _ in idx]


def in_chunks(
    images: torch.Tensor | ImageFiles, batch_size: int, device: torch.device, workers: int = 0
) -> Iterator[torch.Tensor]:
    """The images in order, `batch_size` at a time, on `device` (for evaluation)."""
    n = len(images)
    if not isinstance(images, ImageFiles):
        for start in range(0, n, batch_size):
            yield images[start : start + batch_size].to(device)
        return
    chunks = [list(range(start, min(start + batch_size, n))) for start in range(0, n, batch_size)]
    for x in loader(images, chunks, workers, device):
        yield x.to(device, non_blocking=True)


def micro_batches(order: torch.Tensor, step_in_epoch: int, cfg: RunConfig, dist: Dist) -> list[torch.Tensor]:
    """This process's image indices for each micro-batch of an update, taken from the
    epoch's order: update k uses order[k·B : (k+1)·B], split into micro-batches, each
    split across processes."""
    t = cfg.train
    micro = t.batch_size // t.accumulate
    per_rank = micro // dist.world
    out = []
    for m in range(t.accumulate):
        start = step_in_epoch * t.batch_size + m * micro + dist.rank * per_rank
        out.append(order[start : start + per_rank])
    return out
