"""One live process per run id: a lock on the run directory, and a heartbeat that tells
other processes (status, a second `ssl-bench run`, a sweep on another node) who is
training the run and how far it got.

The lock is `flock(2)` on `<run dir>/lock`: the kernel drops it when its holder dies,
kill -9 included, so a dead run never blocks its own resumption. Where a shared filesystem
does not make flock visible across hosts, a fresh heartbeat written from another host is
the second line of defence; a requeued SLURM task recognises its own earlier heartbeat
by the job id and takes over.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ssl_bench.records import read_record, write_json_atomic

HEARTBEAT_NAME = "heartbeat.json"
LOCK_NAME = "lock"
HEARTBEAT_EVERY_S = 30.0
# A heartbeat older than this (10 missed beats) belongs to a process that is gone.
STALE_AFTER_S = 300.0


class AlreadyRunning(Exception):
    """Another live process is training this run id."""


def slurm_job() -> str | None:
    """This task's SLURM id (`<array>_<task>` for an array task), or None outside SLURM."""
    job = os.environ.get("SLURM_JOB_ID")
    if job and os.environ.get("SLURM_ARRAY_TASK_ID"):
        return f"{os.environ.get('SLURM_ARRAY_JOB_ID')}_{os.environ['SLURM_ARRAY_TASK_ID']}"
    return job


def is_alive(heartbeat: dict, now: float | None = None) -> bool:
    """Whether the process that wrote `heartbeat` is still running, as far as this host can tell."""
    now = time.time() if now is None else now
    if heartbeat.get("ended") or now - heartbeat.get("time", 0) > STALE_AFTER_S:
        return False
    if heartbeat.get("host") == socket.gethostname() and not heartbeat.get("slurm_job"):
        try:
            pid = int(heartbeat["pid"])
            os.kill(pid, 0)  # a local run killed with -9 leaves a fresh-looking heartbeat
        except (OSError, KeyError, ValueError, TypeError):
            return False
        return _not_zombie(pid)
    return True


def _not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def describe(heartbeat: dict | None) -> str:
    if not heartbeat:
        return "by another process"
    where = f"on {heartbeat.get('host')}, pid {heartbeat.get('pid')}"
    if heartbeat.get("slurm_job"):
        where += f" (SLURM job {heartbeat['slurm_job']})"
    step = heartbeat.get("step")
    at = "starting" if step is None else f"step {step}/{heartbeat.get('total')}"
    return f"{where}, {at}"


class Heartbeat:
    """`<run dir>/heartbeat.json`, refreshed every HEARTBEAT_EVERY_S from a thread through
    training and evaluation alike (a long evaluation never looks like a dead run), and
    marked ended when this process is done with the run, whatever the outcome."""

    def __init__(self, run_dir: Path, progress: Callable[[], tuple[int | None, int | None]] | None = None) -> None:
        self.path = Path(run_dir) / HEARTBEAT_NAME
        self.progress = progress or (lambda: (None, None))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self, ended: bool = False) -> None:
        step, total = self.progress()
        write_json_atomic(
            self.path,
            {
                "time": time.time(),
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "slurm_job": slurm_job(),
                "step": step,
                "total": total,
                "ended": ended,
            },
        )

    def __enter__(self) -> Heartbeat:
        self.beat()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="ssl-bench-heartbeat")
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY_S):
            try:
                self.beat()
            except OSError:
                pass  # a full or flaky disk must not kill the run; the next beat tries again

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.beat(ended=True)
        except OSError:
            pass


def check_not_running(run_dir: Path, run_id: str) -> None:
    """Raise AlreadyRunning when the run's heartbeat shows a live process: a cheap look
    before loading data; `RunClaim` then decides for certain."""
    hb = read_record(Path(run_dir) / HEARTBEAT_NAME)
    if hb and is_alive(hb) and not _earlier_self(hb):
        raise AlreadyRunning(_refusal(run_id, hb))


def _earlier_self(hb: dict) -> bool:
    """A heartbeat this SLURM task left before it was preempted or requeued."""
    mine = slurm_job()
    return bool(mine) and hb.get("slurm_job") == mine


def _refusal(run_id: str, hb: dict | None) -> str:
    return f"run {run_id} is already running {describe(hb)}; not starting it twice"


class RunClaim:
    """The right to train one run directory, held from before its first write until its
    record is final. Raises AlreadyRunning when another live process holds it."""

    def __init__(self, run_dir: Path, run_id: str) -> None:
        self.run_dir = Path(run_dir)
        self.run_id = run_id
        self._fd: int | None = None

    def __enter__(self) -> RunClaim:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(_refusal(self.run_id, read_record(self.run_dir / HEARTBEAT_NAME))) from None
        hb = read_record(self.run_dir / HEARTBEAT_NAME)
        # flock may not reach across hosts on a shared filesystem: a fresh heartbeat from
        # another host is believed (the same host's was decided by the lock).
        if hb and hb.get("host") != socket.gethostname() and is_alive(hb) and not _earlier_self(hb):
            os.close(fd)
            raise AlreadyRunning(_refusal(self.run_id, hb))
        self._fd = fd
        Heartbeat(self.run_dir).beat()  # visible as running from now on, before data or model exist
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is None:
            return
        path = self.run_dir / HEARTBEAT_NAME
        try:  # keep the last step the run reached; only say that nobody holds it now
            write_json_atomic(path, {**(read_record(path) or {}), "time": time.time(), "ended": True})
        except OSError:
            pass
        os.close(self._fd)  # releases the flock
        self._fd = None
