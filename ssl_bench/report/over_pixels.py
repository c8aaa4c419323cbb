"""Whether the trained encoders score above the pixels they were given, per metric: a
pure function of the records.

A metric on which a trained encoder does not beat its own input cannot read a claim about
learned representations (`ssl_bench.scope`), so a preset's verdict metric is chosen where
it does. This table tests that choice on every finished run the report reads, each run
once however many grids share it, and separately on the seeds that did not choose it.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ssl_bench.scope import METRIC_CHOSEN_ON_SEEDS, METRIC_NAMES

COLUMNS = ["metric", "seeds", "runs", "above", "median", "least", "most"]


def _pairs(done: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(name, trained column, pixels column) for every metric both sides scored."""
    pairs = [(METRIC_NAMES[m], m, f"pixels_{m}") for m in ("linear_top1", "knn_top1")]
    extra = sorted(c for c in done.columns if c.startswith("knn_top1_k") and f"pixels_{c}" in done)
    pairs += [(f"kNN top-1, k = {c.removeprefix('knn_top1_k')}", c, f"pixels_{c}") for c in extra]
    return [p for p in pairs if p[1] in done and p[2] in done]


def over_pixels(frames: Sequence[pd.DataFrame], chosen_on: Sequence[int] = METRIC_CHOSEN_ON_SEEDS) -> pd.DataFrame:
    """Per metric, over all seeds and over the seeds not in `chosen_on`: finished runs that
    scored their pixels, how many score above them, and the gain's median, least and most
    (top-1 points)."""
    done = [f[f.status == "done"] for f in frames if len(f) and "status" in f]
    done = pd.concat(done, ignore_index=True) if done else pd.DataFrame()
    if done.empty:
        return pd.DataFrame(columns=COLUMNS)
    done = done.drop_duplicates(subset="run_id") if "run_id" in done else done
    held_out = ~done.seed.isin(list(chosen_on))
    others = ", ".join(str(s) for s in sorted(set(done.seed[held_out])))
    rows = []
    for name, col, px in _pairs(done):
        for seeds, part in (("all", done), (f"{others} (not used to choose)", done[held_out])):
            gain = (part[col] - part[px]).dropna()
            if len(gain):
                rows.append(
                    {
                        "metric": name,
                        "seeds": seeds,
                        "runs": len(gain),
                        "above": int((gain > 0).sum()),
                        "median": float(gain.median()),
                        "least": float(gain.min()),
                        "most": float(gain.max()),
                    }
                )
    return pd.DataFrame(rows, columns=COLUMNS)


def over_pixels_markdown(table: pd.DataFrame) -> list[str]:
    """The section of results/README.md: the table, then what it says of the choice."""
    if table.empty:
        return []
    lines = [
        "## The metrics against the pixels",
        "",
        "Per metric, every finished run (once, however many grids share it) against the normalised pixels it was "
        "given, scored alike: how many score above them, and by how many top-1 points. Collapsed rows are "
        f"included. The verdict metric was chosen on seed {', '.join(map(str, METRIC_CHOSEN_ON_SEEDS))}; the other "
        "seeds test the choice on runs that did not make it.",
        "",
        "| metric | seeds | runs | above the pixels | median gain | least | most |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples(index=False):
        lines.append(
            f"| {r.metric} | {r.seeds} | {r.runs} | {r.above} | {r.median:+.1f} | {r.least:+.1f} | {r.most:+.1f} |"
        )
    held = table[table.seeds != "all"]
    if len(held):
        said = "; ".join(f"{r.metric} {r.above} of {r.runs}" for r in held.itertuples(index=False))
        lines += ["", f"On the seeds that did not choose the metric, the runs above their pixels: {said}."]
    return lines


def pixels_sentence(records: pd.DataFrame) -> str:
    """For a report's opening: how many of its trained encoders each metric puts above their
    pixels (empty where the runs scored none)."""
    above = over_pixels([records])
    above = above[above.seeds == "all"]
    if above.empty:
        return ""
    counts = ", ".join(f"{r.metric} {r.above} of {r.runs}" for r in above.itertuples(index=False))
    return (
        f"Trained encoders scoring above the pixels they are given, on these runs: {counts}; a metric "
        "on which they do not beat their own input cannot read a claim about learned representations."
    )
