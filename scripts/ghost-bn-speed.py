#!/usr/bin/env python
"""Images/s of BYOL updates at the cpu preset (B = 64 images per update, micro-batches of
b), one pass (ghost batch norm) against one micro-batch after another, side by side in one
run. Usage: python scripts/ghost-bn-speed.py"""

import time

import torch

from ssl_bench.config import build_config
from ssl_bench.data import load_dataset
from ssl_bench.step import build_step

data = load_dataset("fashion-mnist", None, train_subset=10000)
mean, std = torch.tensor(data.mean).view(1, -1, 1, 1), torch.tensor(data.std).view(1, -1, 1, 1)
imgs = data.ssl_images[: 64 * 12]
res = {}
for _ in range(2):  # twice, interleaved: the machine's load drifts
    for b in (64, 16, 4):
        for path in ("one_pass", "sequential"):
            if b == 64 and path == "sequential":
                continue
            cfg = build_config(
                "byol",
                preset="cpu",
                overrides={"train.accumulate": 64 // b, "train.micro_batches": path, "train.channels_last": True},
            )
            step = build_step(cfg, 1, mean, std, 28)
            ups = list(imgs.split(64))
            step(list(ups[0].chunk(64 // b)), 1e-3, 0.99)  # warm-up
            t = time.perf_counter()
            for u in ups[1:]:
                step(list(u.chunk(64 // b)), 1e-3, 0.99)
            res.setdefault((b, path), []).append(64 * (len(ups) - 1) / (time.perf_counter() - t))
for k, v in res.items():
    print(k, [round(x) for x in v])
