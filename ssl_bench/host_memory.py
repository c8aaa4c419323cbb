"""The process keeps the memory a training step frees, instead of handing it back to the OS.

Every update frees and reallocates the same tensors: activations, gradients, views (tens
of MiB at the `cpu` preset). glibc's malloc serves a block over its mmap threshold with
a fresh mapping and unmaps it on free, and it returns a free heap top over 128 KiB to
the OS; while the threshold adjusts itself (from 128 KiB, only upwards, one freed block
at a time), the next update touches new pages again. On a 2-core AVX2-only AMD EPYC that
was about 15,000 page faults and 40 ms of kernel time in each 140 ms update of the `cpu`
preset's BYOL step; with the memory kept, the faults are gone and the update takes
about 111 ms (`ssl-bench bench` reports the faults of each step it times).

This is what the PyTorch CPU tuning guides get from jemalloc or tcmalloc, done with
glibc's own `mallopt`, so nothing needs installing or preloading. It changes no
arithmetic, so results and run ids do not change. It is not done where the user has
chosen for the allocator: a `MALLOC_*` or `GLIBC_TUNABLES` setting in the environment,
or an `LD_PRELOAD`ed allocator.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
from collections.abc import Mapping

# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# The largest mmap threshold glibc accepts on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX); a block
# over it is still mapped and unmapped, whatever is set.
MMAP_THRESHOLD = 32 * 2**20
# Freed memory at the heap top stays with the process up to this much.
TRIM_THRESHOLD = 2**30

_applied: bool | None = None


def user_chose_allocator(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment already chooses the allocator's behaviour: glibc's tunables
    (`MALLOC_*`, `GLIBC_TUNABLES`) or a preloaded library (jemalloc, tcmalloc)."""
    return any(k.startswith("MALLOC_") for k in environ) or bool(
        environ.get("GLIBC_TUNABLES") or environ.get("LD_PRELOAD")
    )


def keep_freed_memory() -> bool:
    """Set glibc's malloc to keep freed memory for reuse (once per process); True if it is
    set, False where the C library is not glibc or the user chose for the allocator."""
    global _applied
    if _applied is None:
        _applied = False
        if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc" and not user_chose_allocator():
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            # mallopt returns 1 on success.
            _applied = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
                libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
            )
    return _applied
