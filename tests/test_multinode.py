"""One run across SLURM tasks and nodes (`ssl_bench.task_group`).

For real: a local Slurm with two emulated nodes (two slurmd on this host,
`scripts/slurm-local.sh up BASE 2`), gloo on the CPU, one task per "device". The
layout's options and the process group's failures need no Slurm and are tested without.
The Slurm tests skip, saying why, where Slurm cannot run or lacks multiple-slurmd.
"""

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import QUIET, local_slurm, smoke_grid, wait_for

from ssl_bench.ablation import expand, get_ablation
from ssl_bench.cli import main
from ssl_bench.distributed import free_port
from ssl_bench.records import RECORD_NAME, read_record
from ssl_bench.sweep import grid_status, summarize
from ssl_bench.train import RunEnv, run

# BatchNorm over the global batch (GlooBatchNorm on the CPU), so every layout trains the
# model one process trains.
SAME_SCIENCE = {"train.sync_bn": True, "eval.linear_probe": False}
# Compared across layouts in float64: the order of float sums differs between layouts, and
# between CPUs (AVX2 against AVX-512 kernels); in float32 SimCLR's gradient amplifies that
# to 1e-3 after a few steps, in float64 it stays some 1e-10, on any CPU.
EXACT = {**SAME_SCIENCE, "train.precision": "fp64"}
LAYOUTS = {"2-nodes-x-1": ("--nodes", "2", "--tasks-per-node", "1"), "1-node-x-2": ("--tasks-per-node", "2")}


def _sets(overrides: dict) -> list[str]:
    return [a for k, v in overrides.items() for a in ("--set", f"{k}={v if isinstance(v, str) else json.dumps(v)}")]


# ---------------------------------------------------------------- without Slurm


@pytest.mark.parametrize(
    "flags, says",
    [
        (("--launcher", "slurm", "--nodes", "0"), "--nodes 0: must be >= 1"),
        (("--nodes", "2"), "needs --launcher slurm"),
        (("--launcher", "slurm", "--nodes", "2", "--set", "train.devices=4"), "train.devices=4"),
        (("--launcher", "slurm", "--gpus-per-node", "2", "--tasks-per-node", "3"), "one task per GPU"),
        (("--launcher", "slurm", "--gpus-per-node", "2", "--gpus-per-run", "2"), "give one"),
        (("--launcher", "slurm", "--nodes", "2", "--init-timeout", "0"), "--init-timeout 0"),
        (("--launcher", "slurm"), "whitespace"),
    ],
)
def test_a_bad_layout_is_one_line_and_writes_nothing(tmp_path, capsys, flags, says):
    out = tmp_path / ("my runs" if says == "whitespace" else "runs")
    assert main(smoke_grid("tau", out, *flags)) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


# Each process imports torch, says so, and waits for the word to join: the processes of a
# test then start their init timeout together, however long each one's import took.
_JOIN = """
import sys
from ssl_bench.distributed import DistInitError, init_from_env
print("ready", flush=True)
sys.stdin.readline()
try:
    init_from_env("cpu", float(sys.argv[1]))
except DistInitError as err:
    print(err)
    sys.exit(3)
print("joined")
"""


def _join(rank: int, world: int, addr: str, port: int, timeout_s: float = 3.0) -> subprocess.Popen:
    env = {
        **os.environ,
        "RANK": str(rank),
        "WORLD_SIZE": str(world),
        "LOCAL_RANK": str(rank),
        "MASTER_ADDR": addr,
        "MASTER_PORT": str(port),
        "OMP_NUM_THREADS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-c", _JOIN, str(timeout_s)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _outcomes(*procs: subprocess.Popen) -> list[tuple[int, str]]:
    """Once every process has imported, tell them all to join; then their exit codes and
    what each printed after "ready"."""
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.communicate(timeout=600)
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=600)  # a cap against a hang, far above any machine's need
        results.append((p.returncode, out.strip()))
    return results


def test_processes_of_a_run_join_through_the_env_variables():
    port = free_port()
    results = _outcomes(*[_join(r, 2, "127.0.0.1", port) for r in (0, 1)])
    assert results == [(0, "joined"), (0, "joined")]


def test_a_wrong_world_size_fails_in_every_process_within_the_init_timeout():
    port = free_port()
    results = _outcomes(*[_join(r, 3, "127.0.0.1", port) for r in (0, 1)])
    for code, said in results:
        assert code == 3 and said.startswith("only 2 of 3 processes arrived within 3 s"), said
        assert len(said.splitlines()) == 1


@pytest.mark.parametrize("addr", ["127.0.0.1", "no-such-node.invalid"])
def test_an_unreachable_master_fails_within_the_init_timeout(addr):
    port = free_port()  # nobody listens there
    ((code, said),) = _outcomes(_join(1, 2, addr, port))
    assert code == 3 and said.startswith("could not reach the run's other processes within 3 s"), said
    assert f"master {addr}:{port}" in said and len(said.splitlines()) == 1


# ---------------------------------------------------------------- on two emulated nodes


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with local_slurm(tmp_path_factory.mktemp("slurm2"), nodes=2) as base:
        yield base


def _points(method: str, **overrides):
    return expand(get_ablation("batch_size"), preset="smoke", methods=[method], rows=["32"], overrides=overrides)


def _submit(out: Path, methods: str, flags, overrides: dict, *extra: str) -> None:
    argv = smoke_grid(
        "batch_size", out, "--method", methods, "--row", "32", "--launcher", "slurm", "--time", "20", *flags
    )
    assert main([*argv, "--cpus-per-task", "1", *extra, *_sets(overrides)]) == 0


def _records(out: Path) -> dict:
    recs = [json.loads(p.read_text()) for p in (out / "batch_size").glob(f"*/{RECORD_NAME}")]
    return {r["config"]["method_name"]: r for r in recs}


@pytest.fixture(scope="module")
def both_layouts(cluster, tmp_path_factory):
    """BYOL and SimCLR on both layouts: two job arrays of two runs each, submitted together
    (so two multi-task runs share this host's ports), and the single-process runs."""
    root = tmp_path_factory.mktemp("layouts")
    for name, flags in LAYOUTS.items():
        _submit(root / name, "byol,simclr", flags, EXACT)

    launched = {**EXACT, "train.devices": 2}
    points = _points("byol", **launched) + _points("simclr", **launched)

    def state():
        return [summarize(grid_status(root / n, points)) for n in LAYOUTS]

    wait_for(lambda: all("2 done" in s for s in state()), "4 done records", progress=state)
    single = {}
    for method in ("byol", "simclr"):
        (p,) = _points(method, **EXACT, **{"train.devices": 1})
        single[method] = run(p.config, RunEnv(out_dir=root / "single", device="cpu", **QUIET))
    return root, single


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_trains_what_one_process_trains(both_layouts, layout):
    root, single = both_layouts
    records = _records(root / layout)
    nodes = 2 if layout.startswith("2") else 1
    for method, rec in records.items():
        ref = single[method]
        assert rec["status"] == "done" and rec["cost"]["devices"] == 2
        assert rec["cost"]["layout"]["nodes"] == nodes and rec["cost"]["layout"]["world"] == 2
        if nodes == 2:
            assert rec["cost"]["layout"]["node_names"] == ["n1", "n2"]
        assert rec["cost"]["ranks_agree"], "the ranks ended with different weights"
        assert [c["loss"] for c in rec["curves"]] == pytest.approx([c["loss"] for c in ref["curves"]], rel=1e-6)
        mine = torch.load(root / layout / "batch_size" / rec["run_id"] / "encoder.pt")
        theirs = torch.load(root / "single" / ref["run_id"] / "encoder.pt")
        worst = max((mine[k].double() - theirs[k].double()).abs().max().item() for k in mine)
        print(f"{layout} {method}: largest difference from one process {worst:.1e}")
        assert all(mine[k].dtype == torch.float64 for k in mine if mine[k].is_floating_point())
        assert all(torch.allclose(mine[k].double(), theirs[k].double(), rtol=1e-8, atol=1e-10) for k in mine), method
    # One array element per run; two runs at once, each with its own port.
    slurm = [r["provenance"]["slurm"] for r in records.values()]
    assert len({s["SLURM_ARRAY_JOB_ID"] for s in slurm}) == 1
    assert sorted(s["SLURM_ARRAY_TASK_ID"] for s in slurm) == ["0", "1"]
    assert len({r["cost"]["layout"]["master"] for r in records.values()}) == 2
    sbatch = next((root / layout / "batch_size" / "_submitit").rglob("*_submission.sh")).read_text()
    assert f"--nodes={nodes}" in sbatch and f"--ntasks-per-node={2 // nodes}" in sbatch
    assert "--kill-on-bad-exit=1" in sbatch


def _heartbeat_step(run_dir: Path):
    beat = read_record(run_dir / "heartbeat.json") or {}
    return beat.get("step") or 0, beat.get("slurm_job")


LONG = {**SAME_SCIENCE, "train.epochs": 5}  # 30 steps: the signal lands at step 6


def test_a_preempted_run_resumes_on_all_ranks_to_the_uninterrupted_result(cluster, tmp_path):
    """USR2 to every task (as SLURM sends before preemption or the time limit): rank 0 alone
    checkpoints and requeues the job, every task restarts, and the run ends exactly where
    the same run without interruption ends; rank 1's result is never an error."""
    flags = LAYOUTS["2-nodes-x-1"]
    for name in ("whole", "preempted"):
        _submit(tmp_path / name, "byol", flags, LONG, "--checkpoint-every", "0")
    (p,) = _points("byol", **LONG, **{"train.devices": 2})
    run_dir = tmp_path / "preempted" / "batch_size" / p.run_id
    wait_for(lambda: _heartbeat_step(run_dir)[1], "the run to start", lambda: _heartbeat_step(run_dir))
    job = _heartbeat_step(run_dir)[1]
    pids = lambda: [_task_pid(job, rank) for rank in (0, 1)]  # noqa: E731
    wait_for(lambda: None not in pids(), f"both tasks of job {job}", pids)
    tasks = pids()
    # SLURM's signal sent straight to both tasks, within milliseconds of the first checkpoint
    # (polled every 10 ms), so that no CPU is fast enough to end the run before it lands.
    beat = lambda: _heartbeat_step(run_dir)  # noqa: E731
    wait_for(lambda: beat()[0] >= 6, "step 6", beat, poll_s=0.01, queue=False)
    for pid in tasks:
        os.kill(pid, signal.SIGUSR2)
    done = lambda: all((tmp_path / n / "batch_size" / p.run_id / RECORD_NAME).exists() for n in ("whole", "preempted"))  # noqa: E731
    wait_for(done, "both runs to finish", lambda: _heartbeat_step(run_dir))
    whole, preempted = (_records(tmp_path / n)["byol"] for n in ("whole", "preempted"))
    assert preempted["status"] == "done" and preempted["resumes"], "it was not preempted, or restarted from scratch"
    assert preempted["resumes"][0]["step"] >= 6 and preempted["resumes"][0]["slurm_restart_count"] == "1"
    assert preempted["curves"] == whole["curves"] and preempted["metrics"] == whole["metrics"]
    logs = tmp_path / "preempted" / "batch_size" / "_submitit" / job
    assert "this job is preempted" in (logs / f"{job}_0_log.err").read_text()
    assert "preempted" not in (logs / f"{job}_1_log.err").read_text()
    with open(logs / f"{job}_1_result.pkl", "rb") as f:
        outcome, value = pickle.load(f)
    assert outcome == "success" and value["status"] == "trained", value


def _task_pid(job: str, procid: int) -> int | None:
    """The pid of task `procid` of job `job` ("A_i" for an array element, as the heartbeat
    names it), from the processes' environments."""
    array, _, index = job.partition("_")
    if index:
        want = {"SLURM_ARRAY_JOB_ID": array, "SLURM_ARRAY_TASK_ID": index, "SLURM_PROCID": str(procid)}
    else:
        want = {"SLURM_JOB_ID": job, "SLURM_PROCID": str(procid)}
    for proc in Path("/proc").iterdir():
        try:
            env = dict(v.split("=", 1) for v in (proc / "environ").read_text().split("\0") if "=" in v)
            cmd = (proc / "cmdline").read_text()
        except (OSError, ValueError):
            continue
        # The task's python process, not the srun that launched it (whose command line names it too).
        program = Path(cmd.split("\0", 1)[0]).name
        if program != "srun" and "submitit.core._submit" in cmd and all(env.get(k) == v for k, v in want.items()):
            return int(proc.name)
    return None


def test_a_rank_that_dies_ends_the_whole_run(cluster, tmp_path):
    """kill -9 of rank 1 mid-run: srun's --kill-on-bad-exit ends the job instead of rank 0
    waiting in a collective, and rank 0's record says the run failed."""
    _submit(tmp_path, "byol", LAYOUTS["2-nodes-x-1"], {**SAME_SCIENCE, "train.epochs": 200})
    (p,) = _points("byol", **SAME_SCIENCE, **{"train.epochs": 200, "train.devices": 2})
    run_dir = tmp_path / "batch_size" / p.run_id
    wait_for(lambda: _heartbeat_step(run_dir)[0] >= 6, "the run to pass step 6", lambda: _heartbeat_step(run_dir))
    job = _heartbeat_step(run_dir)[1]
    pid = _task_pid(job, 1)
    assert pid is not None, f"no process of task 1 of job {job}"
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    queued = lambda: subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split()  # noqa: E731
    wait_for(lambda: job not in queued(), "the job to end", lambda: _heartbeat_step(run_dir))
    print(f"the job ended {time.monotonic() - killed:.1f} s after rank 1 was killed")
    # Rank 0 writes a failed record if it sees the broken collective before srun kills it;
    # either way the run is not done, and the next launch resumes it from its checkpoint.
    rec = read_record(run_dir / RECORD_NAME)
    assert rec is None or rec["status"] == "failed", rec
