"""A user's mistakes and a shared run directory: an unwritable --out, the same run
started twice, a planted checkpoint, a corrupt record, bf16 on a CPU that emulates it.
Each gets one line and the exit code the CLI promises; no record is lost or torn."""

import json
import os
import pickle
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import QUIET, smoke, smoke_grid, wait_until

from ssl_bench import device as device_mod
from ssl_bench.cli import main
from ssl_bench.config import run_id
from ssl_bench.liveness import HEARTBEAT_NAME, AlreadyRunning, RunClaim, check_not_running
from ssl_bench.records import RECORD_NAME
from ssl_bench.train import RunEnv, run

SMOKE = ["run", "--method", "byol", "--preset", "smoke"]


def one_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


@pytest.mark.parametrize("command", ["run", "sweep", "report", "bench"])
def test_unwritable_out_is_refused_in_one_line_before_anything_runs(command, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for bad in ("/proc/forbidden/out", str(blocker / "out")):
        argv = {
            "run": [*SMOKE, "--out", bad],
            "sweep": smoke_grid("tau", bad),
            "report": ["report", "--ablation", "tau", "--preset", "smoke", "--runs", str(tmp_path), "--out", bad],
            "bench": ["bench", "--preset", "smoke", "--device", "cpu", "--steps", "1", "--out", bad],
        }[command]
        assert main(argv) == 2
        captured = capsys.readouterr()
        line = one_line(captured.err)
        assert line.startswith(f"ssl-bench: error: --out {bad}: cannot write there (") and "writable" in line
        assert captured.out == "", "nothing ran before the refusal"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_a_missing_out_is_created_and_probe_leaves_nothing(tmp_path, capsys):
    from ssl_bench.cli import check_writable

    check_writable(tmp_path / "x" / "y", "--out")
    assert list(tmp_path.iterdir()) == []  # the check creates nothing that stays


def test_a_second_run_of_a_live_run_id_says_so_and_trains_nothing(tmp_path, capsys):
    cfg = smoke()
    run_dir = tmp_path / run_id(cfg)
    with RunClaim(run_dir, run_id(cfg)):  # a live run, as far as every other process can tell
        assert main([*SMOKE, "--out", str(tmp_path)]) == 0
        line = one_line(capsys.readouterr().out)
        assert line == (
            f"ssl-bench: run {run_id(cfg)} is already running on {socket.gethostname()}, pid {os.getpid()}, "
            "starting; not starting it twice"
        )
        assert not (run_dir / RECORD_NAME).exists() and not (run_dir / "config.json").exists()
    # Once the holder is gone, the run is free to start (and a sweep counts it as missing).
    check_not_running(run_dir, run_id(cfg))
    with RunClaim(run_dir, run_id(cfg)):
        pass


def test_two_processes_of_one_run_id_train_it_once_and_a_dead_holder_is_taken_over(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "ssl-bench")
    argv = [exe, *SMOKE, "--out", str(tmp_path), "--set", "train.epochs=400", "--checkpoint-every", "0"]
    first = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    rid = run_id(smoke(**{"train.epochs": 400}))
    heartbeat = tmp_path / rid / HEARTBEAT_NAME

    def step():
        try:
            return json.loads(heartbeat.read_text()).get("step") or 0
        except (OSError, ValueError):
            return 0

    try:
        # Waits on the first run's progress (its heartbeat's step), not on a clock.
        wait_until(
            lambda: step() > 0, progress=lambda: (first.poll(), heartbeat.exists()), what="the first run to train"
        )
        # Frozen, not ended: it holds its lock and a live pid however fast this CPU would
        # otherwise have finished its run while the second process starts.
        os.kill(first.pid, signal.SIGSTOP)
        second = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        assert second.returncode == 0, second.stderr
        assert f"run {rid} is already running on {socket.gethostname()}, pid {first.pid}" in second.stdout
        assert "not starting it twice" in second.stdout
        assert "resuming" not in second.stderr and "steps left" not in second.stderr, "the second one trained"
        assert first.poll() is None, "the first run is untouched"
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    # kill -9 leaves a fresh-looking heartbeat; its pid is gone, so the run is free again.
    check_not_running(tmp_path / rid, rid)
    with RunClaim(tmp_path / rid, rid):
        pass


def test_a_live_heartbeat_from_another_host_is_believed(tmp_path):
    import time

    run_dir = tmp_path / "r"
    run_dir.mkdir()
    beat = {"time": time.time(), "pid": 1, "host": "node-7", "slurm_job": "41_3", "step": 10, "total": 90}
    (run_dir / HEARTBEAT_NAME).write_text(json.dumps(beat))
    with pytest.raises(AlreadyRunning, match=r"on node-7, pid 1 \(SLURM job 41_3\), step 10/90"):
        check_not_running(run_dir, "r")
    with pytest.raises(AlreadyRunning):
        with RunClaim(run_dir, "r"):
            pass
    (run_dir / HEARTBEAT_NAME).write_text(json.dumps({**beat, "time": time.time() - 3600}))
    with RunClaim(run_dir, "r"):  # stale: the process is gone; taken over
        pass


class _Touch:
    """A pickled object whose unpickling would run code (here: create a file)."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_a_checkpoint_carrying_a_pickled_object_is_refused_in_one_line(tmp_path, capsys):
    cfg = smoke()
    run_dir = tmp_path / run_id(cfg)
    run_dir.mkdir(parents=True)
    marker = tmp_path / "code-ran"
    torch.save({"model": {}, "optimizer": {}, "aug_gen": [], "state": _Touch(marker)}, run_dir / "checkpoint.pt")
    with pytest.raises(pickle.UnpicklingError):  # what the loader refuses: not tensors and plain data
        torch.load(run_dir / "checkpoint.pt", weights_only=True)
    assert main([*SMOKE, "--out", str(tmp_path)]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"ssl-bench: error: checkpoint {run_dir / 'checkpoint.pt'} is refused")
    assert "could run code" in line
    assert not marker.exists(), "unpickling ran the planted code"
    assert not (run_dir / RECORD_NAME).exists() and not (run_dir / "config.json").exists()


def test_a_checkpoint_is_tensors_and_plain_data(tmp_path):
    from test_train import stop_after  # noqa: I001

    from ssl_bench.checkpoint import load_checkpoint

    with pytest.raises(Exception, match="stopped"):
        run(smoke(), RunEnv(out_dir=tmp_path, should_stop=stop_after(3), **QUIET))
    blob = load_checkpoint(tmp_path / run_id(smoke()) / "checkpoint.pt")  # weights_only=True
    assert blob["state"]["step"] == 3


def test_a_corrupt_record_is_shown_as_such_and_kept_aside_when_redone(tmp_path, capsys):
    grid = smoke_grid("tau", tmp_path, "--method", "byol", "--row", "0.99")
    assert main(grid) == 0
    (rec_path,) = (tmp_path / "tau").glob(f"*/{RECORD_NAME}")
    rec_path.write_text('{"status": "do')  # torn by something that is not ssl-bench
    capsys.readouterr()
    assert main(["status", "--ablation", "tau", "--preset", "smoke", "--method", "byol", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1 corrupt" in out and f"corrupt  {rec_path} (not JSON" in out
    report = ["report", "--ablation", "tau", "--preset", "smoke", "--method", "byol", "--runs", str(tmp_path)]
    assert main([*report, "--out", str(tmp_path / "rep"), "--format", "md"]) == 0
    captured = capsys.readouterr()
    assert f"corrupt record {rec_path}" in captured.err and "corrupt record" in captured.out
    assert main(grid) == 0
    assert "kept aside as record.json.corrupt-" in capsys.readouterr().err
    (aside,) = rec_path.parent.glob("record.json.corrupt-*")
    assert aside.read_text() == '{"status": "do'
    assert json.loads(rec_path.read_text())["status"] == "done"


@pytest.mark.parametrize("native", [False, True])
def test_bf16_on_a_cpu_without_native_bf16_warns_with_the_measured_cost(native, tmp_path, monkeypatch):
    monkeypatch.setattr(device_mod, "cpu_has_native_bf16", lambda: native)
    logged = []
    # Two steps and no probe: bf16 without native support is slow, and the warning comes first.
    cfg = smoke(**{"train.precision": "bf16", "train.epochs": 1, "data.train_subset": 80, "eval.linear_probe": False})
    rec = run(cfg, RunEnv(out_dir=tmp_path, progress=False, log=logged.append))
    assert rec["status"] == "done"
    warnings = [m for m in logged if m.startswith("warning: train.precision=bf16")]
    if native:
        assert not warnings
    else:
        (w,) = warnings
        assert "without native bf16" in w and "slower than fp32 on a convolution measured just now" in w


def test_a_run_says_how_long_it_should_take_and_a_sweep_counts_its_runs(tmp_path, capsys, monkeypatch):
    from ssl_bench import sweep_plan

    # Smoke runs are far too short for a plan to be worth its timing; planned here all the same.
    monkeypatch.setattr(sweep_plan, "PLAN_SHARE", 100.0)
    logged = []
    run(smoke(), RunEnv(out_dir=tmp_path / "one", progress=False, log=logged.append))
    (eta,) = [m for m in logged if "steps left at" in m]
    assert "images/s on this machine (timed over steps 3-" in eta and "of training, then evaluation" in eta
    assert main(smoke_grid("tau", tmp_path / "grid", "--method", "byol", "--row", "0.99", "--row", "0.9")) == 0
    out = capsys.readouterr().out
    assert "launching 2 runs on this machine, one after another" in out
    # Both rows update alike (only τ differs): one step shape timed for the plan.
    assert "sweep: 2 runs, about " in out and "an update of each of its 1 step shapes timed here: byol 0.99" in out
    assert "sweep: 1/2 runs finished in" in out and "left" in out
    assert "sweep: 2/2 runs finished in" in out


def test_sweep_clock_counts_parallel_runs_in_flight(monkeypatch):
    """Two runs at a time: when the first finishes after 8 minutes, its twin is nearly done
    too, so 18 runs have about 8 × 17 / 2 minutes left, not 8 × 17."""
    from ssl_bench import eta

    now = [0.0]
    monkeypatch.setattr(eta.time, "monotonic", lambda: now[0])
    clock = eta.SweepClock(18, jobs=2)
    now[0] = 8 * 60
    assert clock.finished() == "sweep: 1/18 runs finished in 8.0 min, about 68.0 min left"
    now[0] = 9 * 60
    assert clock.finished() == "sweep: 2/18 runs finished in 9.0 min, about 72.0 min left"
    one = eta.SweepClock(3, jobs=1)
    now[0] += 4 * 60
    assert one.finished() == "sweep: 1/3 runs finished in 4.0 min, about 8.0 min left"


def test_a_sweeps_plan_times_each_step_shape_once_and_paces_the_rest_by_it(monkeypatch):
    """The main job's two runs: an update of 64 images, and one emulated as 16 micro-batches
    of 4, costing (here, as faked) three times as much; the plan adds each run's updates
    at its shape's time, and after the first run the time left follows the plan's ratio."""
    from ssl_bench import eta
    from ssl_bench.ablation import expand, get_ablation
    from ssl_bench.sweep_plan import plan_sweep

    points = expand(get_ablation("batch_size"), methods=["byol"], seeds=[0, 1])
    timed = []

    def time_update(cfg):
        timed.append(cfg.train.accumulate)
        return (0.1 if cfg.train.accumulate == 1 else 0.3), 10_000

    plan = plan_sweep(points, time_update)
    assert sorted(timed) == [1, 16] and plan.shapes == 2  # seeds share a shape
    updates = 10_000 // 64 * 20
    assert plan.per_run == tuple((0.1 if p.config.train.accumulate == 1 else 0.3) * updates for p in points)
    resumed = plan_sweep(points, time_update, steps_done=lambda p: updates - 100 if p is points[0] else 0)
    assert resumed.per_run[0] == pytest.approx(plan.per_run[0] * 100 / updates), "an interrupted run's updates left"
    assert resumed.per_run[1:] == plan.per_run[1:]
    now = [0.0]
    monkeypatch.setattr(eta.time, "monotonic", lambda: now[0])
    clock = eta.SweepClock(len(points), planned=plan.per_run)
    now[0] = 1.2 * plan.per_run[0]  # the first run took 20 % longer than planned
    left = 1.2 * sum(plan.per_run[1:])
    assert clock.finished().endswith(f"about {eta.duration(left)} left")


def test_a_sweep_too_short_to_be_worth_timing_runs_without_a_plan(tmp_path, capsys):
    argv = smoke_grid("tau", tmp_path, "--method", "byol", "--row", "0.99", "--row", "0.9", "--epochs", "1")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "launching 2 runs on this machine, one after another; each run prints its estimate" in out
    assert "timed here" not in out and "sweep: 2/2 runs finished in" in out


def test_worth_planning_weighs_the_timing_against_the_sweeps_updates():
    from ssl_bench.ablation import expand, get_ablation
    from ssl_bench.sweep_plan import worth_planning

    cpu = expand(get_ablation("batch_size"), methods=["byol"])  # 2 shapes, 3120 updates a run
    assert worth_planning(cpu, 15) and not worth_planning(cpu, 400)  # 2 × 400 > 10 % of 6240
    smoke = expand(get_ablation("tau"), preset="smoke", methods=["byol"])  # 6 updates a run
    assert not worth_planning(smoke, 15)


def test_a_sweep_whose_shapes_cannot_be_timed_runs_without_a_plan(tmp_path, monkeypatch, capsys):
    from ssl_bench import bench, sweep_plan

    monkeypatch.setattr(sweep_plan, "PLAN_SHARE", 100.0)  # planned, however short the runs

    def broken(points, data_dir, device, steps_done):
        raise RuntimeError("cannot time this shape")

    monkeypatch.setattr(bench, "plan_here", broken)
    argv = smoke_grid("tau", tmp_path, "--method", "byol", "--row", "0.99", "--row", "0.9", "--epochs", "1")
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "no plan for this sweep (RuntimeError: cannot time this shape)" in out
    assert "sweep: 2/2 runs finished in" in out
