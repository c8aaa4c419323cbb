"""A run watched while it trains: every value the loop reads back (loss, lr, τ, images/s),
each epoch's point and the final scores, appended to `metrics.jsonl` in the run's
directory, and mirrored to the sinks a user asks for with `--log` (TensorBoard, W&B,
MLflow). The record stays the source of truth: nothing here feeds it.

After a resume, the steps between the last checkpoint and the interruption are logged
again (the run trains them again); the later line of a step is the one that counts.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

from ssl_bench.spec import SpecError

METRICS_NAME = "metrics.jsonl"


class Sink(Protocol):
    def log(self, step: int, values: Mapping[str, float]) -> None: ...

    def close(self) -> None: ...


class TensorBoardSink:
    """Event files under <run dir>/tensorboard: `tensorboard --logdir <out>` shows every run."""

    def __init__(self, run_dir: Path, run_id: str, config: dict) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / "tensorboard"))
        self.writer.add_text("config", f"```\n{json.dumps(config, indent=1)}\n```", 0)

    def log(self, step: int, values: Mapping[str, float]) -> None:
        for key, value in values.items():
            self.writer.add_scalar(key, value, step)

    def close(self) -> None:
        self.writer.close()


class WandbSink:
    """A W&B run named by the run id, offline unless WANDB_MODE says otherwise (files under
    <run dir>/wandb; `wandb sync` uploads them), resumed under the same id after a restart."""

    def __init__(self, run_dir: Path, run_id: str, config: dict) -> None:
        import wandb

        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT", "ssl-bench"),
            name=run_id,
            id=run_id,
            resume="allow",
            dir=str(run_dir),
            mode=os.environ.get("WANDB_MODE", "offline"),
            config=config,
        )

    def log(self, step: int, values: Mapping[str, float]) -> None:
        self.run.log(dict(values), step=step)

    def close(self) -> None:
        self.run.finish()


class MlflowSink:
    """An MLflow run named by the run id, in a local file store under <run dir>/mlruns unless
    MLFLOW_TRACKING_URI names a server."""

    def __init__(self, run_dir: Path, run_id: str, config: dict) -> None:
        import mlflow

        self.mlflow = mlflow
        mlflow.set_tracking_uri(os.environ.get("MLFLOW_TRACKING_URI", (run_dir / "mlruns").resolve().as_uri()))
        mlflow.set_experiment("ssl-bench")
        mlflow.start_run(run_name=run_id)
        mlflow.set_tag("run_id", run_id)
        mlflow.log_dict(config, "config.json")

    def log(self, step: int, values: Mapping[str, float]) -> None:
        # MLflow's metric names take letters, digits, _ - . / and spaces.
        self.mlflow.log_metrics({k.replace("@", "_at_"): v for k, v in values.items()}, step=step)

    def close(self) -> None:
        self.mlflow.end_run()


# name -> (the package it needs, how to open it). Tests register a fake sink here.
SINKS: dict[str, tuple[str, Callable[[Path, str, dict], Sink]]] = {
    "tensorboard": ("tensorboard", TensorBoardSink),
    "wandb": ("wandb", WandbSink),
    "mlflow": ("mlflow", MlflowSink),
}


def check_sinks(names: tuple[str, ...]) -> None:
    """Refuse, before anything runs, a sink that does not exist or whose package is missing."""
    for name in names:
        if name not in SINKS:
            raise SpecError(f"--log {name!r}: choose from {', '.join(SINKS)}")
        package = SINKS[name][0]
        if importlib.util.find_spec(package) is None:
            raise SpecError(f"--log {name} needs the {package} package: pip install {package}")


class Tracker:
    """metrics.jsonl plus the asked-for sinks, for the run's main process; `log` drops
    values that are not finite numbers (a NaN loss ends the run; its record says why)."""

    def __init__(self, run_dir: Path, run_id: str, config: dict, sinks: tuple[str, ...] = ()) -> None:
        check_sinks(sinks)
        Path(run_dir).mkdir(parents=True, exist_ok=True)
        self.file = open(Path(run_dir) / METRICS_NAME, "a", encoding="utf-8")  # noqa: SIM115 (closed in close)
        self.sinks: list[Sink] = [SINKS[name][1](Path(run_dir), run_id, config) for name in sinks]

    def log(self, step: int, values: Mapping[str, float | int | None]) -> None:
        clean = {k: float(v) for k, v in values.items() if v is not None and math.isfinite(float(v))}
        if not clean:
            return
        self.file.write(json.dumps({"step": step, "time": round(time.time(), 3), **clean}) + "\n")
        self.file.flush()  # a line at a time, so `tail -f` and a crash both see whole lines
        for sink in self.sinks:
            sink.log(step, clean)

    def close(self) -> None:
        self.file.close()
        for sink in self.sinks:
            sink.close()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def final_values(record: dict) -> dict:
    """The record's scores as tracked values: eval/<metric>, eval/random_init/<metric>, eval/pixels/<metric>."""
    out = {}
    for prefix, part in (("eval", "metrics"), ("eval/random_init", "random_init"), ("eval/pixels", "pixels")):
        for key, value in (record.get(part) or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                out[f"{prefix}/{key}"] = value
    return out


class NoTracker:
    """What the other ranks of a multi-process run hold: rank 0 logs for the run."""

    def log(self, step: int, values: Mapping[str, float | int | None]) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> NoTracker:
        return self

    def __exit__(self, *exc) -> None:
        pass
