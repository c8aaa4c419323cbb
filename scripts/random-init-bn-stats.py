#!/usr/bin/env python
"""Is a run's gain over its random-init encoder only BatchNorm's running statistics?

ssl-bench scores the random-init encoder as it is built, its BatchNorm running statistics
at their initial 0 and 1, while training also estimates those statistics from the data.
This scores the run's random-init encoder three ways, with no weight changed: as
ssl-bench scores it, then with its BatchNorm statistics estimated from the training images
(clean), then from augmented views as training draws them.

    python scripts/random-init-bn-stats.py [--method byol] [--seed 0] [--preset cpu]
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from ssl_bench.augment import normalize_images
from ssl_bench.config import build_config
from ssl_bench.scoring import evaluate_encoder
from ssl_bench.step import build_step
from ssl_bench.train import load_run_data

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--method", default="byol")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--preset", default="cpu")
args = parser.parse_args()

cfg = build_config(args.method, preset=args.preset, seed=args.seed)
data = load_run_data(cfg, None)
mean, std = torch.tensor(data.mean).view(1, -1, 1, 1), torch.tensor(data.std).view(1, -1, 1, 1)
size = cfg.data.image_size or data.train_images.shape[-1]
step = build_step(cfg, data.ssl_images.shape[1], mean, std, size)  # seeds as training does
backbone, images, batch = step.model.backbone, data.ssl_images, cfg.train.batch_size
norms = [m for m in backbone.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def score(how: str) -> None:
    m = evaluate_encoder(cfg, step.model, data, mean, std, size, full=True)
    lin, knn = 100 * m["linear_top1"], 100 * m["knn_top1"]
    print(f"{args.method} seed {args.seed}, {how}: linear top-1 {lin:.1f}, kNN {knn:.1f}")


@torch.no_grad()
def estimate(batches) -> None:
    """Running statistics as the cumulative average over `batches`, weights untouched."""
    for bn in norms:
        bn.reset_running_stats()
        bn.momentum = None
    backbone.train()
    for x in batches:
        backbone(x)
    backbone.eval()


starts = range(0, len(images) - batch + 1, batch)
score("BatchNorm statistics at their initial values (as ssl-bench scores it)")
estimate(normalize_images(images[i : i + batch], mean, std) for i in starts)
score("BatchNorm statistics from the clean training images")
estimate(step.views(images[i : i + batch])[0] for i in starts)
score("BatchNorm statistics from augmented views")
