"""Launching the points of a grid: one after another here, in worker processes, or as a
SLURM job array through submitit. What is left to launch comes from `ssl_bench.sweep`;
each point runs through `train.run`, whose record makes a relaunch skip it.
"""

from __future__ import annotations

import dataclasses
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ssl_bench.ablation import Point
from ssl_bench.eta import SweepClock
from ssl_bench.liveness import AlreadyRunning

if TYPE_CHECKING:
    import submitit

    from ssl_bench.sweep_plan import Plan


@dataclass
class RunTask:
    """Runs one point; picklable, so submitit can ship it to a SLURM task.

    On preemption or time-out SLURM sends USR2 (submitit asks for it). submitit's own
    handler would checkpoint whatever the main thread is doing at that instant; instead we
    only set a flag, let the training loop finish its step and save a consistent
    checkpoint, and then hand over to submitit's handler, which requeues the task. The
    requeued task resumes from that checkpoint to the same result as an uninterrupted run.
    A plain `scontrol requeue` (SIGTERM, then SIGKILL) loses at most the steps since the
    last periodic checkpoint.
    """

    out_root: str
    data_dir: str | None = None
    device: str = "auto"
    checkpoint_every_s: float = 300.0
    threads: int | None = None
    # Processes that train each run together, one SLURM task each (`ssl_bench.task_group`);
    # 1: the run's own process, which spawns one per device if train.devices asks for it.
    tasks: int = 1
    init_timeout_s: float = 120.0  # for the tasks of a run to find each other
    log_to: tuple[str, ...] = ()  # the --log sinks (`ssl_bench.tracking`)
    _stop: bool = field(default=False, repr=False)
    # Local, one run after another only (a callback does not pickle): the run's own
    # estimate of its training time, from its first steps.
    on_estimate: Callable[[float], None] | None = field(default=None, repr=False, compare=False)

    def __call__(self, point: Point) -> dict:
        import torch

        # Here, not at the top: status and the report read this module without torch.
        from ssl_bench.train import Preempted, RunEnv, run

        if self.threads:
            torch.set_num_threads(self.threads)
        previous = self._install_preemption_flag()
        env = RunEnv(
            out_dir=Path(self.out_root) / point.ablation,
            data_dir=self.data_dir,
            device=self.device,
            checkpoint_every_s=self.checkpoint_every_s,
            progress=False,
            should_stop=lambda: self._stop,
            labels=point.labels,
            on_estimate=self.on_estimate,
            log_to=self.log_to,
        )
        try:
            if self.tasks > 1:
                from ssl_bench.task_group import run_as_task

                rec = run_as_task(point.config, env, self.tasks, self.init_timeout_s)
            else:
                rec = run(point.config, env)
        except AlreadyRunning as err:
            print(f"ssl-bench: {err}", flush=True)
            return {"run_id": point.run_id, "status": "running"}
        except Preempted:
            if os.environ.get("RANK", "0") != "0":
                # Rank 0 checkpoints and requeues the whole job; this rank ends cleanly, so
                # no error of it can be read as the run's outcome.
                return {"run_id": point.run_id, "status": "preempted"}
            if callable(previous):
                previous(signal.SIGUSR2, None)  # submitit: pickle checkpoint(), requeue, exit
            raise
        finally:
            if previous is not None:
                signal.signal(signal.SIGUSR2, previous)
        return {"run_id": rec["run_id"], "status": rec["status"], "knn_top1": rec.get("metrics", {}).get("knn_top1")}

    def _install_preemption_flag(self):
        if "SLURM_JOB_ID" not in os.environ or os.environ.get("SUBMITIT_EXECUTOR") == "debug":
            return None

        def flag(signum, frame):
            self._stop = True

        try:
            return signal.signal(signal.SIGUSR2, flag)
        except ValueError:  # not in the main thread
            return None

    def checkpoint(self, point: Point):
        """submitit's hook: resubmit the same task; the run resumes from its checkpoint."""
        import submitit

        fresh = dataclasses.replace(self, _stop=False, on_estimate=None)
        return submitit.helpers.DelayedSubmission(fresh, point)


def launch_local(
    points: Sequence[Point],
    task: RunTask,
    jobs: int = 1,
    log: Callable[[str], None] = print,
    plan: Plan | None = None,
) -> list[dict]:
    """One after another in this process, or `jobs` worker processes at once with the
    machine's cores shared between them (oversubscribed OpenMP threads can make two
    concurrent runs several times slower than one after the other). `plan`: the sweep's
    `ssl_bench.sweep_plan.Plan`, timed before, which then paces the progress lines."""
    results = []
    clock = SweepClock(len(points), jobs)
    if jobs <= 1:
        said = []
        if plan is not None:
            log(plan.line(len(points)))
            clock.planned = plan.per_run
            said.append(True)  # the plan stands for the first run's own estimate

        def estimate(run_s: float) -> None:
            if not said:  # the first run's first steps give the sweep's plan
                said.append(True)
                log(clock.first_estimate(run_s))

        task = dataclasses.replace(task, on_estimate=estimate)
        for k, p in enumerate(points, 1):
            log(f"[{k}/{len(points)}] {p.ablation} / {p.method} / {p.row} / seed {p.seed}: run {p.run_id}")
            results.append(_run_catching(task, p))
            log(clock.finished())
        return results
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    task = RunTask(
        task.out_root,
        task.data_dir,
        task.device,
        task.checkpoint_every_s,
        threads=max(1, (os.cpu_count() or 1) // jobs),
    )
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        for p, res in zip(points, pool.map(_run_catching, [task] * len(points), points), strict=True):
            log(f"{p.ablation} / {p.method} / {p.row} / seed {p.seed}: {res['status']}")
            results.append(res)
            log(clock.finished())
    return results


def _run_catching(task: RunTask, point: Point) -> dict:
    """A failing point leaves its failed record and does not stop the sweep."""
    try:
        return task(point)
    except Exception as err:
        return {"run_id": point.run_id, "status": "failed", "error": f"{type(err).__name__}: {err}"}


@dataclass(frozen=True)
class SlurmOptions:
    partition: str | None = None
    time_min: int = 60
    gpus_per_run: int = 0
    cpus_per_run: int | None = None
    mem_gb: float | None = None
    array_parallelism: int = 256
    account: str | None = None
    qos: str | None = None
    sbatch: tuple[tuple[str, str], ...] = ()  # any other sbatch option, passed through
    # One run over nodes × tasks_per_node SLURM tasks, one per device (gpus_per_node GPUs
    # per node, one per task; none on a CPU cluster). 1 × 1: one task per run, as before.
    nodes: int = 1
    tasks_per_node: int = 1
    gpus_per_node: int = 0
    cpus_per_task: int | None = None

    @property
    def tasks(self) -> int:
        return self.nodes * self.tasks_per_node


def launch_slurm(
    points: Sequence[Point], task: RunTask, options: SlurmOptions, cluster: str = "slurm"
) -> list[submitit.Job[dict]]:
    """One submitit job array per call, one array task per point. `cluster="debug"` runs
    the same path in-process (what the tests use where Slurm is absent)."""
    import submitit

    folder = Path(task.out_root) / (points[0].ablation if points else "sweep") / "_submitit" / "%j"
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    name = f"ssl-bench-{points[0].ablation}" if points else "ssl-bench"
    params = slurm_parameters(options, name) if cluster == "slurm" else {"timeout_min": options.time_min, "name": name}
    executor.update_parameters(**params)
    return executor.map_array(task, list(points))


def slurm_parameters(options: SlurmOptions, name: str) -> dict:
    """submitit's parameters for each run of an array. Only what the user set reaches
    sbatch: an option a cluster lacks (a GPU gres on a CPU partition, say) makes sbatch
    reject the whole array."""
    given = {
        "slurm_array_parallelism": options.array_parallelism,
        "gpus_per_node": options.gpus_per_run,
        "cpus_per_task": options.cpus_per_run,
        "mem_gb": options.mem_gb,
        "slurm_partition": options.partition,
        "slurm_account": options.account,
        "slurm_qos": options.qos,
        "slurm_additional_parameters": dict(options.sbatch),
    }
    if options.tasks > 1:
        given |= {
            "nodes": options.nodes,
            "tasks_per_node": options.tasks_per_node,
            "gpus_per_node": options.gpus_per_node,
            "cpus_per_task": options.cpus_per_task,
            # srun ends every task as soon as one exits with an error, instead of the
            # others waiting in a collective until its timeout.
            "slurm_srun_args": ["--kill-on-bad-exit=1"],
        }
    return {"timeout_min": options.time_min, "name": name, **{k: v for k, v in given.items() if v}}
