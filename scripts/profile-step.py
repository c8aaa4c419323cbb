#!/usr/bin/env python
"""Where one training step's time goes, by torch operator, on this machine's CPU.

Builds a method's step at a preset exactly as a run does (`build_step`), warms it up,
then profiles a few updates with torch.profiler and prints the operators by their own
time, and the share of the step that convolutions and BatchNorm take.

    python scripts/profile-step.py [--method byol] [--preset cpu] [--steps 10]
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from ssl_bench.config import build_config
from ssl_bench.data import load_dataset
from ssl_bench.step import build_step

GROUPS = {"convolutions": ("convolution",), "BatchNorm": ("batch_norm",)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", default="byol")
    p.add_argument("--preset", default="cpu")
    p.add_argument("--steps", type=int, default=10)
    args = p.parse_args()
    cfg = build_config(args.method, preset=args.preset)
    data = load_dataset(cfg.data.dataset, None, train_subset=cfg.data.train_subset)
    mean, std = torch.tensor(data.mean).view(1, -1, 1, 1), torch.tensor(data.std).view(1, -1, 1, 1)
    step = build_step(cfg, data.ssl_images.shape[1], mean, std, data.ssl_images.shape[-1])
    images = data.ssl_images[: cfg.train.batch_size]
    for _ in range(5):
        step([images], 1e-3, 0.99)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step([images], 1e-3, 0.99)
    events = prof.key_averages()
    print(events.table(sort_by="self_cpu_time_total", row_limit=15))
    total = sum(e.self_cpu_time_total for e in events)
    for name, keys in GROUPS.items():
        share = sum(e.self_cpu_time_total for e in events if any(k in e.key for k in keys)) / total
        print(f"{name}: {100 * share:.0f} % of the step's own operator time")
    print(f"{args.method} at the {args.preset} preset, {torch.get_num_threads()} threads, torch {torch.__version__}")


if __name__ == "__main__":
    main()
