"""Every run record under a directory as one table, one row per run: labels, config fields,
metrics, the random-init and pixel scores, cost and provenance, flattened to dotted
columns (`config.train.batch_size`, `metrics.linear_top1`), so runs can be queried with
pandas. Per-epoch curves stay in the records. A pure function of the records."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ssl_bench.migrate import upgrade_record
from ssl_bench.records import RECORD_NAME, CorruptRecord, load_record

# Lists of points, kept in the record: one row per run has no place for them.
_LEFT_OUT = ("curves", "time_to_accuracy", "resumes")


def find_records(root: Path) -> list[Path]:
    """The run records under `root` at any depth (grids and single runs alike)."""
    return sorted(p for p in Path(root).rglob(RECORD_NAME) if not any(x.startswith("_") for x in p.parts[:-1]))


def _flat(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, (list, tuple)):
        out[prefix] = json.dumps(value)  # a column of scalars, readable back with json.loads
    else:
        out[prefix] = value


def records_frame(root: Path) -> pd.DataFrame:
    """One row per run record under `root` (schema-upgraded, so ids are today's); corrupt
    records get a row with their status and error, never dropped."""
    rows = []
    for path in find_records(root):
        try:
            rec = load_record(path)
        except CorruptRecord as err:
            rec = {"status": "corrupt", "error": str(err)}
        if rec is None:
            continue
        rec = upgrade_record(rec)
        row = {"path": str(path.parent.relative_to(root))}
        _flat("", {k: v for k, v in rec.items() if k not in _LEFT_OUT}, row)
        rows.append(row)
    frame = pd.DataFrame(rows)
    first = [c for c in ("path", "run_id", "status", "labels.ablation", "labels.row", "labels.method") if c in frame]
    return frame[first + [c for c in frame.columns if c not in first]]
