"""A run watched while it trains: metrics.jsonl in the run's directory, mirrored to the
--log sinks (TensorBoard read back from its event files; a fake sink in the same interface
stands for W&B and MLflow), with the record and its curves unchanged."""

import importlib.util
import json
from pathlib import Path

import pytest

from ssl_bench import tracking
from ssl_bench.cli import main
from ssl_bench.records import RECORD_NAME

SMOKE = ["run", "--method", "byol", "--preset", "smoke", "--set", "data.train_subset=100", "--set", "train.epochs=2"]


def run_dir(out: Path) -> Path:
    (path,) = out.glob(f"*/{RECORD_NAME}")
    return path.parent


def lines(d: Path) -> list[dict]:
    return [json.loads(x) for x in (d / tracking.METRICS_NAME).read_text().splitlines()]


class FakeSink:
    opened: list = []

    def __init__(self, run_dir: Path, run_id: str, config: dict) -> None:
        self.values: list = []
        self.closed = False
        FakeSink.opened.append((run_id, config["method_name"], self))

    def log(self, step, values):
        self.values.append((step, dict(values)))

    def close(self):
        self.closed = True


def test_every_read_point_epoch_and_score_is_logged_and_mirrored(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(tracking.SINKS, "fake", ("json", FakeSink))  # a package every Python has
    FakeSink.opened.clear()
    assert main([*SMOKE, "--log", "fake", "--log", "tensorboard", "--out", str(tmp_path / "a")]) == 0
    d = run_dir(tmp_path / "a")
    rec = json.loads((d / RECORD_NAME).read_text())
    logged = lines(d)
    steps = [x for x in logged if "train/loss" in x]
    assert [x["step"] for x in steps] == list(range(1, 7))  # 100 images // 32 a batch × 2 epochs, every step on the CPU
    assert all({"train/lr", "train/tau", "train/images_per_s"} <= set(x) for x in steps)
    epochs = [x for x in logged if "epoch/loss" in x]
    assert [x["epoch/loss"] for x in epochs] == [p["loss"] for p in rec["curves"]]
    (final,) = [x for x in logged if "eval/knn_top1" in x]
    assert final["eval/knn_top1"] == rec["metrics"]["knn_top1"]
    assert final["eval/random_init/knn_top1"] == rec["random_init"]["knn_top1"]
    # The fake sink saw exactly what the file holds, and was closed.
    ((run_id, method, sink),) = FakeSink.opened
    assert run_id == rec["run_id"] and method == "byol" and sink.closed
    in_file = [(x["step"], {k: v for k, v in x.items() if k not in ("step", "time")}) for x in logged]
    assert sink.values == in_file
    # TensorBoard's event files, read back with its own reader.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(d / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")] == list(range(1, 7))
    assert events.Scalars("eval/knn_top1")[0].value == pytest.approx(rec["metrics"]["knn_top1"])
    # The record is the same with or without tracking.
    assert main([*SMOKE, "--out", str(tmp_path / "b")]) == 0
    plain = json.loads((run_dir(tmp_path / "b") / RECORD_NAME).read_text())
    assert plain["curves"] == rec["curves"] and plain["metrics"] == rec["metrics"]
    assert (run_dir(tmp_path / "b") / tracking.METRICS_NAME).exists()  # metrics.jsonl always
    assert not (run_dir(tmp_path / "b") / "tensorboard").exists()


@pytest.mark.parametrize("sink", ["nosuch", "wandb", "mlflow"])
def test_a_sink_that_is_unknown_or_not_installed_is_one_line(tmp_path, capsys, sink):
    if sink != "nosuch" and importlib.util.find_spec(sink) is not None:
        pytest.skip(f"{sink} is installed here")
    assert main([*SMOKE, "--log", sink, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    expected = "choose from tensorboard, wandb, mlflow" if sink == "nosuch" else f"needs the {sink} package"
    assert err.startswith("ssl-bench: error: --log") and expected in err and "\n" not in err
    assert not any(tmp_path.iterdir())  # nothing half-written


def test_values_that_are_not_finite_numbers_are_left_out(tmp_path):
    t = tracking.Tracker(tmp_path, "r", {})
    t.log(3, {"train/loss": float("nan"), "train/tau": None, "train/lr": 0.1})
    t.log(4, {"train/loss": float("inf")})
    t.close()
    (line,) = lines(tmp_path)
    assert line["step"] == 3 and line["train/lr"] == 0.1 and set(line) == {"step", "time", "train/lr"}
