"""Ablations are data: a base config (method + scale preset) plus a list of override rows
plus seeds, with the paper's published numbers kept beside them.

An ablation module in benchmarks/ declares one `Ablation`; `expand` turns it into the
RunConfigs of a grid. The runner, the status command and the report only ever see those
points and the records they leave.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ssl_bench.config import RunConfig, build_config, run_id
from ssl_bench.registry import Registry, UnknownNameError
from ssl_bench.spec import InfoNCE, SpecError


@dataclass(frozen=True)
class Row:
    """One row of a paper table: a label and the overrides that make it.

    `methods` restricts the row to some methods (None: every method of the sweep);
    `overrides` may be a function of the preset's base config, for values that are
    relative to it (e.g. a batch size as a fraction of the preset's base batch);
    `applies(base)` false drops the row for that base config (e.g. colour-only rows on
    grey data)."""

    label: str
    overrides: Mapping[str, Any] | Callable[[RunConfig], Mapping[str, Any]] = field(default_factory=dict)
    methods: tuple[str, ...] | None = None
    applies: Callable[[RunConfig], bool] | None = None

    def resolve(self, base: RunConfig) -> Mapping[str, Any]:
        return self.overrides(base) if callable(self.overrides) else self.overrides


@dataclass(frozen=True)
class PaperValue:
    """A published number: the row label, the method it belongs to, top-1 (and top-5) %."""

    row: str
    method: str
    top1: float | None
    top5: float | None = None
    spread: float | None = None  # the paper's ± (half of best − worst over 3 seeds), if printed


BYOL_PROTOCOL = "ImageNet, ResNet-50, 300 epochs, linear top-1 (%) (± is half the spread over 3 seeds, where printed)"


@dataclass(frozen=True)
class Ablation:
    name: str
    title: str
    source: str  # where the published numbers come from
    methods: tuple[str, ...]  # the methods the paper ran it for (default of --method)
    rows: Callable[[str], Sequence[Row]]  # rows for a preset name
    paper: tuple[PaperValue, ...] = ()
    seeds: tuple[int, ...] = (0,)
    x_label: str = ""  # what the rows vary, for tables and plots
    # The first row of each method is its baseline: drops are measured against it.
    # The paper's claims, checked on a summary of the records: (summary, Scale) -> verdicts,
    # each saying what the scale the records ran at can show of it (`ssl_bench.verdicts`).
    claims: Callable[[Any, Any], list] | None = None
    # "curve" (drop vs a log2 axis), "bars_drop", "bars_top1" or "training_curves" (the
    # loss, the projections' spread and kNN over epochs, as SimSiam's Fig. 2)
    plot: str = "bars_top1"
    # Rows are numbers compared by their ratio to the baseline (batch size: base / b), so
    # the paper's rows are placed on ours of the same reduction, not the same value.
    pair_by_reduction: bool = False
    # Whose study it is: `ssl-bench run --paper simsiam --ablation predictor` finds the
    # SimSiam paper's "simsiam_predictor"; the BYOL paper's keep their short names.
    paper_name: str = "byol"
    protocol: str = BYOL_PROTOCOL
    # The paper's own training recipe at a preset, (preset, method) -> overrides applied on
    # top of the preset's and under the rows': the `paper` preset is the BYOL paper's
    # protocol, which the SimSiam paper's grids change to SimSiam's (SGD, batch 512, 100 epochs).
    recipe: Callable[[str, str], Mapping[str, Any]] | None = None
    # Presets at which the grid runs none of its rows, each with why: a scale that can
    # neither show nor fail any of its claims. `ssl-bench run` refuses the grid there, and
    # the report reads each of its claims "not testable at this scale (why)".
    not_at: Mapping[str, str] = field(default_factory=dict)

    def rows_at(self, preset: str) -> list[Row]:
        """The grid's rows at a preset (none at the presets of `not_at`)."""
        return [] if preset in self.not_at else list(self.rows(preset))

    @property
    def short_name(self) -> str:
        """The name within its paper (`predictor` for "simsiam_predictor")."""
        return self.name.removeprefix(f"{self.paper_name}_")

    def baseline(self, preset: str) -> str | None:
        """The row every drop is measured against: the first row of the preset's grid."""
        rows = self.rows_at(preset)
        return rows[0].label if rows else None


@dataclass(frozen=True)
class Point:
    """One run of an ablation grid."""

    ablation: str
    row: str
    method: str
    seed: int
    config: RunConfig

    @property
    def run_id(self) -> str:
        return run_id(self.config)

    @property
    def labels(self) -> dict:
        return {"ablation": self.ablation, "row": self.row, "method": self.method, "seed": self.seed}


# Ablation sweeps run many points. At the cpu preset they keep its 20-epoch schedule: at 6
# epochs training added 0.3 kNN points over a random encoder and scored below the pixels it
# was given, so no claim about a learned representation could be read there; they only
# drop the kNN curve's evaluations.
ABLATION_SCALE: dict[str, dict[str, Any]] = {
    "cpu": {"eval.knn_every": 0},
    "smoke": {"train.epochs": 1, "eval.linear_probe": False},
}

ABLATIONS: Registry = Registry("ablation", "ssl_bench.ablations")
register_ablation = ABLATIONS.register


def _import_builtins() -> None:
    import ssl_bench.benchmarks  # noqa: F401  (registers the paper's ablations)


def get_ablation(name: str) -> Ablation:
    _import_builtins()
    return ABLATIONS.get(name)


def list_ablations(paper: str | None = None) -> list[str]:
    """Every registered ablation, or those of one paper."""
    _import_builtins()
    names = ABLATIONS.names()
    return names if paper is None else [n for n in names if get_ablation(n).paper_name == paper]


def papers() -> list[str]:
    return sorted({get_ablation(n).paper_name for n in list_ablations()})


def resolve_ablation(name: str, paper: str | None = None) -> Ablation:
    """An ablation by its full name, or by its short name within `paper`."""
    if paper is None:
        return get_ablation(name)
    known = papers()
    if paper not in known:
        raise UnknownNameError(f"unknown paper {paper!r}; choose one of: {', '.join(known)}")
    ours = [get_ablation(n) for n in list_ablations(paper)]
    for a in ours:
        if name in (a.name, a.short_name):
            return a
    raise UnknownNameError(
        f"the {paper} paper has no ablation {name!r}; choose one of: {', '.join(a.short_name for a in ours)}"
    )


def expand(
    ablation: Ablation,
    *,
    methods: Sequence[str] | None = None,
    preset: str = "cpu",
    seeds: Sequence[int] | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    overrides: Mapping[str, Any] | None = None,
    rows: Sequence[str] | None = None,
) -> list[Point]:
    """The grid: methods × rows × seeds, each a full RunConfig. The user's `epochs`,
    `batch_size` and `overrides` apply on top of the preset's and the grid's scale, so
    `--set` can rescale an ablation without editing it; a key that the grid's rows set is
    refused, since the user's value would silently make every row the same."""
    user = dict(overrides or {})
    if epochs is not None:
        user.setdefault("train.epochs", epochs)
    if batch_size is not None:
        user.setdefault("train.batch_size", batch_size)
    methods = tuple(methods or ablation.methods)
    seeds = tuple(seeds if seeds is not None else ablation.seeds)
    wanted = rows
    rows = ablation.rows_at(preset)
    if wanted:
        labels = [r.label for r in rows]
        unknown = [w for w in wanted if w not in labels]
        if unknown and preset in ablation.not_at:
            why = ablation.not_at[preset]
            raise SpecError(
                f"ablation {ablation.name} runs no row at the {preset} preset, {unknown[0]!r} neither: {why}"
            )
        if unknown:
            raise SpecError(f"ablation {ablation.name} has no row {unknown[0]!r}; rows: {'; '.join(labels)}")
        rows = [r for r in rows if r.label in wanted]
    points: list[Point] = []
    for method in methods:
        scale = {**ABLATION_SCALE.get(preset, {}), **(ablation.recipe(preset, method) if ablation.recipe else {})}
        base = build_config(method, preset=preset, overrides={**scale, **user})
        for row in rows:
            if row.methods is not None and method not in row.methods:
                continue
            if row.applies is not None and not row.applies(base):
                continue
            row_overrides = dict(row.resolve(base))
            _refuse_keys_the_rows_set(ablation.name, row.label, row_overrides, user)
            try:
                for seed in seeds:
                    cfg = build_config(method, preset=preset, seed=seed, overrides={**scale, **row_overrides, **user})
                    points.append(Point(ablation.name, row.label, method, seed, cfg))
            except SpecError as err:
                raise SpecError(f"ablation {ablation.name}, row {row.label!r}, method {method}: {err}") from None
    if not points and preset not in ablation.not_at:  # there, the report reads its claims without runs
        raise SpecError(f"ablation {ablation.name} has no row for method(s) {', '.join(methods)}")
    # Seed-major: every row at seed s before any at s + 1, so a sweep cut short leaves
    # comparisons balanced (both sides of a claim at the same seeds) rather than some rows
    # at three seeds and others at none.
    points.sort(key=lambda p: p.seed)
    _refuse_temperature_sweep_without_negatives(ablation.name, points)
    seen: dict[str, Point] = {}
    for p in points:
        if p.run_id in seen:
            q = seen[p.run_id]
            raise SpecError(f"ablation {ablation.name}: rows {q.row!r} and {p.row!r} give the same run for {p.method}")
        seen[p.run_id] = p
    return points


def _overlaps(a: str, b: str) -> bool:
    """Whether two dotted keys set the same field (one may hold the other: method.loss, method.loss.beta)."""
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _refuse_keys_the_rows_set(name: str, row: str, row_overrides: Mapping[str, Any], user: Mapping[str, Any]) -> None:
    for key in user:
        hit = next((k for k in row_overrides if _overlaps(key, k)), None)
        if hit is not None:
            raise SpecError(
                f"{key}={user[key]}: ablation {name} sets {hit} in its rows (row {row!r}), so a value given "
                "on the command line would override what the row's label says; drop it, or run without --ablation"
            )


def _refuse_temperature_sweep_without_negatives(name: str, points: Sequence[Point]) -> None:
    """At β = 0 the loss does not depend on α (it only enters the contrastive term), so
    runs that differ only in temperature would be the same run under different names."""
    groups: dict[str, set[float]] = {}
    for p in points:
        loss = p.config.method.loss
        if isinstance(loss, InfoNCE) and loss.beta == 0:
            method = dataclasses.replace(p.config.method, loss=dataclasses.replace(loss, temperature=0.0))
            groups.setdefault(run_id(dataclasses.replace(p.config, method=method)), set()).add(loss.temperature)
    for temps in groups.values():
        if len(temps) > 1:
            raise SpecError(
                f"ablation {name}: a temperature sweep at beta=0 ({sorted(temps)}) makes no sense: "
                "alpha only enters the contrastive term, so these runs are identical; use beta > 0"
            )
