"""The training loop over a typed state: set up (or restore), step, end epochs, checkpoint.

`TrainState` is everything a checkpoint holds besides the model, optimizer and generator
states; resuming from it gives the same batches, losses and curves as an uninterrupted
run. The loop reads losses back every few steps (every step on the CPU, where a read
costs nothing), and every rank reaches the same read points, since they are collective.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ssl_bench.batches import epoch_batches, on_device, training_images
from ssl_bench.checkpoint import CHECKPOINT_NAME, save_checkpoint
from ssl_bench.config import RunConfig
from ssl_bench.data import ImageData
from ssl_bench.distributed import Dist
from ssl_bench.eta import FirstSteps
from ssl_bench.liveness import Heartbeat
from ssl_bench.schedules import tau_cosine, warmup_cosine
from ssl_bench.scoring import evaluate_encoder
from ssl_bench.step import Step, build_step, peak_lr
from ssl_bench.tracking import NoTracker, Tracker

if TYPE_CHECKING:
    from ssl_bench.model import Siamese
    from ssl_bench.train import RunEnv


class Preempted(Exception):
    """Raised after a checkpoint when `should_stop` asked the run to stop (SLURM signal, test)."""


class NonFiniteLoss(RuntimeError):
    pass


@dataclass
class TrainState:
    """The loop's counters and curves: plain data, saved in every checkpoint."""

    step: int = 0
    curves: list = field(default_factory=list)  # one point per epoch (deterministic)
    wall_s: float = 0.0  # training seconds of the segments before the last checkpoint
    epoch_losses: list = field(default_factory=list)
    images_seen: int = 0
    resumes: list = field(default_factory=list)
    train_s_at_epoch: dict = field(default_factory=dict)  # clocks apart from curves: they are not deterministic
    curve_eval_s: float = 0.0  # seconds of the curve's kNN evaluations, not counted as training

    @classmethod
    def from_dict(cls, d: dict) -> TrainState:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


class Progress:
    """tqdm on a terminal; otherwise a plain log line about every tenth of the run."""

    def __init__(self, show: bool | None, log, total: int, start: int) -> None:
        self.bar = None
        self.log = log
        self.every = max(1, total // 10)
        if show if show is not None else sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=start, unit="step", file=sys.stderr, dynamic_ncols=True)

    def due(self, step: int, total: int) -> bool:
        """Whether this step prints a log line (and so needs its loss read back)."""
        return self.bar is None and (step % self.every == 0 or step == total)

    def update(self, step: int, total: int, info: dict | None) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if info is not None:
                self.bar.set_postfix(info, refresh=False)
        elif info is not None and self.due(step, total):
            self.log(f"step {step}/{total} " + " ".join(f"{k} {v}" for k, v in info.items()))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@dataclass
class Loop:
    """One run's training, from `setup` to the end of `train`; `env` is the RunEnv."""

    cfg: RunConfig
    env: object
    dist: Dist
    data: ImageData  # train and test images on the device, for evaluation
    images: torch.Tensor  # the images trained on (or streamed ImageFiles)
    step_fn: Step
    lrs: np.ndarray
    taus: np.ndarray | None
    steps_per_epoch: int
    run_dir: Path
    state: TrainState = field(default_factory=TrainState)
    heartbeat: Heartbeat | None = None
    pending: list = field(default_factory=list)  # (step, loss on the device) not yet read back
    seg_start: float = 0.0
    tracker: Tracker | NoTracker = field(default_factory=NoTracker)  # metrics.jsonl and the --log sinks

    @property
    def total(self) -> int:
        return self.steps_per_epoch * self.cfg.train.epochs

    @classmethod
    def setup(
        cls, cfg: RunConfig, env: RunEnv, data: ImageData, device: torch.device, run_dir: Path, dist: Dist
    ) -> Loop:
        # uint8, loaded onto the device once, so no DataLoader on the hot path; or, with
        # data.stream, decoded from disk by DataLoader workers (ssl_bench.batches).
        images = training_images(data.ssl_images, cfg, device)
        size = cfg.data.image_size or images.shape[-1]
        mean = torch.tensor(data.mean, device=device).view(1, -1, 1, 1)
        std = torch.tensor(data.std, device=device).view(1, -1, 1, 1)
        on = {k: on_device(getattr(data, k), device) for k in ("train_images", "test_images")}
        on |= {k: getattr(data, k).to(device) for k in ("train_labels", "test_labels")}
        data = ImageData(**{**data.__dict__, **on})
        step_fn = build_step(cfg, images.shape[1], mean, std, size, dist)
        t, o = cfg.train, cfg.method.optim
        steps_per_epoch = len(images) // t.batch_size
        total = steps_per_epoch * t.epochs
        lrs = warmup_cosine(peak_lr(cfg), round(o.warmup_epochs * steps_per_epoch), total)
        ema = cfg.method.ema if cfg.method.target == "ema" else None
        taus = None
        if ema is not None:  # BYOL's cosine from tau_base to 1, or MoCo's constant momentum
            taus = tau_cosine(ema.tau_base, total) if ema.cosine else np.full(total, ema.tau_base)
        return cls(cfg, env, dist, data, images, step_fn, lrs, taus, steps_per_epoch, run_dir)

    def restore(self, ckpt: dict, run_id: str) -> None:
        self.step_fn.model.load_state_dict(ckpt["model"])
        self.step_fn.optimizer.load_state_dict(ckpt["optimizer"])
        self.step_fn.aug_gen.set_state(ckpt["aug_gen"][self.dist.rank].cpu())
        self.state = TrainState.from_dict(ckpt["state"])
        restart = os.environ.get("SLURM_RESTART_COUNT")
        self.state.resumes.append({"step": self.state.step, "time": time.time(), "slurm_restart_count": restart})
        self.env.log(f"resuming run {run_id} from step {self.state.step}/{self.total}")

    def checkpoint(self) -> None:
        s = self.step_fn
        generators = self.dist.gather_objects(s.aug_gen.get_state())  # every rank takes part
        if self.dist.main:
            blob = {"model": s.model.state_dict(), "optimizer": s.optimizer.state_dict(), "aug_gen": generators}
            save_checkpoint(self.run_dir / CHECKPOINT_NAME, {**blob, "state": asdict(self.state)})
            if self.heartbeat is not None:
                self.heartbeat.beat()  # the step a resumed run would start from

    def read_losses(self) -> float:
        """The pending losses read back (one sync for all), checked, added to the epoch's."""
        values = self.dist.mean_values(torch.stack([loss for _, loss in self.pending]))
        for (step, _), value in zip(self.pending, values, strict=True):
            if not math.isfinite(value):
                raise NonFiniteLoss(
                    f"non-finite loss ({value}) at step {step} (epoch {step // self.steps_per_epoch + 1}); "
                    f"lr {self.lrs[step]:.3g}: try a lower method.optim.base_lr"
                )
        self.state.epoch_losses.extend(values)
        self.pending.clear()
        return values[-1]

    def train_seconds(self) -> float:
        """Wall clock of training so far, without the curve's kNN evaluations."""
        return self.state.wall_s + time.monotonic() - self.seg_start - self.state.curve_eval_s

    def batches(self, epoch: int, first_step: int) -> Iterator[list[torch.Tensor]]:
        # An epoch's order depends only on (seed, epoch), so a resumed run sees the same batches.
        g = torch.Generator().manual_seed(self.cfg.seed * 1_000_003 + epoch)
        order = torch.randperm(len(self.images), generator=g).to(self.step_fn.device)
        return epoch_batches(self.images, order, first_step, self.steps_per_epoch, self.cfg, self.dist, epoch)

    def train(self, run_id: str) -> float:
        """Steps until the last; returns the training seconds. Raises Preempted after a
        checkpoint when asked to stop."""
        env, s, total = self.env, self.state, self.total
        progress = Progress(env.progress, env.log, total, s.step)
        first_steps = FirstSteps(total, s.step, self.cfg.train.batch_size)
        read_every = env.read_every or (1 if self.step_fn.device.type == "cpu" else 50)
        self.seg_start = time.monotonic()
        self.step_fn.model.train()
        try:
            self._steps(progress, first_steps, read_every, run_id)
        finally:
            progress.close()
        return self.train_seconds()

    def _steps(self, progress: Progress, first_steps: FirstSteps, read_every: int, run_id: str) -> None:
        env, s, total = self.env, self.state, self.total
        last_ckpt = self.seg_start
        batches, batches_epoch = None, -1
        while s.step < total:
            epoch, k = divmod(s.step, self.steps_per_epoch)
            if epoch != batches_epoch:
                batches, batches_epoch = self.batches(epoch, k), epoch
            tau = float(self.taus[s.step]) if self.taus is not None and self.target_moves(s.step) else None
            self.pending.append((s.step, self.step_fn(next(batches), float(self.lrs[s.step]), tau)))
            s.step += 1
            s.images_seen += self.cfg.train.batch_size
            epoch_end = s.step % self.steps_per_epoch == 0
            if not (epoch_end or s.step % read_every == 0 or progress.due(s.step, total)):
                progress.update(s.step, total, None)
                continue
            loss = self.read_losses()
            estimate = first_steps.observe(s.step) if self.dist.main else None
            if estimate is not None:
                env.log(f"run {run_id}: {estimate[2]}")
                if env.on_estimate is not None:
                    env.on_estimate(self.train_seconds() + estimate[1])
            speed = s.images_seen / max(self.train_seconds(), 1e-9)
            tau_now = None if self.taus is None else float(self.taus[s.step - 1])
            values = {"train/loss": loss, "train/lr": float(self.lrs[s.step - 1]), "train/tau": tau_now}
            self.tracker.log(s.step, {**values, "train/images_per_s": speed})
            progress.update(s.step, total, {"epoch": epoch + 1, "loss": f"{loss:.4f}", "img/s": f"{speed:.0f}"})
            if self.after_read(epoch, epoch_end, last_ckpt):
                last_ckpt = time.monotonic()

    def target_moves(self, step: int) -> bool:
        """Whether the EMA target takes its step after update `step` (`method.ema.every`)."""
        every = self.cfg.method.ema.every or self.steps_per_epoch
        return (step + 1) % every == 0

    def after_read(self, epoch: int, epoch_end: bool, last_ckpt: float) -> bool:
        """At a read point: the epoch's end, then a checkpoint or a stop, decided by rank 0.
        Returns whether a checkpoint was written."""
        s = self.state
        checkpoint_due = time.monotonic() - last_ckpt > self.env.checkpoint_every_s
        if epoch_end:
            self.end_epoch(epoch)
            checkpoint_due = s.step < self.total
        stop = self.env.should_stop is not None and self.env.should_stop() and s.step < self.total
        checkpoint_due, stop = self.dist.decide((checkpoint_due, stop), self.step_fn.device)
        if checkpoint_due or stop:
            s.wall_s += time.monotonic() - self.seg_start
            self.seg_start = time.monotonic()
            self.checkpoint()
        if stop:
            raise Preempted(f"stopped at step {s.step}/{self.total}; checkpoint saved")
        return checkpoint_due or stop

    def end_epoch(self, epoch: int) -> None:
        """The epoch's curve point (mean loss, last lr and τ, an occasional kNN and the
        projections' spread) and its training seconds so far, kept apart: curves are
        deterministic, clocks are not."""
        s, cfg = self.state, self.cfg
        point = {"epoch": epoch + 1, "step": s.step, "loss": sum(s.epoch_losses) / len(s.epoch_losses)}
        point["lr"] = float(self.lrs[s.step - 1])
        s.train_s_at_epoch[epoch + 1] = self.train_seconds()
        if self.taus is not None:
            point["tau"] = float(self.taus[s.step - 1])
        every = cfg.eval.knn_every
        scored = self.data.no_evaluation is None  # an unlabelled folder without --eval-dir: nothing to score
        if every and scored and (epoch + 1) % every == 0 and epoch + 1 < cfg.train.epochs and self.dist.main:
            start = time.monotonic()
            scored_now = self.evaluate(self.step_fn.model, full=False)
            point.update({k: scored_now[k] for k in ("knn_top1", "z_std")})
            self.step_fn.model.train()
            s.curve_eval_s += time.monotonic() - start
        s.curves.append(point)
        self.tracker.log(s.step, {f"epoch/{k}": v for k, v in point.items() if k not in ("step", "lr", "tau")})
        s.epoch_losses = []
        shown = " ".join(f"{k} {v:.4g}" for k, v in point.items() if k not in ("epoch", "step"))
        self.env.log(f"epoch {epoch + 1}/{cfg.train.epochs} {shown}")

    def evaluate(self, model: Siamese, full: bool) -> dict:
        s = self.step_fn
        return evaluate_encoder(self.cfg, model, self.data, s.mean, s.std, s.size, full)
