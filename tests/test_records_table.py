"""All records out: `ssl-bench records` writes one row per run under a directory, and
`ssl-bench status` without --ablation lists every grid and single run under a --out."""

import importlib.util
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ssl_bench.cli import main

RECORD = Path(__file__).parent / "fixtures" / "migrate" / "byol-batch64-cpu-seed0-schema2.json"


def tree(root: Path) -> Path:
    """A --out with a grid (a done, a failed and an interrupted run, the shared baselines),
    a single run and a corrupt record."""
    done = root / "batch_size" / "7c7e9f164480"
    done.mkdir(parents=True)
    shutil.copy(RECORD, done / "record.json")
    failed = root / "batch_size" / "aaaaaaaaaaaa"
    failed.mkdir()
    (failed / "record.json").write_text(json.dumps({"status": "failed", "error": "loss is nan at step 3"}))
    interrupted = root / "batch_size" / "bbbbbbbbbbbb"
    interrupted.mkdir()
    (interrupted / "checkpoint.pt").write_bytes(b"state")
    (root / "batch_size" / "_baselines").mkdir()
    (root / "batch_size" / "_baselines" / "record.json").write_text("{}")
    single = root / "cccccccccccc"
    single.mkdir()
    rec = json.loads(RECORD.read_text())
    (single / "record.json").write_text(json.dumps({**rec, "labels": {}}))
    corrupt = root / "tau" / "dddddddddddd"
    corrupt.mkdir(parents=True)
    (corrupt / "record.json").write_text('{"status": "done", "metr')
    return root


def test_records_writes_one_row_per_run_with_flattened_fields(tmp_path, capsys):
    root = tree(tmp_path / "runs")
    assert main(["records", str(root)]) == 0
    assert "4 run(s) under" in capsys.readouterr().out
    frame = pd.read_csv(root / "records.csv")
    assert len(frame) == 4 and set(frame.status) == {"done", "failed", "corrupt"}
    row = frame[frame.path == "batch_size/7c7e9f164480"].iloc[0]
    assert row["config.train.batch_size"] == 64 and row["labels.method"] == "byol" and row["cost.device_name"]
    assert row["metrics.linear_top1"] == json.loads(RECORD.read_text())["metrics"]["linear_top1"]
    assert row["schema"] == 3 and row["run_id"] != "7c7e9f164480"  # upgraded: today's id
    assert "curves" not in frame and not any(c.startswith("curves") for c in frame.columns)


def test_parquet_or_one_line_saying_what_it_needs(tmp_path, capsys):
    root = tree(tmp_path / "runs")
    code = main(["records", str(root), "--format", "parquet", "--to", str(tmp_path / "all.parquet")])
    if importlib.util.find_spec("pyarrow") is None:
        assert code == 2 and "needs pyarrow" in capsys.readouterr().err
        assert not (tmp_path / "all.parquet").exists()
    else:
        assert code == 0 and len(pd.read_parquet(tmp_path / "all.parquet")) == 4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["records", "/nonexistent/runs"], "records /nonexistent/runs: no such directory"),
        (["records", "{root}", "--format", "xls"], "--format 'xls': choose csv or parquet"),
        (["status", "--out", "/nonexistent/runs"], "--out /nonexistent/runs: no such directory"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, argv, message):
    root = tree(tmp_path / "runs")
    assert main([a.replace("{root}", str(root)) for a in argv]) == 2
    assert capsys.readouterr().err.strip() == f"ssl-bench: error: {message}"
    assert not (root / "records.csv").exists()


def test_status_over_a_whole_out_counts_every_grid(tmp_path, capsys):
    root = tree(tmp_path / "runs")
    assert main(["status", "--out", str(root)]) == 0
    out = capsys.readouterr().out
    assert "(single runs): 1 runs: 1 done" in out
    assert "batch_size: 3 runs: 1 done, 1 failed, 1 interrupted" in out
    assert "aaaaaaaaaaaa  failed: loss is nan at step 3" in out and "bbbbbbbbbbbb  interrupted" in out
    assert "tau: 1 runs: 1 corrupt" in out and "_baselines" not in out
