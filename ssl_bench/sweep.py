"""An ablation grid's state: what is done, running, failed or missing, read from the
records and heartbeats alone (launching is `ssl_bench.launch`).

A point is done when its record says so; a sweep is idempotent: launching it again runs
only what is missing or failed. Records live at <out>/<ablation>/<run id>/record.json,
one atomic file per run, so concurrent tasks on a shared filesystem never collide.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ssl_bench.ablation import Point
from ssl_bench.liveness import HEARTBEAT_NAME, describe, is_alive
from ssl_bench.records import (
    CHECKPOINT_NAME,
    CONFIG_NAME,
    RECORD_NAME,
    CorruptRecord,
    load_record,
    read_record,
    set_aside,
)


@dataclass(frozen=True)
class PointStatus:
    point: Point
    state: str  # done | failed | running | interrupted | corrupt | missing
    detail: str = ""


def run_dir(out_root: Path, point: Point) -> Path:
    return Path(out_root) / point.ablation / point.run_id


def point_status(out_root: Path, point: Point, now: float | None = None) -> PointStatus:
    state, detail = dir_state(run_dir(out_root, point), now)
    return PointStatus(point, state, detail)


def dir_state(d: Path, now: float | None = None) -> tuple[str, str]:
    """(state, detail) of a run directory, from its record, heartbeat and checkpoint alone."""
    try:
        rec, corrupt = load_record(d / RECORD_NAME), None
    except CorruptRecord as err:
        rec, corrupt = None, err
    if rec is not None and rec.get("status") == "done":
        return ("done", "")
    heartbeat = read_record(d / HEARTBEAT_NAME)
    if (
        heartbeat is not None
        and is_alive(heartbeat, now)
        and (rec is None or heartbeat.get("time", 0) > rec.get("finished", 0))
    ):
        return ("running", describe(heartbeat))
    if corrupt is not None:
        return ("corrupt", f"{corrupt.path} ({corrupt.reason}); kept aside when the run is redone")
    if rec is not None and rec.get("status") == "failed":
        return ("failed", rec.get("error", "no reason recorded"))
    if (d / CHECKPOINT_NAME).exists():
        step = heartbeat.get("step") if heartbeat else None
        return ("interrupted", f"checkpoint at step {step if step is not None else '?'}; will resume")
    return ("missing", "")


def steps_done(out_root: Path, point: Point) -> int:
    """About the updates an interrupted run will resume after, for a sweep's plan: its
    heartbeat's step where it left a checkpoint, else 0. The last beat can be up to a
    checkpoint interval (an epoch at most) past the checkpoint it resumes from, so the
    plan may count a little less than the run retrains."""
    d = run_dir(out_root, point)
    if not (d / CHECKPOINT_NAME).exists():
        return 0
    heartbeat = read_record(d / HEARTBEAT_NAME) or {}
    return int(heartbeat.get("step") or 0)


SINGLE_RUNS = "(single runs)"


def _is_run_dir(d: Path) -> bool:
    return any((d / name).exists() for name in (RECORD_NAME, HEARTBEAT_NAME, CHECKPOINT_NAME, CONFIG_NAME))


def out_status(out_root: Path, now: float | None = None) -> dict[str, list[tuple[str, str, str]]]:
    """Every run under a --out, whatever grid it belongs to: {grid folder: [(run id, state,
    detail)]}, single runs (<out>/<run id>/) under SINGLE_RUNS; folders starting with "_"
    (the shared baselines) and anything that is not a run directory are skipped."""
    found: dict[str, list[tuple[str, str, str]]] = {}

    def runs_in(folder: Path) -> list[Path]:
        return sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith("_") and _is_run_dir(d))

    root = Path(out_root)
    for d in runs_in(root):
        found.setdefault(SINGLE_RUNS, []).append((d.name, *dir_state(d, now)))
    for grid in sorted(g for g in root.iterdir() if g.is_dir() and not g.name.startswith("_") and not _is_run_dir(g)):
        runs = [(d.name, *dir_state(d, now)) for d in runs_in(grid)]
        if runs:
            found[grid.name] = runs
    return found


def count_states(states: Sequence[str]) -> str:
    counts = Counter(states)
    order = ("done", "running", "failed", "interrupted", "corrupt", "missing")
    return ", ".join(f"{counts[k]} {k}" for k in order if counts[k]) or "nothing"


def grid_status(out_root: Path, points: Sequence[Point]) -> list[PointStatus]:
    return [point_status(out_root, p) for p in points]


def summarize(statuses: Sequence[PointStatus]) -> str:
    return count_states([s.state for s in statuses])


def to_launch(statuses: Sequence[PointStatus]) -> list[Point]:
    """Missing, failed, interrupted and corrupt points; never those done or visibly running."""
    return [s.point for s in statuses if s.state in ("missing", "failed", "interrupted", "corrupt")]


def adopt_finished_twins(out_root: Path, points: Sequence[Point]) -> list[Point]:
    """Points whose identical run (same config, same id) is already done under another
    ablation of the same output root get a copy of that record, relabelled for this
    grid: a baseline shared by several ablations trains once. Returns the points adopted."""
    import json

    from ssl_bench.records import write_json_atomic

    adopted = []
    for p in points:
        target = run_dir(out_root, p) / RECORD_NAME
        try:
            if (load_record(target) or {}).get("status") == "done":
                continue
        except CorruptRecord:
            pass  # set aside below, once a twin is found to replace it
        corrupt = point_status(out_root, p).state == "corrupt"
        for twin in sorted(Path(out_root).glob(f"*/{p.run_id}/{RECORD_NAME}")):
            rec = read_record(twin)
            if rec is None or rec.get("status") != "done" or twin == target:
                continue
            rec = {**rec, "labels": p.labels, "adopted_from": str(twin.parent.relative_to(out_root))}
            if corrupt:
                set_aside(target)
            config = twin.parent / CONFIG_NAME
            if config.exists():
                write_json_atomic(target.parent / CONFIG_NAME, json.loads(config.read_text()))
            write_json_atomic(target, rec)
            adopted.append(p)
            break
    return adopted


def dump_grid(statuses: Sequence[PointStatus]) -> str:
    lines = []
    for s in statuses:
        p = s.point
        detail = f"  {s.detail}" if s.detail else ""
        lines.append(f"  {p.method:<8} {p.row:<40} seed {p.seed}  {p.run_id}  {s.state}{detail}")
    return "\n".join(lines)
