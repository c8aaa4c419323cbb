"""A trained run's results for its record: the trained encoder, its random-init twin and
the pixels scored alike (the last two shared by the grid, `ssl_bench.baseline_cache`), the
weights it started from where it continued pretraining, the curves, kNN against training
minutes, and what the run cost."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import torch

from ssl_bench.baseline_cache import shared_score
from ssl_bench.config import RunConfig
from ssl_bench.device import device_name, peak_memory
from ssl_bench.loop import Loop
from ssl_bench.scoring import evaluate_pixels
from ssl_bench.step import build_model


def finish_record(loop: Loop, train_wall: float, device: torch.device) -> dict:
    """The record's results: the trained and the random-init encoder scored alike, the
    curves, kNN against training minutes, and what the run cost."""
    cfg, state = loop.cfg, loop.state
    not_scored = loop.data.no_evaluation  # why there is nothing to score on, or None
    loop.env.log(f"not evaluated: {not_scored}" if not_scored else "evaluating the trained and the random-init encoder")
    eval_start = time.monotonic()
    trained = loop.evaluate(loop.step_fn.model, full=True) if not_scored is None else {}
    s = loop.step_fn

    def score_start(start: RunConfig) -> Callable[[], dict]:
        # build_model seeds as training did, so this is the run's own initialisation.
        return lambda: loop.evaluate(build_model(start, loop.images.shape[1], s.size).to(device), full=True)

    # Shared by every run of the grid with this architecture, seed, data and evaluation.
    shared = loop.env.out_dir
    random = dataclasses.replace(cfg, init=None)
    random_init = shared_score(shared, random, "random_init", score_start(random)) if not_scored is None else None
    # Continued pretraining: the weights it started from, scored alike, say what training added.
    started = {}
    if cfg.init is not None and not_scored is None:
        started = {"initialisation": shared_score(shared, cfg, "initialisation", score_start(cfg))}
    pixels = {}
    if cfg.eval.pixels and not_scored is None:
        pixels = {
            "pixels": shared_score(
                shared, cfg, "pixels", lambda: evaluate_pixels(cfg, loop.data, s.mean, s.std, s.size)
            )
        }
    clock = state.train_s_at_epoch
    timed = [p for p in state.curves if "knn_top1" in p and p["epoch"] in clock]
    return {
        "status": "done",
        "finished": time.time(),
        "resumes": state.resumes,
        "metrics": {**trained, "final_loss": state.curves[-1]["loss"]},
        "random_init": random_init,
        **started,
        **pixels,
        "curves": state.curves,
        # kNN top-1 against minutes of training (the curve's evaluations, then the final one).
        "time_to_accuracy": [
            {"epoch": p["epoch"], "train_min": clock[p["epoch"]] / 60, "knn_top1": p["knn_top1"]} for p in timed
        ]
        + [{"epoch": cfg.train.epochs, "train_min": train_wall / 60, "knn_top1": trained.get("knn_top1")}]
        * bool(trained),
        # Present only when the encoder was not scored (older records: it always was).
        **({"evaluation": {"run": False, "reason": not_scored}} if not_scored is not None else {}),
        "cost": {
            "train_wall_s": train_wall,
            "curve_eval_s": state.curve_eval_s,
            "eval_wall_s": time.monotonic() - eval_start,
            "images_per_s": state.images_seen / max(train_wall, 1e-9),
            "steps": loop.total,
            "device": str(device),
            "devices": loop.dist.world,
            "layout": loop.env.layout,
            "device_name": device_name(device),
            "peak_memory_bytes": peak_memory(device),
            "threads": torch.get_num_threads(),
        },
    }
