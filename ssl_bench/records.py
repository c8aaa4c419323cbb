"""One self-describing JSON record per run, written atomically.

A record is written to a temporary file in the same directory, flushed to disk, then
renamed over the final name: a reader (or a crash, kill -9 or preemption at any moment)
sees either the old file or the complete new one, never a torn one.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

RECORD_NAME = "record.json"
CHECKPOINT_NAME = "checkpoint.pt"  # the training state beside it (ssl_bench.checkpoint)
CONFIG_NAME = "config.json"  # the run's full config, written when it starts
ENCODER_NAME = "encoder.pt"  # the trained backbone's weights, written when it finishes
_UMASK = os.umask(0)
os.umask(_UMASK)
SCHEMA_VERSION = 3  # records of schemas 1 and 2 are upgraded by ssl_bench.migrate


def atomic_write(path: Path, write: Callable[[Any], None], mode: str = "w") -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates 0600; records on a shared filesystem must be readable like any file.
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


def write_json_atomic(path: Path, obj: dict) -> None:
    atomic_write(path, lambda f: json.dump(obj, f, indent=1, sort_keys=False, allow_nan=True))


def read_record(path: Path) -> dict | None:
    """The JSON object at `path`, or None when it is absent or unreadable (heartbeats,
    configs: files whose loss costs nothing). Run records go through `load_record`."""
    try:
        with open(path) as f:
            obj = json.load(f)
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


class CorruptRecord(Exception):
    """A record file that exists but is not a record (torn by a foreign tool, truncated
    by a full disk, edited by hand): never mistaken for a missing run, never deleted."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"corrupt record {path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def load_record(path: Path) -> dict | None:
    """The run record at `path`; None when there is none; CorruptRecord when the file is
    there but unreadable, not JSON, or not a record (no status)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise CorruptRecord(path, f"unreadable ({type(err).__name__})") from None
    try:
        obj = json.loads(text)
    except ValueError as err:
        raise CorruptRecord(path, f"not JSON ({err})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("status"), str):
        raise CorruptRecord(path, "no status field")
    return obj


def load_records(grid_dir: Path) -> dict[Path, dict]:
    """Every run record under a grid's directory (<out>/<ablation>/*/record.json), by path;
    a corrupt one as {"status": "corrupt", "error": ...}, so it is shown, never dropped."""
    found = {}
    for path in sorted(Path(grid_dir).glob(f"*/{RECORD_NAME}")):
        try:
            rec = load_record(path)
        except CorruptRecord as err:
            rec = {"status": "corrupt", "error": str(err)}
        if rec is not None:
            found[path] = rec
    return found


def set_aside(path: Path) -> Path:
    """Rename a corrupt record out of the way (never delete it) and return its new name."""
    path = Path(path)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    k = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{k}")
        k += 1
    os.replace(path, target)
    return target


def _git_commit() -> dict:
    src = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": sha or None, "git_dirty": bool(dirty) if sha else None}


def provenance() -> dict:
    versions = {}
    for pkg in ("ssl-bench", "torch", "torchvision", "timm", "numpy", "scikit-learn", "submitit"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    slurm = {
        k: os.environ[k]
        for k in (
            "SLURM_JOB_ID",
            "SLURM_ARRAY_JOB_ID",
            "SLURM_ARRAY_TASK_ID",
            "SLURM_RESTART_COUNT",
            "SLURM_JOB_PARTITION",
        )
        if k in os.environ
    }
    return {
        "versions": versions,
        **_git_commit(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "slurm": slurm or None,
    }


def machine_of(record: dict) -> str:
    """What a run's arithmetic depends on: the device (CPU model, cores and vector
    extensions, or GPU) and the torch version. Runs on different ones differ beyond seed
    noise's rounding, so a comparison reads runs of one machine."""
    cost, versions = record.get("cost") or {}, (record.get("provenance") or {}).get("versions") or {}
    return f"{cost.get('device_name') or 'unknown device'}, torch {versions.get('torch') or 'unknown'}"
