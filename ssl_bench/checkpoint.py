"""A run's training state on disk: written atomically, read back with tensors and plain
data only.

A checkpoint may come from anywhere a run directory can: a cluster's shared filesystem,
a folder somebody sent, `--resume DIR`. Unpickling arbitrary objects would run their
code, so it is loaded with `weights_only=True`, and everything in it (model and optimizer
state, generator states, the loop's counters and curves) is tensors, numbers, strings,
lists and dicts.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING

from ssl_bench.records import CHECKPOINT_NAME, atomic_write

if TYPE_CHECKING:
    import torch

__all__ = ["CHECKPOINT_NAME", "CheckpointError", "load_checkpoint", "save_checkpoint"]


class CheckpointError(Exception):
    """A checkpoint that is refused (it carries pickled objects) or cannot be read."""


def save_checkpoint(path: Path, blob: dict) -> None:
    import torch  # here: the CLI imports this module for CheckpointError alone

    atomic_write(path, lambda f: torch.save(blob, f), mode="wb")


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict | None:
    """The checkpoint at `path` (None when there is none), its tensors on `device`."""
    import torch

    path = Path(path)
    if not path.exists():
        return None
    try:
        blob = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"checkpoint {path} is refused: it holds a pickled object, not only tensors and plain data "
            f"({_unsupported(err)}), and loading it could run code; move it away to start the run afresh"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(err).__name__}: {_first_line(err)}); "
            "move it away to start the run afresh"
        ) from None
    if not isinstance(blob, dict) or not {"model", "optimizer", "aug_gen", "state"} <= set(blob):
        raise CheckpointError(f"checkpoint {path} is not an ssl-bench checkpoint; move it away to start afresh")
    return blob


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [""])[0][:200]


def _unsupported(err: BaseException) -> str:
    """The line of torch's long refusal that names the offending global."""
    for line in str(err).splitlines():
        if "Unsupported global" in line or "GLOBAL" in line:
            return line.strip().rstrip(".")[:200]
    return _first_line(err)
