"""The training process keeps the memory its steps free (ssl_bench.host_memory)."""

import json
import platform
import subprocess
import sys

import pytest

from ssl_bench.host_memory import user_chose_allocator

GLIBC = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"

# The cpu preset's BYOL step (the main job's), a few updates after a warm-up, with the
# setting made or (as a process without it) skipped; prints what it measured.
STEPS = """
import json, sys, torch
import ssl_bench.host_memory as host_memory
from ssl_bench.bench import _prepared_step, minor_page_faults
from ssl_bench.config import build_config
from ssl_bench.train import load_run_data

if sys.argv[1] == "skip":
    host_memory._applied = False  # as if already decided against: build_step sets nothing
cfg = build_config("byol")
step, batches, lr, tau = _prepared_step(cfg, load_run_data(cfg, None), torch.device("cpu"))
for _ in range(8):  # glibc settles within about five updates
    step(next(batches), lr, tau)
faults = minor_page_faults()
for _ in range(6):
    loss = step(next(batches), lr, tau)
print(json.dumps({"applied": host_memory._applied, "faults": (minor_page_faults() - faults) / 6,
                  "loss": loss.item()}))
"""


def run_steps(mode: str, env: dict | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", STEPS, mode], capture_output=True, text=True, check=True, env=env, timeout=600
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_users_own_allocator_choice_is_left_alone():
    assert not user_chose_allocator({"PATH": "/usr/bin", "OMP_NUM_THREADS": "2"})
    assert user_chose_allocator({"MALLOC_MMAP_THRESHOLD_": "65536"})
    assert user_chose_allocator({"MALLOC_ARENA_MAX": "2"})
    assert user_chose_allocator({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"})
    assert user_chose_allocator({"LD_PRELOAD": "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"})


@pytest.mark.skipif(not GLIBC, reason="the setting is glibc's mallopt")
def test_kept_memory_removes_the_steps_page_faults_and_changes_no_number():
    """Without it each update first-touches the tens of MiB it allocates afresh (thousands
    of page faults, counted by the kernel, not timed); with it, the memory is reused. The
    arithmetic is the same, so the loss after the same updates is the same, bit for bit."""
    kept, fresh = run_steps("keep"), run_steps("skip")
    assert kept["applied"] is True and fresh["applied"] is False
    assert fresh["faults"] > 1000, fresh
    assert kept["faults"] < fresh["faults"] / 10, (kept, fresh)
    assert kept["loss"] == fresh["loss"]


@pytest.mark.skipif(not GLIBC, reason="the setting is glibc's mallopt")
def test_a_malloc_setting_in_the_environment_is_not_overridden():
    import os

    env = {**os.environ, "MALLOC_TRIM_THRESHOLD_": "131072"}
    assert run_steps("keep", env)["applied"] is False
