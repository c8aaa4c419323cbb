"""The BYOL paper's linear evaluation (App. C.1), as an option for the `paper` preset
(`eval.probe=paper`): a linear classifier on the frozen encoder, trained on augmented
images (random resized crop and flip), with SGD, Nesterov momentum 0.9, no weight decay,
batch 1024, for 80 epochs. Its learning rate is picked from {0.4, 0.3, 0.2, 0.1, 0.05}
on 10,009 training images held out (a class-balanced 0.78 %), never on the test set.
Test images are scored un-augmented (the evaluation's resize-then-centre-crop).

The five candidate heads train side by side on the same augmented batches, so the
encoder runs once per batch, not five times. The schedule is a cosine decay over the
80 epochs: the paper gives the optimizer, not the schedule, and cosine is what BYOL's
code uses for its other schedules.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ssl_bench.augment import augment, normalize_images
from ssl_bench.batches import in_chunks
from ssl_bench.config import RunConfig
from ssl_bench.data import ImageData, ImageFiles
from ssl_bench.evaluate import embed
from ssl_bench.probe import balanced_split
from ssl_bench.views import ViewAug

LEARNING_RATES = (0.4, 0.3, 0.2, 0.1, 0.05)
BATCH = 1024
HELD_OUT = 10009 / 1281167
CROP_AND_FLIP = ViewAug(jitter_p=0.0, gray_p=0.0, blur_p=0.0, solarize_p=0.0)


def paper_probe(
    backbone: nn.Module,
    train_images: torch.Tensor | ImageFiles,
    train_labels: torch.Tensor,
    test_images: torch.Tensor | ImageFiles,
    test_labels: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    size: int,
    *,
    epochs: int = 80,
    seed: int = 0,
    workers: int = 0,
) -> dict:
    """Top-1 and top-5 on the test split of the head whose learning rate did best on the
    held-out training images; the learning rate and its held-out top-1 are returned."""

    device = mean.device
    labels = train_labels.to(device).long()
    num_classes = int(max(int(labels.max()), int(test_labels.max())) + 1)
    fit, held = balanced_split(labels, HELD_OUT, seed)
    was_training = backbone.training
    backbone.eval()  # frozen, BatchNorm included
    with torch.no_grad():
        dim = backbone(normalize_images(train_images[:2].to(device), mean, std)).shape[1]
    heads = [nn.Linear(dim, num_classes).to(device) for _ in LEARNING_RATES]
    opts = [
        torch.optim.SGD(h.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=0.0)
        for h, lr in zip(heads, LEARNING_RATES, strict=True)
    ]
    batch = min(BATCH, len(fit))
    steps_per_epoch = len(fit) // batch
    total = max(1, steps_per_epoch * epochs)
    gen = torch.Generator(device=device).manual_seed(seed * 1_000_003 + 17)
    step = 0
    for epoch in range(epochs):
        order = fit[torch.randperm(len(fit), generator=torch.Generator().manual_seed(seed + 31 * epoch))]
        order = order[: steps_per_epoch * batch].cpu()
        chunks = in_chunks(train_images[order], batch, device, workers)
        for k, chunk in enumerate(chunks):
            y = labels[order[k * batch : (k + 1) * batch].to(device)]
            with torch.no_grad():
                x = augment(chunk, CROP_AND_FLIP, size, gen)
                feats = backbone((x - mean) / std).float()
            scale = 0.5 * (1 + math.cos(math.pi * step / total))
            for head, opt, lr in zip(heads, opts, LEARNING_RATES, strict=True):
                for group in opt.param_groups:
                    group["lr"] = lr * scale
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(head(feats), y).backward()
                opt.step()
            step += 1
    held_f = embed(backbone, train_images[held.cpu()], mean, std, size, workers=workers)
    test_f = embed(backbone, test_images, mean, std, size, workers=workers)
    backbone.train(was_training)
    return _pick_and_score(heads, held_f, labels[held], test_f, test_labels.to(device).long(), num_classes)


@torch.no_grad()
def _pick_and_score(heads, held_f, held_y, test_f, test_y, num_classes: int) -> dict:
    """The head whose learning rate did best on the held-out training images, scored on test."""
    held_top1 = [(h(held_f).argmax(1) == held_y).float().mean().item() for h in heads]
    best = max(range(len(heads)), key=lambda i: (held_top1[i], -i))  # a tie: the larger lr
    top = heads[best](test_f).topk(min(5, num_classes), dim=1).indices
    top1 = (top[:, 0] == test_y).float().mean().item()
    top5 = (top == test_y[:, None]).any(dim=1).float().mean().item()
    return {"top1": top1, "top5": top5, "learning_rate": LEARNING_RATES[best], "held_out_top1": held_top1[best]}


def paper_probe_metrics(
    cfg: RunConfig, backbone: nn.Module, data: ImageData, mean: torch.Tensor, std: torch.Tensor, size: int
) -> dict:
    """`paper_probe` on a run's data, keyed as records store the linear probe."""
    p = paper_probe(
        backbone,
        data.train_images,
        data.train_labels,
        data.test_images,
        data.test_labels,
        mean,
        std,
        size,
        epochs=cfg.eval.probe_epochs,
        seed=cfg.seed,
        workers=cfg.data.workers,
    )
    details = {"protocol": "App. C.1", "learning_rate": p["learning_rate"], "held_out_top1": p["held_out_top1"]}
    return {"linear_top1": p["top1"], "linear_top5": p["top5"], "linear_probe": details}
