"""Scores that many runs share, computed once: the random-init encoder's and the pixels'.

Every run of a grid that shares the architecture, seed, data and evaluation config scores
the same random-init encoder (build_model seeds as training does) and the same pixels; a
grid of n rows would score them n times. They are kept under the grid's output folder,
one JSON file per key, written atomically under an exclusive lock: a second run waits for
the first and reads its file, a resumed sweep reads it, and a file that does not parse or
names another key is computed again, never trusted.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from ssl_bench.config import RunConfig, _identity
from ssl_bench.records import read_record, write_json_atomic

FOLDER = "_baselines"
# What a score depends on. The random-init encoder: everything that builds and scores the
# model (the method's heads, the backbone, the seed, data, evaluation, arithmetic), not how
# it would be trained. The pixels: the data, the evaluation and the seed (it draws the
# label fractions), and the arithmetic.
_TRAINING_ONLY = {"aug", "method_name", "preset"}
_METHOD_TRAINING = {"optim", "ema", "loss", "symmetry", "predictor_lr"}
_TRAIN_KEPT = {"precision"}


def baseline_key(cfg: RunConfig, what: str) -> str:
    ident = _identity(cfg)
    if what == "pixels":
        parts = {k: ident.get(k) for k in ("data", "eval", "seed")}
    else:
        parts = {k: v for k, v in ident.items() if k not in _TRAINING_ONLY}
        parts["method"] = {k: v for k, v in (parts.get("method") or {}).items() if k not in _METHOD_TRAINING}
    parts["train"] = {k: v for k, v in (ident.get("train") or {}).items() if k in _TRAIN_KEPT}
    parts["what"] = what
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def shared_score(out_dir: Path, cfg: RunConfig, what: str, compute: Callable[[], dict]) -> dict:
    """The score `what` ("random_init", "initialisation" or "pixels") for `cfg`, from the grid's cache or
    computed (and stored) by `compute`."""
    key = baseline_key(cfg, what)
    folder = Path(out_dir) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{what}-{key}.json"
    with open(folder / f".{what}-{key}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the process dies
        cached = read_record(path)
        if isinstance(cached, dict) and cached.get("key") == key and isinstance(cached.get("score"), dict):
            return cached["score"]
        score = compute()
        write_json_atomic(path, {"key": key, "what": what, "score": score})
        return score
