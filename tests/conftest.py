"""The machine under the suite, printed at its end: CPUs sold under one name differ in their
vector units (AVX2 only, or AVX-512 with native bf16) and so in the order their kernels sum
floats; a log that names the CPU and its flags says which one a green or red run was on."""

from __future__ import annotations

import os
import platform

import pytest

VECTOR_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "asimd", "sve")


def cpu_description() -> str:
    """`<model>, <n> CPUs, flags <the vector flags present>` from /proc/cpuinfo (Linux), else
    what the platform module knows."""
    model, flags = "", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not model:
                    model = value.strip()
                elif key in ("flags", "Features"):
                    flags |= set(value.split())
    except OSError:
        pass
    present = " ".join(f for f in VECTOR_FLAGS if f in flags) or "none found"
    model = model or platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} CPUs, vector flags: {present}"


@pytest.hookimpl(trylast=True)  # after the durations, beside the result line
def pytest_terminal_summary(terminalreporter) -> None:
    import torch

    terminalreporter.write_line(
        f"machine: {cpu_description()}; torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
