"""A real single-node Slurm on localhost (scripts/slurm-local.sh): a job array of smoke
runs through `ssl-bench run --launcher slurm`, and a task preempted mid-run that must
resume from its checkpoint rather than restart.

Skips, saying why, only where Slurm cannot run (not root, or the daemons are not
installed: `scripts/slurm-local.sh install`, which .ci/run calls)."""

import json
import os
import signal
import subprocess

import pytest
import torch
from helpers import local_slurm, smoke_grid, wait_for

from ssl_bench.ablation import expand, get_ablation
from ssl_bench.cli import main
from ssl_bench.records import CHECKPOINT_NAME, RECORD_NAME, read_record
from ssl_bench.sweep import grid_status, summarize
from ssl_bench.train import RunEnv, run


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    with local_slurm(tmp_path_factory.mktemp("slurm"), nodes=1) as base:
        yield base


def test_job_array_of_smoke_runs(slurm, tmp_path, capsys):
    out = tmp_path / "runs"
    argv = smoke_grid(
        "tau", out, "--launcher", "slurm", "--time", "10", "--cpus-per-run", "1", "--array-parallelism", "2"
    )
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "submitted job array" in printed
    points = expand(get_ablation("tau"), preset="smoke")
    status = lambda: summarize(grid_status(out, points))  # noqa: E731
    wait_for(lambda: status() == "5 done", "5 done records", progress=status)
    records = [json.loads(p.read_text()) for p in (out / "tau").glob(f"*/{RECORD_NAME}")]
    assert len(records) == 5
    array_ids = {r["provenance"]["slurm"]["SLURM_ARRAY_JOB_ID"] for r in records}
    assert len(array_ids) == 1, "one job array for the whole ablation"
    assert sorted(int(r["provenance"]["slurm"]["SLURM_ARRAY_TASK_ID"]) for r in records) == [0, 1, 2, 3, 4]
    assert {r["labels"]["row"] for r in records} == {p.row for p in points}
    # Re-running the same command launches nothing.
    assert main(argv) == 0
    assert "nothing to launch" in capsys.readouterr().out


def test_a_simsiam_paper_grid_runs_as_a_job_array_by_its_short_name(slurm, tmp_path, capsys):
    """The second paper's grids go through the same launcher: `--paper simsiam`, then
    `status` and `report` by the same names."""
    out = tmp_path / "runs"
    grid = ["--paper", "simsiam", "--ablation", "stop_gradient", "--preset", "smoke", "--out", str(out)]
    argv = ["run", *grid, "--launcher", "slurm", "--time", "10", "--cpus-per-run", "1"]
    assert main(argv) == 0
    assert "submitted job array" in capsys.readouterr().out
    points = expand(get_ablation("simsiam_stop_gradient"), preset="smoke")
    status = lambda: summarize(grid_status(out, points))  # noqa: E731
    wait_for(lambda: status() == f"{len(points)} done", "the grid's records", progress=status)
    records = [json.loads(p.read_text()) for p in (out / "simsiam_stop_gradient").glob(f"*/{RECORD_NAME}")]
    assert len({r["provenance"]["slurm"]["SLURM_ARRAY_JOB_ID"] for r in records}) == 1
    assert main(["status", *grid]) == 0 and f"{len(points)} done" in capsys.readouterr().out
    assert (
        main(
            [
                "report",
                "--paper",
                "simsiam",
                "--ablation",
                "stop_gradient",
                "--preset",
                "smoke",
                "--runs",
                str(out),
                "--out",
                str(tmp_path / "report"),
            ]
        )
        == 0
    )
    assert (tmp_path / "report" / "simsiam_stop_gradient" / "simsiam_stop_gradient.md").exists()


def test_requeued_task_resumes_from_its_checkpoint(slurm, tmp_path, capsys):
    """A task killed without warning (a node lost, or `scontrol requeue`'s SIGTERM, which
    submitit ignores, then SIGKILL) and put back in the queue must continue from its last
    checkpoint and end with the same metrics as an uninterrupted run of the same config.

    The test sends SIGKILL itself, within milliseconds of the first checkpoint: with a
    plain `scontrol requeue` the task keeps training through Slurm's KillWait, and a fast
    CPU finished the run before the kill landed. An array of one task, so the requeued task
    waits behind nothing."""
    out = tmp_path / "runs"
    overrides = ["--set", "train.epochs=12", "--set", "eval.linear_probe=false"]
    argv = smoke_grid(
        "tau",
        out,
        "--method",
        "byol",
        "--row",
        "0.99",
        "--launcher",
        "slurm",
        "--time",
        "30",
        "--checkpoint-every",
        "0",
        *overrides,
    )
    (keep,) = expand(
        get_ablation("tau"),
        preset="smoke",
        methods=["byol"],
        rows=["0.99"],
        overrides={"train.epochs": 12, "eval.linear_probe": False},
    )
    assert main(argv) == 0
    capsys.readouterr()
    run_dir = out / "tau" / keep.run_id

    def step():
        beat = read_record(run_dir / "heartbeat.json") or {}
        return beat.get("step") or 0, beat.get("ended")

    # Polled every 10 ms, reading one small file: the kill lands within milliseconds of the
    # first epoch's checkpoint, 66 updates (and as many checkpoints) before the run's end.
    wait_for(lambda: read_record(run_dir / "heartbeat.json"), "the task to start", progress=step)
    saved = lambda: step()[0] >= 6 and (run_dir / CHECKPOINT_NAME).exists()  # noqa: E731
    wait_for(saved, "the task's first checkpoint", step, poll_s=0.01, queue=False)
    beat = read_record(run_dir / "heartbeat.json")
    assert not beat["ended"] and beat["step"] < beat["total"], beat
    os.kill(int(beat["pid"]), signal.SIGKILL)  # the heartbeat's writer is the training process
    assert not (run_dir / RECORD_NAME).exists(), "the run ended before it could be killed"
    job = beat["slurm_job"]
    wait_for(lambda: not job_is_live(job), "Slurm to see the task die", progress=step)
    requeue = subprocess.run(["scontrol", "requeue", job], capture_output=True, text=True)
    assert requeue.returncode == 0, requeue.stderr
    wait_for(lambda: (run_dir / RECORD_NAME).exists(), "the requeued task to finish", progress=step)
    rec = json.loads((run_dir / RECORD_NAME).read_text())
    assert rec["status"] == "done"
    assert rec["resumes"] and rec["resumes"][0]["step"] > 0, "it restarted from scratch instead of resuming"
    assert rec["resumes"][0]["slurm_restart_count"] == "1"
    # At the task's thread count: float sums, so the metrics compared exactly, follow it.
    threads = torch.get_num_threads()
    torch.set_num_threads(rec["cost"]["threads"])
    try:
        reference = run(keep.config, RunEnv(out_dir=tmp_path / "ref", progress=False, log=lambda m: None))
    finally:
        torch.set_num_threads(threads)
    assert reference["run_id"] == rec["run_id"]
    assert rec["metrics"] == reference["metrics"]


def job_is_live(job: str) -> bool:
    """Whether Slurm still counts `job` as running (or completing): a requeue is refused then."""
    shown = subprocess.run(["scontrol", "show", "job", job], capture_output=True, text=True).stdout
    return any(f"JobState={state}" in shown for state in ("RUNNING", "COMPLETING", "PENDING", "CONFIGURING"))
