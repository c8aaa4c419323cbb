"""Shared test helpers (imported by test modules; pytest puts tests/ on sys.path)."""


def smoke_grid(ablation: str, out, *extra: str) -> list[str]:
    """argv of `ssl-bench run` for an ablation grid at the smoke preset."""
    return ["run", "--ablation", ablation, "--preset", "smoke", "--out", str(out), *extra]


# RunEnv keyword arguments for a run that prints nothing.
QUIET = {"progress": False, "log": lambda msg: None}


def smoke(method: str = "byol", **overrides):
    """A RunConfig at the smoke preset (seconds on a CPU), with dotted-key overrides."""
    from ssl_bench.config import build_config

    return build_config(method, preset="smoke", overrides=overrides)


def wait_until(done, progress, what: str, stall_s: float = 900.0, cap_s: float = 3600.0, poll_s: float = 0.5):
    """Wait for `done()` on progress, not on a clock: fail only when `progress()` (a job's
    state, a heartbeat's step) has not changed for `stall_s`, or after `cap_s` in all.
    Both are far above what the slowest machine of the kind needs; a slow CPU only waits
    longer, it never fails."""
    import time

    start = last_change = time.monotonic()
    seen = progress()
    while not done():
        now = time.monotonic()
        current = progress()
        if current != seen:
            seen, last_change = current, now
        if now - last_change > stall_s or now - start > cap_s:
            raise AssertionError(
                f"no progress towards {what} for {now - last_change:.0f}s ({now - start:.0f}s in all); last: {seen!r}"
            )
        time.sleep(poll_s)
