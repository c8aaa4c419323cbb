"""How long a local sweep should take, said before its first run: the runs of a grid differ
in what an update costs (an update of 64 images emulated as 16 micro-batches of 4 costs
about twice one of 64 on a CPU), so the first run's rate does not stand for the others.
Each distinct step shape is timed for a few updates, and every run's training time is its
updates times its shape's time. Evaluation (a minute or less a run at the cpu preset) is
not in the plan."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ssl_bench.ablation import Point
from ssl_bench.config import RunConfig
from ssl_bench.eta import duration


def step_shape(cfg: RunConfig) -> tuple:
    """What an update's cost depends on: the method's networks and loss, the backbone, the
    images, the batch and how it is split, and how the arithmetic runs. Not the seed, the
    schedule's values (lr, τ) or the evaluation."""
    m, t, d = cfg.method, cfg.train, cfg.data
    heads = (m.projector, m.predictor, m.target, m.loss.kind, getattr(m.loss, "queue", 0), m.symmetry)
    return (
        heads,
        cfg.backbone,
        d.dataset,
        d.image_size,
        d.train_subset,
        t.batch_size,
        t.accumulate,
        t.precision,
        t.compile,
        t.micro_batches,
    )


@dataclass(frozen=True)
class Plan:
    per_run: tuple[float, ...]  # seconds of training of each run, in launch order
    shapes: int  # distinct step shapes timed
    per_shape: tuple[tuple[str, float], ...]  # (a run of that shape, seconds per update)

    @property
    def seconds(self) -> float:
        return sum(self.per_run)

    def line(self, runs: int) -> str:
        timed = "; ".join(f"{label} {1000 * s:.0f} ms" for label, s in self.per_shape)
        return (
            f"sweep: {runs} runs, about {duration(self.seconds)} of training in all, plus evaluations "
            f"(an update of each of its {self.shapes} step shapes timed here: {timed})"
        )


# A plan is worth its cost when timing the shapes takes at most this share of the training.
PLAN_SHARE = 0.1


def worth_planning(points: Sequence[Point], updates_per_shape: int) -> bool:
    """Whether timing `updates_per_shape` updates of each distinct step shape costs at most
    PLAN_SHARE of the sweep's own updates. A sweep of short runs (the smoke preset's few
    updates each) would spend longer timing than training; its runs' own estimates serve.
    A run whose training set size the config does not fix counts as long."""
    shapes, updates = set(), 0.0
    for p in points:
        shapes.add(step_shape(p.config))
        t, images = p.config.train, p.config.data.train_subset
        updates += float("inf") if images is None else images // t.batch_size * t.epochs
    return len(shapes) * updates_per_shape <= PLAN_SHARE * updates


def plan_sweep(
    points: Sequence[Point],
    time_update: Callable[[RunConfig], tuple[float, int]],
    steps_done: Callable[[Point], int] = lambda p: 0,
) -> Plan:
    """`time_update(cfg)` -> (seconds per update, images trained on), called once per shape;
    a run makes images // batch updates an epoch, as the loop does, less the `steps_done`
    an interrupted run resumes after."""
    timed: dict[tuple, tuple[float, int]] = {}
    labels: dict[tuple, str] = {}
    per_run = []
    for p in points:
        shape = step_shape(p.config)
        if shape not in timed:
            timed[shape] = time_update(p.config)
            labels[shape] = f"{p.method} {p.row}"
        per_update, images = timed[shape]
        t = p.config.train
        per_run.append(per_update * max(0, (images // t.batch_size) * t.epochs - steps_done(p)))
    return Plan(tuple(per_run), len(timed), tuple((labels[s], timed[s][0]) for s in timed))
