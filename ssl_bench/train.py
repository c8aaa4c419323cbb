"""One run: claim it, train it, score it, write its one record (atomically, once).

A run whose record says "done" is not run again; one that another live process trains
is not started twice; a failure leaves a "failed" record naming its cause; a stop
request (SLURM preemption) leaves a checkpoint the next call resumes from exactly.
The loop itself is `ssl_bench.loop`.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ssl_bench.backbones import build_backbone, check_backbone_name
from ssl_bench.checkpoint import CHECKPOINT_NAME, load_checkpoint
from ssl_bench.config import RunConfig, run_id, to_dict
from ssl_bench.data import ImageData, load_dataset
from ssl_bench.device import reset_peak_memory, resolve_device, warn_if_slow_precision
from ssl_bench.distributed import SINGLE, Dist
from ssl_bench.export import encoder_info, write_encoder_info
from ssl_bench.finish import finish_record
from ssl_bench.init_weights import load_init
from ssl_bench.liveness import Heartbeat, RunClaim, check_not_running
from ssl_bench.loop import Loop, NonFiniteLoss, Preempted
from ssl_bench.ranks import check_spawnable, run_spawned
from ssl_bench.records import (
    CONFIG_NAME,
    ENCODER_NAME,
    RECORD_NAME,
    SCHEMA_VERSION,
    CorruptRecord,
    atomic_write,
    load_record,
    provenance,
    set_aside,
    write_json_atomic,
)
from ssl_bench.spec import SpecError
from ssl_bench.step import uses_bf16
from ssl_bench.tracking import NoTracker, Tracker, final_values

__all__ = [
    "CHECKPOINT_NAME",
    "NonFiniteLoss",
    "Preempted",
    "RunEnv",
    "done_record",
    "done_record_once_claimed",
    "load_run_data",
    "record_path",
    "run",
]


@dataclass
class RunEnv:
    """Where and how a run executes; nothing here changes its result or its id."""

    out_dir: Path = Path("runs")
    data_dir: str | None = None
    eval_dir: str | None = None  # labelled class folders scoring a run on an unlabelled folder
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
    # How the run's processes were laid out (nodes, tasks, master), kept in its record.
    layout: dict | None = None
    # Sinks mirroring metrics.jsonl while the run trains (`ssl_bench.tracking`): tensorboard, wandb, mlflow.
    log_to: tuple[str, ...] = ()


def load_run_data(cfg: RunConfig, data_dir: str | None, eval_dir: str | None = None) -> ImageData:
    """The dataset as `cfg.data` asks for it (subsets, image size, streamed or loaded)."""
    d = cfg.data
    return load_dataset(
        d.dataset,
        data_dir,
        train_subset=d.train_subset,
        test_subset=d.test_subset,
        image_size=d.image_size,
        stream=d.stream,
        crop_source=d.crop_source,
        source_size=d.source_size,
        eval_dir=eval_dir,
    )


def record_path(cfg: RunConfig, out_dir: Path) -> Path:
    return Path(out_dir) / run_id(cfg) / RECORD_NAME


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
    existing = done_record(rec_path)
    if existing and env.eval_dir is not None and "evaluation" in existing:
        # The id names the method and config, not the folders: this run was done unscored.
        raise SpecError(
            f"run {rid} is done but was not evaluated ({rec_path}); to score with --eval-dir use another --out"
        )
    if existing:
        env.log(f"run {rid} is already done: {rec_path}")
        return existing
    if dist is None:
        check_not_running(run_dir, rid)  # before loading data, which can take minutes
    device = resolve_device(env.device) if dist is None else torch.device(env.device)
    data = load_run_data(cfg, env.data_dir, env.eval_dir)
    if len(data.ssl_images) < cfg.train.batch_size:
        raise SpecError(
            f"train.batch_size={cfg.train.batch_size} is larger than the {len(data.ssl_images)} "
            f"training images of {cfg.data.dataset}"
        )
    if dist is not None:
        return _run_claimed(cfg, env, data, device, run_dir, dist)
    # A backbone that cannot take these images (a ViT's patches, say) is refused here,
    # before the run's directory is claimed or written. The size is the one Loop.setup uses.
    shape = data.ssl_images.shape
    check_backbone_name(cfg.backbone, shape[1], cfg.data.image_size or shape[-1])
    if cfg.init is not None:  # weights that do not fit are refused here too, in one line
        load_init(build_backbone(cfg.backbone, shape[1], cfg.data.image_size or shape[-1])[0], cfg.init)
    if cfg.train.devices > 1:
        check_spawnable(cfg, env.device)
    warn_if_slow_precision(uses_bf16(cfg, device), device, env.log)
    with RunClaim(run_dir, rid):
        existing = done_record_once_claimed(rec_path, env.log)
        if existing:  # finished by another process while this one loaded the data
            env.log(f"run {rid} is already done: {rec_path}")
            return existing
        if cfg.train.devices > 1:
            # Inputs are valid: one process per device, each running this function.
            return run_spawned(cfg, env, run, Preempted, NonFiniteLoss)
        return _run_claimed(cfg, env, data, device, run_dir, SINGLE)


def done_record_once_claimed(rec_path: Path, log: Callable[[str], None]) -> dict | None:
    """The done record at `rec_path`, read again with the run's claim held (another
    process may have finished it meanwhile); a corrupt one is set aside and the run redone."""
    try:
        return done_record(rec_path, corrupt_raises=True)
    except CorruptRecord as err:
        log(f"{err}; kept aside as {set_aside(err.path).name}, and the run starts again")
        return None


def done_record(rec_path: Path, corrupt_raises: bool = False) -> dict | None:
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
        write_json_atomic(run_dir / CONFIG_NAME, to_dict(cfg))
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
            # Files of an unlabelled folder that could not be decoded (absent when none were).
            **({"skipped_files": list(data.skipped_files)} if data.skipped_files else {}),
        },
        "provenance": provenance(),
    }
    heartbeat = Heartbeat(run_dir) if dist.main else None
    # metrics.jsonl and the --log sinks: the main process writes them for the run.
    tracker = Tracker(run_dir, record["run_id"], record["config"], env.log_to) if dist.main else NoTracker()
    try:
        with heartbeat or contextlib.nullcontext(), tracker:
            return _train(cfg, env, data, device, run_dir, record, dist, ckpt, heartbeat, tracker)
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
    tracker: Tracker | NoTracker,
) -> dict:
    loop = Loop.setup(cfg, env, data, device, run_dir, dist)
    loop.heartbeat, loop.tracker = heartbeat, tracker
    rid = record["run_id"]
    if ckpt is not None:
        loop.restore(ckpt, rid)
        del ckpt
    if heartbeat is not None:
        heartbeat.progress = lambda: (loop.state.step, loop.total)
        heartbeat.beat()
    t = cfg.train
    env.log(
        f"run {rid}: {cfg.method_name} on {cfg.data.dataset} ({loop.data.source}), {cfg.backbone}, "
        f"{t.epochs} epochs × {loop.steps_per_epoch} steps, batch {t.batch_size}, device {device}"
    )
    if t.accumulate > 1 and t.micro_batches == "one_pass" and not loop.step_fn.one_pass and dist.main:
        env.log(
            f"run {rid}: its {t.accumulate} micro-batches an update run one after another (train.micro_batches="
            "sequential): one pass needs one process, no torch.compile and no SyncBatchNorm; the results are the same"
        )
    reset_peak_memory(device)
    train_wall = loop.train(rid)
    # Every rank must end with the same weights (DDP keeps them equal); a difference would
    # mean the ranks trained different models, and the record says so.
    fingerprints = dist.gather_objects(_fingerprint(loop.step_fn.model))
    if not dist.main:
        # No barrier after this: rank 0's evaluation can outlast any collective's timeout.
        return {"run_id": rid, "status": "trained", "rank": dist.rank}
    record.update(finish_record(loop, train_wall, device))
    loop.tracker.log(loop.state.step, final_values(record))
    record["cost"]["ranks_agree"] = len(set(fingerprints)) == 1
    if not record["cost"]["ranks_agree"]:
        env.log(f"run {rid}: WARNING: the ranks ended with different weights")
    atomic_write(run_dir / ENCODER_NAME, lambda f: torch.save(loop.step_fn.model.backbone.state_dict(), f), mode="wb")
    fn = loop.step_fn  # what `ssl-bench export` needs to rebuild and feed the encoder
    info = encoder_info(cfg, loop.images.shape[1], fn.size, fn.mean, fn.std, rid, run_dir / RECORD_NAME)
    write_encoder_info(run_dir, info)
    write_json_atomic(run_dir / RECORD_NAME, record)
    # The record is durable; only now is the training state disposable.
    (run_dir / CHECKPOINT_NAME).unlink(missing_ok=True)
    return record


def _fingerprint(model: torch.nn.Module) -> str:
    """A digest of every parameter and buffer, to compare the ranks' models exactly."""
    h = hashlib.sha256()
    for t in model.state_dict().values():
        h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
