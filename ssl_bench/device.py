"""Which device a run uses and what it is, and the few calls that differ on the CPU and CUDA."""

from __future__ import annotations

import os

import torch


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU, where nothing is queued)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> int:
    """Peak device memory in bytes (on the CPU: the process's peak resident set)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# The vector extensions that decide CPU speed here: AVX-512 roughly doubles fp32
# convolutions over AVX2, and bf16 autocast is only fast with native bf16 instructions.
SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def _cpuinfo() -> tuple[str | None, set[str] | None]:
    """The CPU's model name and flags from /proc/cpuinfo (None where there is none)."""
    model, flags = None, None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if model is None and line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                elif flags is None and line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                if model is not None and flags is not None:
                    break
    except OSError:
        pass
    return model, flags


def cpu_speed_flags() -> list[str] | None:
    """Which of SPEED_FLAGS this CPU has (None: unknown, not Linux)."""
    flags = _cpuinfo()[1]
    return None if flags is None else [f for f in SPEED_FLAGS if f in flags]


def cpu_has_native_bf16() -> bool | None:
    """Whether the CPU computes bf16 natively (None: cannot tell on this OS)."""
    flags = cpu_speed_flags()
    return None if flags is None else bool({"avx512_bf16", "amx_bf16"} & set(flags))


def device_name(device: torch.device) -> str:
    """The GPU's name, or the CPU's model, cores and vector extensions, for records and reports."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model, _ = _cpuinfo()
    flags = cpu_speed_flags()
    ext = f"; {' '.join(flags) if flags else 'no AVX2'}" if flags is not None else ""
    return f"{model or 'cpu'} ({os.cpu_count()} cores{ext})"


def bf16_cpu_slowdown(reps: int = 3) -> float:
    """How many times slower a convnet-sized convolution runs under bf16 autocast than in
    fp32 on this CPU, timed side by side (a fraction of a second)."""
    import time

    x = torch.randn(64, 32, 14, 14)
    conv = torch.nn.Conv2d(32, 64, 3, padding=1)

    def timed(bf16: bool) -> float:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            conv(x)  # warm-up: first calls pick kernels
            start = time.perf_counter()
            for _ in range(reps):
                conv(x)
            return time.perf_counter() - start

    return timed(True) / max(timed(False), 1e-9)


def warn_if_slow_precision(uses_bf16: bool, device: torch.device, log) -> None:
    """One warning line when bf16 autocast would run emulated on a CPU without native bf16
    (the cpu preset's step: 18 images/s against 221 in fp32 on an AVX2-only Xeon)."""
    if not uses_bf16 or device.type != "cpu" or cpu_has_native_bf16() is not False:
        return
    model, _ = _cpuinfo()
    log(
        f"warning: train.precision=bf16 on a CPU without native bf16 ({model or 'this CPU'}: no avx512_bf16 "
        f"or amx_bf16): autocast emulates it, {bf16_cpu_slowdown():.0f}x slower than fp32 on a convolution "
        "measured just now; set train.precision=fp32 (or auto) unless bf16 numerics are the point"
    )
