"""How long a run or a sweep should take on this machine, measured as it goes: the first
steps of a run after a short warm-up, and the finished runs of a sweep."""

from __future__ import annotations

import time


def duration(seconds: float) -> str:
    """4 s, 3.5 min, 2 h 05 min."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    h, m = divmod(round(seconds / 60), 60)
    return f"{h} h {m:02d} min"


class FirstSteps:
    """Times the steps after `warmup` (the first ones pick kernels and fill caches) and,
    once `min_steps` of them over at least `min_s` seconds are in, gives the rate and
    the training time left. Nothing here changes what the run computes."""

    def __init__(self, total: int, start: int, batch: int, warmup: int = 2, min_steps: int = 20, min_s: float = 5.0):
        self.total, self.batch = total, batch
        self.warmup, self.min_steps, self.min_s = warmup, min_steps, min_s
        self.first = start + warmup
        self.t0: float | None = None
        self.said = False

    def observe(self, step: int) -> tuple[float, float, str] | None:
        """At a read point after `step` steps: (images/s, seconds left, line) the first time
        enough steps are timed, else None."""
        if self.said:
            return None
        now = time.monotonic()
        if step <= self.first:
            if step == self.first:
                self.t0 = now
            return None
        if self.t0 is None:  # the loop reads back less often than every step (GPU)
            self.first, self.t0 = step, now
            return None
        timed, elapsed = step - self.first, now - self.t0
        if (timed < self.min_steps or elapsed < self.min_s) and step < self.total:
            return None
        self.said = True
        per_step = elapsed / timed
        left = (self.total - step) * per_step
        rate = self.batch / per_step
        line = (
            f"{self.total - step} steps left at {rate:.0f} images/s on this machine (timed over steps "
            f"{self.first + 1}-{step}): about {duration(left)} of training, then evaluation"
        )
        return rate, left, line


class SweepClock:
    """Runs done out of the runs launched, and an ETA from the mean wall time of the runs
    finished so far (or, before any finishes, from the first run's own estimate)."""

    def __init__(self, total: int, jobs: int = 1, planned: tuple[float, ...] | None = None) -> None:
        self.total, self.jobs = total, max(1, jobs)
        self.start = time.monotonic()
        self.done = 0
        self.run_estimate_s: float | None = None
        # Each run's planned training seconds (`ssl_bench.sweep_plan`), one after another:
        # the runs left are then the plan's, at the pace the finished ones kept to it.
        self.planned = planned

    def first_estimate(self, run_s: float) -> str:
        """One run's whole expected time (its first steps'): the plan for the rest."""
        self.run_estimate_s = run_s
        left = run_s * self.total / self.jobs
        return (
            f"sweep: {self.total} runs; if each costs about what this one should ({duration(run_s)} of training), "
            f"about {duration(left)} in all, plus evaluations"
        )

    def finished(self) -> str:
        self.done += 1
        elapsed = time.monotonic() - self.start
        # Runs launched together finish together: while the first `jobs` are finishing, the
        # ones still in flight are nearly as far along, so each finished run stands for one
        # per worker (else the first of two parallel runs would predict twice the time).
        per_run = elapsed / max(self.done, min(self.jobs, self.total))
        left = per_run * (self.total - self.done)
        if self.planned and self.jobs == 1 and sum(self.planned[: self.done]) > 0:
            left = elapsed / sum(self.planned[: self.done]) * sum(self.planned[self.done :])
        eta = f", about {duration(left)} left" if self.done < self.total else ""
        return f"sweep: {self.done}/{self.total} runs finished in {duration(elapsed)}{eta}"
