"""Throughput of the training step: steady-state images/s, where the time goes, peak memory.

Two measurements of the loop's own step (`ssl_bench.step`):
- steady state: `steps` updates back to back with one device synchronisation at the end,
  exactly as the training loop queues them; this is the images/s figure;
- split: the same parts called one by one with a synchronisation after each, so each
  part's time is exact; their sum is a little above the steady step, because nothing
  overlaps.
The record is a figure for reports, not a test: timed tests are flaky, benchmarks print.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Iterator, Sequence

import torch

from ssl_bench.ablation import Point
from ssl_bench.batches import epoch_batches, training_images
from ssl_bench.config import RunConfig, run_id, to_dict
from ssl_bench.data import ImageData
from ssl_bench.device import device_name, peak_memory, reset_peak_memory, resolve_device, synchronize
from ssl_bench.distributed import SINGLE
from ssl_bench.records import SCHEMA_VERSION, provenance
from ssl_bench.step import Step, build_step, uses_bf16
from ssl_bench.sweep_plan import Plan, plan_sweep
from ssl_bench.train import load_run_data

PARTS = ("data_aug", "forward_backward", "optimizer", "ema")
# The precisions whose matmul rate `bench` measures, to place the step against.
PEAK_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def resolved_switches(step: Step) -> dict:
    """The speed switches as they act in this step (precision "auto" and channels_last
    none resolved for its device and network)."""
    precision = "bf16" if uses_bf16(step.cfg, step.device) else "fp32"
    return {"precision": precision, "channels_last": step.channels_last, "compile": step.cfg.train.compile}


def timing_lr(cfg: RunConfig) -> float:
    """A small learning rate: a benchmark times updates, it does not train."""
    return cfg.method.optim.base_lr * cfg.train.batch_size / 256 * 0.01


def bench(
    cfg: RunConfig,
    device_name_or_auto: str = "auto",
    data_dir: str | None = None,
    steps: int = 30,
    warmup: int = 10,
    data: ImageData | None = None,
) -> dict:
    """Time `steps` updates after `warmup` untimed ones (compilation, cuDNN autotuning and
    the allocator settle there), then time each part of `steps` more."""
    device = resolve_device(device_name_or_auto)
    data = data if data is not None else load_run_data(cfg, data_dir)
    step, it, lr, tau = _prepared_step(cfg, data, device)
    t = cfg.train
    for _ in range(warmup):
        step(next(it), lr, tau)
    synchronize(device)
    reset_peak_memory(device)
    faults = minor_page_faults()
    start = time.perf_counter()
    for _ in range(steps):
        loss = step(next(it), lr, tau)
    synchronize(device)
    steady_s = time.perf_counter() - start
    faults = minor_page_faults() - faults
    if not torch.isfinite(loss):
        raise RuntimeError(f"the benchmark's loss is {loss.item()}: the timed steps are not meaningful")

    split = _split(step, it, lr, tau, steps)
    flops = update_flops(step, next(it), lr, tau)
    return {
        "schema": SCHEMA_VERSION,
        "kind": "bench",
        "run_id": run_id(cfg),
        "config": to_dict(cfg),
        "switches": resolved_switches(step),
        "steps": steps,
        "warmup": warmup,
        "images_per_s": steps * t.batch_size / steady_s,
        "step_ms": 1000 * steady_s / steps,
        "split_ms": split,
        "flops_per_update": flops,
        "achieved_gflops": flops / (steady_s / steps) / 1e9,
        "device": str(device),
        "device_name": device_name(device),
        "peak_memory_bytes": peak_memory(device),
        "page_faults_per_update": faults / steps,
        "threads": torch.get_num_threads(),
        "provenance": provenance(),
        "time": time.time(),
    }


def minor_page_faults() -> int:
    """The page faults this process has taken so far that needed no disk read: on the CPU,
    mostly the first touch of memory the allocator mapped afresh (`ssl_bench.host_memory`)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _prepared_step(cfg: RunConfig, data: ImageData, device: torch.device):
    """(step, endless batches, a timing lr, τ): an update as the loop runs it, ready to time."""
    images = training_images(data.ssl_images, cfg, device)
    size = cfg.data.image_size or images.shape[-1]
    mean = torch.tensor(data.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(data.std, device=device).view(1, -1, 1, 1)
    step = build_step(cfg, images.shape[1], mean, std, size)
    step.model.train()
    tau = 0.99 if cfg.method.target == "ema" else None
    return step, _endless_batches(cfg, images, device), timing_lr(cfg), tau


PLAN_STEPS, PLAN_WARMUP = 10, 5  # the updates a sweep's plan times of each step shape, after its warm-up


def seconds_per_update(
    cfg: RunConfig, data: ImageData, device: torch.device, steps: int = PLAN_STEPS, warmup: int = PLAN_WARMUP
) -> float:
    """The steady time of one update, over `steps` after `warmup`: what a sweep's plan
    times each of its step shapes with (`ssl_bench.sweep_plan`)."""
    step, it, lr, tau = _prepared_step(cfg, data, device)
    for _ in range(warmup):
        step(next(it), lr, tau)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step(next(it), lr, tau)
    synchronize(device)
    return (time.perf_counter() - start) / steps


def update_flops(step: Step, batch: list[torch.Tensor], lr: float, tau: float | None) -> int:
    """Floating-point operations of one update as torch counts them (`torch.utils.flop_counter`:
    matrix products and convolutions, forward and backward; the elementwise rest, a few
    percent of a convnet's work, is not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step(batch, lr, tau)
    return int(counter.get_total_flops())


def matmul_peak_gflops(device: torch.device, dtype: torch.dtype, seconds: float = 0.3) -> float:
    """This machine's matrix-product rate, measured now: square products of a size that fills
    the device, repeated for about `seconds` after one warm-up; the best rate of the repeats."""
    n = 8192 if device.type == "cuda" else 1024
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    a @ b
    synchronize(device)
    best, spent = 0.0, 0.0
    while spent < seconds:
        start = time.perf_counter()
        a @ b
        synchronize(device)
        dt = time.perf_counter() - start
        spent += dt
        best = max(best, 2 * n**3 / dt / 1e9)
    return best


def efficiency_line(rec: dict, peaks: dict[str, float]) -> str:
    """What the step achieves against the machine's measured matmul rate in its precision."""
    peak = peaks[rec["switches"]["precision"]]
    return (
        f"efficiency: {rec['flops_per_update'] / 1e9:.1f} GFLOP per update (torch.utils.flop_counter), "
        f"{rec['achieved_gflops']:.0f} GFLOP/s achieved, {100 * rec['achieved_gflops'] / peak:.0f} % of this "
        f"machine's {rec['switches']['precision']} matmul rate measured now ("
        + ", ".join(f"{k} {v:.0f}" for k, v in peaks.items())
        + " GFLOP/s)"
    )


def _endless_batches(cfg: RunConfig, images, device: torch.device) -> Iterator[list[torch.Tensor]]:
    """Epoch after epoch of the loop's own data path (device gather, or DataLoader workers
    when streaming)."""
    order_gen = torch.Generator().manual_seed(cfg.seed)
    while True:
        order = torch.randperm(len(images), generator=order_gen).to(device)
        yield from epoch_batches(images, order, 0, len(images) // cfg.train.batch_size, cfg, SINGLE)


def _split(step: Step, batches: Iterator[list[torch.Tensor]], lr: float, tau: float | None, steps: int) -> dict:
    """Median milliseconds of each part of an update, each behind a device sync."""
    device = step.device
    times: dict[str, list[float]] = {p: [] for p in (*PARTS, "total")}
    for _ in range(steps):
        synchronize(device)
        marks = [time.perf_counter()]
        views = step.update_views(next(batches))
        synchronize(device)
        marks.append(time.perf_counter())
        step.forward_backward_all(views)
        synchronize(device)
        marks.append(time.perf_counter())
        step.optimizer_step(lr)
        synchronize(device)
        marks.append(time.perf_counter())
        if tau is not None:
            step.ema(tau)
        synchronize(device)
        marks.append(time.perf_counter())
        for name, a, b in zip(PARTS, marks[:-1], marks[1:], strict=True):
            times[name].append(b - a)
        times["total"].append(marks[-1] - marks[0])
    return {name: 1000 * statistics.median(v) for name, v in times.items()}


def switch_variants(cfg: RunConfig, switches: dict) -> list[tuple[str, RunConfig]]:
    """The step with one speed switch flipped at a time from `switches`, the configured
    step's (`resolved_switches`), so a table shows what each switch buys on this device."""
    t = cfg.train
    bf16 = switches["precision"] == "bf16"
    layout = not switches["channels_last"]
    flips = [
        ("precision=" + ("fp32" if bf16 else "bf16"), {"precision": "fp32" if bf16 else "bf16"}),
        (f"channels_last={str(layout).lower()}", {"channels_last": layout}),
        (
            "compile=" + ("off" if t.compile != "off" else "default"),
            {"compile": "off" if t.compile != "off" else "default"},
        ),
    ]
    out = []
    for label, change in flips:
        out.append((label, dataclasses.replace(cfg, train=dataclasses.replace(t, **change))))
    return out


def format_line(label: str, rec: dict, reference: float | None = None) -> str:
    s = rec["split_ms"]
    ratio = f" ({rec['images_per_s'] / reference:.2f}x)" if reference else ""
    return (
        f"{label:<24} {rec['images_per_s']:>9.0f} images/s{ratio}  step {rec['step_ms']:.1f} ms; synced split: "
        f"data+aug {s['data_aug']:.1f} + fwd/bwd {s['forward_backward']:.1f} + optimizer {s['optimizer']:.1f} + "
        f"EMA {s['ema']:.1f} ms; peak memory {rec['peak_memory_bytes'] / 2**20:.0f} MiB; "
        f"{rec['page_faults_per_update']:.0f} page faults an update"
    )


def plan_here(
    points: Sequence[Point],
    data_dir: str | None,
    device_name_or_auto: str,
    steps_done: Callable[[Point], int] = lambda p: 0,
) -> Plan:
    """A local sweep's plan (`ssl_bench.sweep_plan`), each step shape timed on this device
    as the runs will use it, each dataset loaded once; an interrupted run counts only the
    updates it has left (`steps_done`)."""
    device = resolve_device(device_name_or_auto)
    loaded: dict[str, ImageData] = {}

    def time_update(cfg: RunConfig) -> tuple[float, int]:
        key = repr(cfg.data)
        if key not in loaded:
            loaded[key] = load_run_data(cfg, data_dir)
        data = loaded[key]
        return seconds_per_update(cfg, data, device), len(data.ssl_images)

    return plan_sweep(points, time_update, steps_done)
