"""The one training loop every method runs, with checkpoint/resume and one record per run."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ssl_bench.batches import epoch_batches, on_device
from ssl_bench.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from ssl_bench.config import RunConfig, run_id, to_dict
from ssl_bench.data import ImageData, load_dataset
from ssl_bench.device import device_name, peak_memory, reset_peak_memory, resolve_device, warn_if_slow_precision
from ssl_bench.distributed import SINGLE, Dist
from ssl_bench.eta import FirstSteps
from ssl_bench.evaluate import collapse_stats, embed, knn_top1
from ssl_bench.liveness import Heartbeat, RunClaim, check_not_running
from ssl_bench.model import Siamese
from ssl_bench.probe import score_probes
from ssl_bench.probe_sgd import paper_probe_metrics
from ssl_bench.records import (
    RECORD_NAME,
    SCHEMA_VERSION,
    CorruptRecord,
    atomic_write,
    load_record,
    provenance,
    read_record,
    set_aside,
    write_json_atomic,
)
from ssl_bench.schedules import tau_cosine, warmup_cosine
from ssl_bench.spec import SpecError
from ssl_bench.step import build_model, build_step, uses_bf16


class Preempted(Exception):
    """Raised after a checkpoint when `should_stop` asked the run to stop (SLURM signal, test)."""


class NonFiniteLoss(RuntimeError):
    pass


@dataclass
class RunEnv:
    """Where and how a run executes; nothing here changes its result or its id."""

    out_dir: Path = Path("runs")
    data_dir: str | None = None
    device: str = "auto"
    checkpoint_every_s: float = 300.0
    progress: bool | None = None  # None: a bar on a terminal, log lines otherwise
    should_stop: Callable[[], bool] | None = None
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr, flush=True)
    labels: dict | None = None  # e.g. the ablation, row and method a sweep ran this for
    # Steps between reads of the loss back to the host (the NaN check, progress, and the
    # checkpoint/stop decisions happen then). None: every step on the CPU, where a read
    # costs nothing, and every 50 on a GPU, where each read would stall the queue.
    read_every: int | None = None
    # Called once with the run's expected training seconds, timed over its first steps.
    on_estimate: Callable[[float], None] | None = None


def load_run_data(cfg: RunConfig, data_dir: str | None) -> ImageData:
    """The dataset as `cfg.data` asks for it (subsets, image size, streamed or loaded)."""
    d = cfg.data
    return load_dataset(
        d.dataset,
        data_dir,
        train_subset=d.train_subset,
        test_subset=d.test_subset,
        image_size=d.image_size,
        stream=d.stream,
    )


def record_path(cfg: RunConfig, out_dir: Path) -> Path:
    return Path(out_dir) / run_id(cfg) / RECORD_NAME


class _Progress:
    """tqdm on a terminal; otherwise a plain log line about every tenth of an epoch."""

    def __init__(self, env: RunEnv, total: int, start: int) -> None:
        use_bar = env.progress if env.progress is not None else sys.stderr.isatty()
        self.bar = None
        self.log = env.log
        self.every = max(1, total // 10)
        if use_bar:
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


def _evaluate(
    cfg: RunConfig, model: Siamese, data: ImageData, mean: torch.Tensor, std: torch.Tensor, size: int, full: bool
) -> dict:
    workers = cfg.data.workers
    train_f = embed(model.backbone, data.train_images, mean, std, size, workers=workers)
    test_f = embed(model.backbone, data.test_images, mean, std, size, workers=workers)
    out = {
        "knn_top1": knn_top1(
            train_f, data.train_labels, test_f, data.test_labels, k=cfg.eval.knn_k, temperature=cfg.eval.knn_temperature
        )
    }
    if full:
        z = embed(nn.Sequential(model.backbone, model.projector), data.test_images, mean, std, size, workers=workers)
        out.update(collapse_stats(z))
        if cfg.eval.linear_probe:
            e = cfg.eval
            on_features = "torch" if e.probe == "paper" else e.probe
            labels = data.train_labels, test_f, data.test_labels
            full = e.probe != "paper"
            out.update(score_probes(on_features, e.label_fractions, cfg.seed, train_f, *labels, full=full))
            if e.probe == "paper":
                out.update(paper_probe_metrics(cfg, model.backbone, data, mean, std, size))
    return out


def _end_epoch(
    cfg, env, state, model, data, mean, std, size, lrs, taus, epoch: int, dist: Dist, train_s: float
) -> None:
    """The epoch's curve point (mean loss, last lr and τ, an occasional kNN) and its
    training seconds so far, kept apart: curves are deterministic, clocks are not."""
    point = {
        "epoch": epoch + 1,
        "step": state["step"],
        "loss": sum(state["epoch_losses"]) / len(state["epoch_losses"]),
        "lr": float(lrs[state["step"] - 1]),
    }
    state.setdefault("train_s_at_epoch", {})[epoch + 1] = train_s
    if taus is not None:
        point["tau"] = float(taus[state["step"] - 1])
    every = cfg.eval.knn_every
    if every and (epoch + 1) % every == 0 and epoch + 1 < cfg.train.epochs and dist.main:
        start = time.monotonic()
        point["knn_top1"] = _evaluate(cfg, model, data, mean, std, size, full=False)["knn_top1"]
        model.train()
        state["curve_eval_s"] = state.get("curve_eval_s", 0.0) + time.monotonic() - start
    state["curves"].append(point)
    state["epoch_losses"] = []
    env.log(
        f"epoch {epoch + 1}/{cfg.train.epochs} "
        + " ".join(f"{k} {v:.4g}" for k, v in point.items() if k not in ("epoch", "step"))
    )


def run(cfg: RunConfig, env: RunEnv, dist: Dist | None = None) -> dict:
    """Train and evaluate `cfg`; return its record. A run whose record says "done" is not
    run again, and a run that another live process is training is not started twice
    (AlreadyRunning). Bad input (unknown dataset, missing files, a refused checkpoint)
    raises before anything is written; a failure during training leaves a "failed"
    record naming the cause. With train.devices > 1 the run starts one process per device
    (`dist` is set inside those processes; the parent holds the run's claim)."""
    rid = run_id(cfg)
    run_dir = Path(env.out_dir) / rid
    rec_path = run_dir / RECORD_NAME
    existing = _done_record(rec_path)
    if existing:
        env.log(f"run {rid} is already done: {rec_path}")
        return existing
    if dist is None:
        check_not_running(run_dir, rid)  # before loading data, which can take minutes
    device = resolve_device(env.device) if dist is None else torch.device(env.device)
    data = load_run_data(cfg, env.data_dir)
    if len(data.ssl_images) < cfg.train.batch_size:
        raise SpecError(
            f"train.batch_size={cfg.train.batch_size} is larger than the {len(data.ssl_images)} "
            f"training images of {cfg.data.dataset}"
        )
    if dist is not None:
        return _run_claimed(cfg, env, data, device, run_dir, dist)
    if cfg.train.devices > 1:
        _check_spawnable(cfg, env)
    warn_if_slow_precision(uses_bf16(cfg, device), device, env.log)
    with RunClaim(run_dir, rid):
        try:
            existing = _done_record(rec_path, corrupt_raises=True)
        except CorruptRecord as err:
            env.log(f"{err}; kept aside as {set_aside(err.path).name}, and the run starts again")
            existing = None
        if existing:  # finished by another process while this one loaded the data
            env.log(f"run {rid} is already done: {rec_path}")
            return existing
        if cfg.train.devices > 1:
            return _run_spawned(cfg, env)  # inputs are valid: start one process per device
        return _run_claimed(cfg, env, data, device, run_dir, SINGLE)


def _done_record(rec_path: Path, corrupt_raises: bool = False) -> dict | None:
    """The record at `rec_path` if it says done. A corrupt one counts as not done, and
    raises CorruptRecord where asked (inside the claim, where it is set aside)."""
    try:
        rec = load_record(rec_path)
    except CorruptRecord:
        if corrupt_raises:
            raise
        return None
    return rec if rec and rec.get("status") == "done" else None


def _run_claimed(cfg: RunConfig, env: RunEnv, data: ImageData, device: torch.device, run_dir: Path, dist: Dist) -> dict:
    """The run, with its claim held (or inside a rank of a spawned run)."""
    ckpt = load_checkpoint(run_dir / CHECKPOINT_NAME, device)  # refused before anything is written
    # Inputs are valid: from here on the run leaves a trace (config now, record at the end).
    if dist.main:
        write_json_atomic(run_dir / "config.json", to_dict(cfg))
    record = {
        "schema": SCHEMA_VERSION,
        "run_id": run_id(cfg),
        "status": "running",
        "labels": env.labels,
        "config": to_dict(cfg),
        "data": {
            "source": data.source,
            "ssl_images": len(data.ssl_images),
            "train_images": len(data.train_images),
            "test_images": len(data.test_images),
            "num_classes": data.num_classes,
        },
        "provenance": provenance(),
    }
    heartbeat = Heartbeat(run_dir) if dist.main else None
    try:
        with heartbeat or contextlib.nullcontext():
            return _train(cfg, env, data, device, run_dir, record, dist, ckpt, heartbeat)
    except Preempted:
        raise
    except BaseException as err:
        if isinstance(err, KeyboardInterrupt):
            raise  # interrupted, not failed: the checkpoint lets it resume
        record["status"] = "failed"
        record["finished"] = time.time()
        record["error"] = f"{type(err).__name__}: {err}"
        record["traceback_tail"] = traceback.format_exc().splitlines()[-15:]
        if dist.main:
            write_json_atomic(run_dir / RECORD_NAME, record)
        raise


def _train(
    cfg: RunConfig,
    env: RunEnv,
    data: ImageData,
    device: torch.device,
    run_dir: Path,
    record: dict,
    dist: Dist,
    ckpt: dict | None,
    heartbeat: Heartbeat | None,
) -> dict:
    t = cfg.train
    # uint8, loaded onto the device once, so no DataLoader on the hot path; or, with
    # data.stream, decoded from disk by DataLoader workers (ssl_bench.batches).
    images = on_device(data.ssl_images, device)
    in_chans = images.shape[1]
    size = cfg.data.image_size or images.shape[-1]
    mean = torch.tensor(data.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(data.std, device=device).view(1, -1, 1, 1)
    data = ImageData(
        **{
            **data.__dict__,
            "train_images": on_device(data.train_images, device),
            "train_labels": data.train_labels.to(device),
            "test_images": on_device(data.test_images, device),
            "test_labels": data.test_labels.to(device),
        }
    )
    step_fn = build_step(cfg, in_chans, mean, std, size, dist)
    model, optimizer, aug_gen = step_fn.model, step_fn.optimizer, step_fn.aug_gen

    steps_per_epoch = len(images) // t.batch_size
    total = steps_per_epoch * t.epochs
    lrs = warmup_cosine(
        cfg.method.optim.base_lr * t.batch_size / 256, round(cfg.method.optim.warmup_epochs * steps_per_epoch), total
    )
    taus = tau_cosine(cfg.method.tau_base, total) if cfg.method.target == "ema" else None

    state = {"step": 0, "curves": [], "wall_s": 0.0, "epoch_losses": [], "images_seen": 0, "resumes": []}
    ckpt_path = run_dir / CHECKPOINT_NAME
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        aug_gen.set_state(ckpt["aug_gen"][dist.rank].cpu())
        state = ckpt["state"]
        state["resumes"].append(
            {"step": state["step"], "time": time.time(), "slurm_restart_count": os.environ.get("SLURM_RESTART_COUNT")}
        )
        env.log(f"resuming run {record['run_id']} from step {state['step']}/{total}")
        del ckpt

    def checkpoint() -> None:
        generators = dist.gather_objects(aug_gen.get_state())  # every rank takes part
        if dist.main:
            blob = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "aug_gen": generators}
            save_checkpoint(ckpt_path, {**blob, "state": state})
            if heartbeat is not None:
                heartbeat.beat()  # the step a resumed run would start from

    # Losses of the steps not yet read back: reading one waits for the device to finish it.
    pending: list[tuple[int, torch.Tensor]] = []

    def read_losses() -> float:
        values = dist.mean_values(torch.stack([loss for _, loss in pending]))
        for (step, _), value in zip(pending, values, strict=True):
            if not math.isfinite(value):
                raise NonFiniteLoss(
                    f"non-finite loss ({value}) at step {step} (epoch {step // steps_per_epoch + 1}); "
                    f"lr {lrs[step]:.3g}: try a lower method.optim.base_lr"
                )
        state["epoch_losses"].extend(values)
        pending.clear()
        return values[-1]

    def train_seconds() -> float:
        """Wall clock of training so far, without the curve's kNN evaluations."""
        return state["wall_s"] + time.monotonic() - seg_start - state.get("curve_eval_s", 0.0)

    if heartbeat is not None:
        heartbeat.progress = lambda: (state["step"], total)
        heartbeat.beat()
    env.log(
        f"run {record['run_id']}: {cfg.method_name} on {cfg.data.dataset} ({data.source}), "
        f"{cfg.backbone}, {t.epochs} epochs × {steps_per_epoch} steps, batch {t.batch_size}, device {device}"
    )
    progress = _Progress(env, total, state["step"])
    first_steps = FirstSteps(total, state["step"], t.batch_size)
    read_every = env.read_every or (1 if device.type == "cpu" else 50)
    last_ckpt = time.monotonic()
    seg_start = time.monotonic()
    model.train()
    reset_peak_memory(device)

    batches, batches_epoch = None, -1
    while state["step"] < total:
        step = state["step"]
        epoch, k = divmod(step, steps_per_epoch)
        if epoch != batches_epoch:
            # An epoch's order depends only on (seed, epoch), so a resumed run sees the same batches.
            g = torch.Generator().manual_seed(cfg.seed * 1_000_003 + epoch)
            order = torch.randperm(len(images), generator=g).to(device)
            batches, batches_epoch = epoch_batches(images, order, k, steps_per_epoch, cfg, dist), epoch
        loss = step_fn(next(batches), float(lrs[step]), None if taus is None else float(taus[step]))
        pending.append((step, loss))
        state["step"] += 1
        state["images_seen"] += t.batch_size
        epoch_end = state["step"] % steps_per_epoch == 0
        # Every rank reaches the same read points (they are collective with several ranks).
        if not (epoch_end or state["step"] % read_every == 0 or progress.due(state["step"], total)):
            progress.update(state["step"], total, None)
            continue
        last_loss = read_losses()
        estimate = first_steps.observe(state["step"]) if dist.main else None
        if estimate is not None:
            env.log(f"run {record['run_id']}: {estimate[2]}")
            if env.on_estimate is not None:
                env.on_estimate(train_seconds() + estimate[1])
        progress.update(
            state["step"],
            total,
            {
                "epoch": epoch + 1,
                "loss": f"{last_loss:.4f}",
                "img/s": f"{state['images_seen'] / max(train_seconds(), 1e-9):.0f}",
            },
        )
        checkpoint_due = time.monotonic() - last_ckpt > env.checkpoint_every_s
        if epoch_end:
            _end_epoch(cfg, env, state, model, data, mean, std, size, lrs, taus, epoch, dist, train_seconds())
            checkpoint_due = state["step"] < total
        stop = env.should_stop is not None and env.should_stop() and state["step"] < total
        checkpoint_due, stop = dist.decide((checkpoint_due, stop), device)
        if checkpoint_due or stop:
            state["wall_s"] += time.monotonic() - seg_start
            seg_start = time.monotonic()
            checkpoint()
            last_ckpt = time.monotonic()
        if stop:
            progress.close()
            raise Preempted(f"stopped at step {state['step']}/{total}; checkpoint saved")
    progress.close()
    train_wall = train_seconds()
    if not dist.main:
        dist.barrier()  # rank 0 evaluates and writes the record
        return {}

    env.log("evaluating the trained and the random-init encoder")
    eval_start = time.monotonic()
    trained = _evaluate(cfg, model, data, mean, std, size, full=True)
    init_model = build_model(cfg, in_chans, size).to(device)
    random_init = _evaluate(cfg, init_model, data, mean, std, size, full=True)
    eval_wall = time.monotonic() - eval_start
    clock = state.get("train_s_at_epoch", {})

    record.update(
        {
            "status": "done",
            "finished": time.time(),
            "resumes": state["resumes"],
            "metrics": {**trained, "final_loss": state["curves"][-1]["loss"]},
            "random_init": random_init,
            "curves": state["curves"],
            # kNN top-1 against minutes of training (the curve's evaluations, then the final one).
            "time_to_accuracy": [
                {"epoch": p["epoch"], "train_min": clock[p["epoch"]] / 60, "knn_top1": p["knn_top1"]}
                for p in state["curves"]
                if "knn_top1" in p and p["epoch"] in clock
            ]
            + [{"epoch": t.epochs, "train_min": train_wall / 60, "knn_top1": trained["knn_top1"]}],
            "cost": {
                "train_wall_s": train_wall,
                "curve_eval_s": state.get("curve_eval_s", 0.0),
                "eval_wall_s": eval_wall,
                "images_per_s": state["images_seen"] / max(train_wall, 1e-9),
                "steps": total,
                "device": str(device),
                "devices": dist.world,
                "device_name": device_name(device),
                "peak_memory_bytes": peak_memory(device),
                "threads": torch.get_num_threads(),
            },
        }
    )
    rec_path = run_dir / RECORD_NAME
    atomic_write(run_dir / "encoder.pt", lambda f: torch.save(model.backbone.state_dict(), f), mode="wb")
    write_json_atomic(rec_path, record)
    # The record is durable; only now is the training state disposable.
    (run_dir / CHECKPOINT_NAME).unlink(missing_ok=True)
    dist.barrier()
    return record


def _check_spawnable(cfg: RunConfig, env: RunEnv) -> None:
    """Bad input for a run on several devices, refused before anything is written."""
    world = cfg.train.devices
    wants_cuda = env.device.startswith("cuda") or (env.device == "auto" and torch.cuda.is_available())
    if wants_cuda and world > torch.cuda.device_count():
        raise SpecError(f"train.devices={world} but only {torch.cuda.device_count()} CUDA devices are visible")
    if cfg.train.sync_bn and not wants_cuda:
        raise SpecError("train.sync_bn=true needs CUDA devices (torch's SyncBatchNorm); set it false on the CPU")


def _run_spawned(cfg: RunConfig, env: RunEnv) -> dict:
    """One process per device; this process waits, forwards a stop request (SLURM
    preemption) to them, and returns the record rank 0 wrote."""
    import threading

    import torch.multiprocessing as mp

    from ssl_bench.distributed import free_port

    world = cfg.train.devices
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    finished = threading.Event()

    def forward_stop() -> None:
        while not finished.wait(0.5):
            if env.should_stop is not None and env.should_stop():
                stop.set()

    watcher = threading.Thread(target=forward_stop, daemon=True)
    watcher.start()
    fields = (str(env.out_dir), env.data_dir, env.device, env.checkpoint_every_s, env.progress, env.labels)
    try:
        mp.start_processes(_rank_main, args=(world, cfg, fields, free_port(), stop), nprocs=world, start_method="spawn")
    except mp.ProcessRaisedException as err:
        text = str(err)
        last = text.strip().splitlines()[-1]
        if "Preempted" in last:
            raise Preempted(last) from None
        if "NonFiniteLoss" in last:
            raise NonFiniteLoss(last.split(": ", 1)[-1]) from None
        raise RuntimeError(f"a rank of the run failed: {last}") from None
    finally:
        finished.set()
    rec = read_record(Path(env.out_dir) / run_id(cfg) / RECORD_NAME)
    if rec is None:
        raise RuntimeError("the ranks exited without a record")
    return rec


def _rank_main(rank: int, world: int, cfg: RunConfig, fields: tuple, port: int, stop) -> None:
    from ssl_bench import distributed

    out_dir, data_dir, device_name, checkpoint_every_s, progress, labels = fields
    device = distributed.rank_device(device_name, rank)
    dist = distributed.init(rank, world, port, device)
    env = RunEnv(
        out_dir=Path(out_dir),
        data_dir=data_dir,
        device=str(device),
        checkpoint_every_s=checkpoint_every_s,
        progress=progress if rank == 0 else False,
        should_stop=stop.is_set,
        labels=labels,
    )
    if rank:
        env.log = lambda msg: None
    try:
        run(cfg, env, dist)
    finally:
        distributed.shutdown()
