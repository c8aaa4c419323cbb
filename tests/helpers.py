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
    Both are far above what the slowest 2-core CPU measured needs; a slow CPU only waits
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


SLURM_BINARIES = ("slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo", "munged")
# scripts/slurm-local.sh's exit code where Slurm lacks multiple-slurmd (no emulated nodes).
NO_MULTIPLE_SLURMD = 5


def _which(name):
    import shutil

    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/bin")


class local_slurm:  # noqa: N801 (used like a function: `with local_slurm(base, nodes) as base`)
    """A real Slurm on localhost for one test module (scripts/slurm-local.sh), with `nodes`
    emulated nodes; skips, saying why, only where Slurm cannot run here (not root, the
    daemons not installed, or no multiple-slurmd support for nodes > 1)."""

    def __init__(self, base, nodes: int = 1) -> None:
        import os
        from pathlib import Path

        self.base, self.nodes = Path(base), nodes
        self.script = Path(__file__).resolve().parent.parent / "scripts" / "slurm-local.sh"
        self.env = {**os.environ, "PATH": os.environ["PATH"] + ":/usr/sbin:/sbin"}
        self.old: dict = {}

    def __enter__(self):
        import logging
        import os

        import pytest

        if os.geteuid() != 0:
            pytest.skip("a local Slurm needs root (slurmd); run the suite as root to include these tests")
        missing = [b for b in SLURM_BINARIES if not _which(b)]
        if missing:
            pytest.skip(f"Slurm is not installed ({', '.join(missing)} missing): run scripts/slurm-local.sh install")
        pytest.importorskip("submitit")
        up = self._script("up", str(self.nodes))
        if up.returncode == NO_MULTIPLE_SLURMD:
            pytest.skip(up.stderr.strip())
        assert up.returncode == 0, up.stderr + up.stdout
        self.old = {k: os.environ.get(k) for k in ("SLURM_CONF", "PATH")}
        os.environ["SLURM_CONF"] = str(self.base / "slurm.conf")
        os.environ["PATH"] = self.env["PATH"]
        logging.getLogger("submitit").setLevel(logging.ERROR)
        return self.base

    def __exit__(self, *exc) -> None:
        import os

        self._script("down")
        for k, v in self.old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def _script(self, *args: str):
        import subprocess

        return subprocess.run(
            [str(self.script), args[0], str(self.base), *args[1:]],
            capture_output=True,
            text=True,
            timeout=600,
            stdin=subprocess.DEVNULL,
            env=self.env,
        )


def queue_state() -> str:
    """squeue's view of this user's jobs: part of the progress a wait watches."""
    import subprocess

    return subprocess.run(["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True).stdout.strip()


def wait_for(done, what, progress, poll_s: float = 0.5, queue: bool = True):
    """Wait on progress (the queue's states, the records, a heartbeat's step), never on a
    fixed deadline: a slower CPU only makes this take longer. On failure, cancel every job.
    `queue=False` leaves squeue out of the progress, for a wait polled every few ms."""
    import subprocess

    try:
        wait_until(done, (lambda: (queue_state(), progress())) if queue else progress, what, poll_s=poll_s)
    except AssertionError as err:
        subprocess.run(["scancel", "--user=root"], capture_output=True)
        raise AssertionError(f"{err}; squeue:\n{queue_state()}") from None


# --- augmentation tests (tests/test_augment*.py) ------------------------------------------


def gen(seed: int = 0):
    """A CPU torch.Generator seeded with `seed`."""
    import torch

    return torch.Generator().manual_seed(seed)


def images(b: int, c: int, h: int = 12, w: int = 14, seed: int = 0):
    """Random float images with some grey, saturated and quantised pixels (HSV edge cases)."""
    import torch

    x = torch.rand(b, c, h, w, generator=gen(seed))
    if c == 3:
        x[:, :, 0] = x[:, :1, 0]  # grey row: max == min
        x[:, 0, 1] = 1.0
        x[:, 1, 1] = 0.0
    x[:, :, 2] = (x[:, :, 2] * 4).round() / 4  # ties between channels and at 0.5
    return x


def assert_close(actual, expected, atol: float) -> None:
    """Same shape, and a max abs difference of at most `atol`."""
    assert actual.shape == expected.shape
    err = (actual - expected).abs().max().item()
    assert err <= atol, f"max abs diff {err:.3g} > {atol:.3g}"


# --- dataset tests (tests/test_data*.py) ----------------------------------------------------


def one_line_error(excinfo) -> str:
    """The message of the DatasetError in `excinfo` (a pytest.ExceptionInfo), checked to be one line."""
    message = str(excinfo.value)
    assert "\n" not in message
    return message
