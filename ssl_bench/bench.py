"""Throughput of the training step: steady-state images/s and where the time goes.

The step is the training loop's own (augmentation on the device, the Siamese loss, the
optimizer, the EMA update); here each part is timed with a device synchronisation
between parts, so the split is exact and the total slightly pessimistic. The record is
a figure for reports, not a test: timed tests are flaky, benchmarks print.
"""

from __future__ import annotations

import statistics
import time

import torch

from ssl_bench.augment import augment
from ssl_bench.config import RunConfig, run_id, to_dict
from ssl_bench.data import load_dataset
from ssl_bench.evaluate import normalize_images
from ssl_bench.records import SCHEMA_VERSION, provenance
from ssl_bench.schedules import ema_update
from ssl_bench.train import _autocast, _cpu_name, _peak_rss, build_model, build_optimizer, resolve_device


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench(
    cfg: RunConfig, device_name: str = "auto", data_dir: str | None = None, steps: int = 30, warmup: int = 10
) -> dict:
    """Time `steps` training steps after `warmup` untimed ones; medians over the steps."""
    device = resolve_device(device_name)
    t = cfg.train
    data = load_dataset(
        cfg.data.dataset,
        data_dir,
        train_subset=cfg.data.train_subset,
        test_subset=cfg.data.test_subset,
        image_size=cfg.data.image_size,
    )
    images = data.ssl_images.to(device)
    size = cfg.data.image_size or images.shape[-1]
    mean = torch.tensor(data.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(data.std, device=device).view(1, -1, 1, 1)
    model = build_model(cfg, images.shape[1], size).to(device)
    if t.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = build_optimizer(cfg, model)
    for group in optimizer.param_groups:
        group["lr"] = cfg.method.optim.base_lr * t.batch_size / 256 * 0.01  # small: timing, not learning
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    micro = t.batch_size // t.accumulate
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    parts: dict[str, list[float]] = {"data_aug": [], "forward_backward_optimizer": [], "ema": [], "total": []}
    model.train()
    for step in range(warmup + steps):
        _sync(device)
        t0 = time.perf_counter()
        views = []
        for _ in range(t.accumulate):
            idx = torch.randint(len(images), (micro,), generator=gen, device=device)
            x = images[idx]
            v1 = normalize_images(augment(x, cfg.aug.view1, size, gen), mean, std)
            v2 = normalize_images(augment(x, cfg.aug.view2, size, gen), mean, std)
            if t.channels_last:
                v1, v2 = (v.contiguous(memory_format=torch.channels_last) for v in (v1, v2))
            views.append((v1, v2))
        _sync(device)
        t1 = time.perf_counter()
        for v1, v2 in views:
            with _autocast(cfg, device):
                loss, _ = model(v1, v2)
            (loss / t.accumulate).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        _sync(device)
        t2 = time.perf_counter()
        if cfg.method.target == "ema":
            ema_update(*model.ema_pairs(), 0.99)
        _sync(device)
        t3 = time.perf_counter()
        if step >= warmup:
            for name, dt in (
                ("data_aug", t1 - t0),
                ("forward_backward_optimizer", t2 - t1),
                ("ema", t3 - t2),
                ("total", t3 - t0),
            ):
                parts[name].append(dt)
    median_ms = {k: 1000 * statistics.median(v) for k, v in parts.items()}
    return {
        "schema": SCHEMA_VERSION,
        "kind": "bench",
        "run_id": run_id(cfg),
        "config": to_dict(cfg),
        "steps": steps,
        "warmup": warmup,
        "images_per_s": t.batch_size / (median_ms["total"] / 1000),
        "step_ms": median_ms,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_name(),
        "peak_memory_bytes": torch.cuda.max_memory_allocated(device) if device.type == "cuda" else _peak_rss(),
        "threads": torch.get_num_threads(),
        "provenance": provenance(),
        "time": time.time(),
    }
