"""Ablation grids, idempotent local sweeps, and a sweep killed with -9 midway."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import smoke_grid, wait_until

from ssl_bench.ablation import expand, get_ablation, list_ablations
from ssl_bench.cli import main
from ssl_bench.records import RECORD_NAME
from ssl_bench.spec import SpecError
from ssl_bench.sweep import grid_status, summarize

PRESETS = ("smoke", "cpu", "cifar10", "paper")


def test_the_four_paper_ablations_are_registered():
    assert {"batch_size", "augmentation", "tau", "predictor"} <= set(list_ablations())


@pytest.mark.parametrize("preset", PRESETS)
def test_batch_size_grid(preset):
    points = expand(get_ablation("batch_size"), preset=preset)
    byol = [p for p in points if p.method == "byol"]
    base = byol[0].config.train.batch_size
    assert {p.method for p in points} == {"byol", "simclr"}
    if preset == "cpu":  # the pair its claims read: the base and the 16x reduction
        assert [int(p.row) for p in byol] == [base, base // 16]
    else:
        assert [int(p.row) for p in byol] == [base >> k for k in range(len(byol))]
    for p in byol:  # emulated: the update batch and its lr stay; micro-batches shrink
        assert p.config.train.batch_size == base and p.config.train.batch_size // p.config.train.accumulate == int(
            p.row
        )
    if preset == "paper":
        assert [p.row for p in byol] == ["4096", "2048", "1024", "512", "256", "128", "64"]
        assert byol[0].config.backbone == "resnet50" and byol[0].config.train.epochs == 300
        assert byol[0].config.method.ema.tau_base == 0.99 and byol[0].config.method.optim.base_lr == 0.3


def test_batch_size_true_mode_uses_real_batches():
    points = expand(get_ablation("batch_size_true"), preset="paper", methods=["byol"])
    assert [(p.config.train.batch_size, p.config.train.accumulate) for p in points][-1] == (64, 1)


@pytest.mark.parametrize("preset", PRESETS)
def test_augmentation_grid(preset):
    points = expand(get_ablation("augmentation"), preset=preset)
    rows = [p.row for p in points if p.method == "simclr"]
    if preset == "cpu":  # the rows of the one claim grey images leave to decide
        assert rows == ["baseline", "crop only"]
    else:
        assert rows[0] == "baseline" and "crop only" in rows and "remove color (jitter and grayscale)" in rows
        assert len(rows) == (12 if preset == "smoke" else 14)  # colour-only rows dropped on grey data
    crop_only = next(p for p in points if p.row == "crop only" and p.method == "byol").config.aug
    for v in (crop_only.view1, crop_only.view2):
        assert (v.flip_p, v.jitter_p, v.gray_p, v.blur_p, v.solarize_p) == (0, 0, 0, 0, 0)
        assert v.crop_scale == (0.08, 1.0)
    simclr_base = next(p for p in points if p.row == "baseline" and p.method == "simclr").config.aug
    assert simclr_base.view2.solarize_p == 0.2  # both methods start from BYOL's T/T'


@pytest.mark.parametrize("dataset, rows", [("fashion-mnist", 12), ("cifar10", 14), ("synthetic", 14)])
def test_colour_only_rows_follow_the_datas_channels_not_the_preset(dataset, rows):
    """The colour-only rows drop on grey data whatever the preset, and stay on colour data."""
    for preset in ("smoke", "paper"):
        points = expand(
            get_ablation("augmentation"), preset=preset, methods=["byol"], overrides={"data.dataset": dataset}
        )
        assert len(points) == rows, (preset, dataset)


@pytest.mark.parametrize("preset", PRESETS)
def test_tau_grid(preset):
    points = expand(get_ablation("tau"), preset=preset)
    got = [(p.config.method.target, p.config.method.ema and p.config.method.ema.tau_base) for p in points]
    if preset == "cpu":  # the collapse claim's rows
        assert got == [("ema", 0.99), ("stopgrad", None)]
    else:
        assert got == [("ema", 0.99), ("ema", 1.0), ("ema", 0.999), ("ema", 0.9), ("stopgrad", None)]


@pytest.mark.parametrize("preset", [p for p in PRESETS if p != "cpu"])  # cpu: tests/test_cpu_grids.py
def test_predictor_grid(preset):
    points = expand(get_ablation("predictor"), preset=preset)
    losses = [p.config.method.loss for p in points]
    space = {
        (p.config.method.predictor is not None, p.config.method.target, loss.beta)
        for p, loss in zip(points, losses, strict=True)
        if loss.temperature == 0.1 and loss.beta in (0.0, 1.0)
    }
    assert space == {(pr, t, b) for pr in (True, False) for t in ("ema", "stopgrad", "online") for b in (0.0, 1.0)}
    sweep = {(loss.beta, loss.temperature) for loss in losses if loss.beta not in (0, 1)}
    assert sweep == {(b, a) for b in (0.1, 0.5) for a in (0.01, 0.1, 0.3, 1.0, 3.0, 10.0)}
    assert len(points) == 12 + 17


def test_temperature_sweep_at_beta_zero_is_refused():
    from ssl_bench.ablation import Ablation, Row

    rows = [Row(f"alpha={a}", {"method.loss.temperature": a}) for a in (0.1, 0.5)]
    sweep = Ablation("alpha", "alpha at beta = 0", "test", ("byol",), rows=lambda preset: rows)
    with pytest.raises(SpecError, match="temperature sweep at beta=0"):
        expand(sweep, preset="smoke")


def test_a_user_value_for_a_key_the_rows_set_is_refused():
    with pytest.raises(SpecError, match="ablation predictor sets method.loss.beta in its rows"):
        expand(get_ablation("predictor"), preset="smoke", overrides={"method.loss.beta": 0.0})


def test_unknown_ablation_and_bad_seeds(capsys):
    assert main(["run", "--ablation", "nope", "--dry-run"]) == 2
    assert "unknown ablation 'nope'; choose one of: augmentation, batch_size" in capsys.readouterr().err
    assert main(["run", "--ablation", "tau", "--seeds", "a,b", "--dry-run"]) == 2
    assert "--seeds 'a,b'" in capsys.readouterr().err


def sweep_argv(out, *extra):
    return smoke_grid("tau", out, "--checkpoint-every", "0", *extra)


def metrics_by_row(out):
    recs = [json.loads(p.read_text()) for p in Path(out, "tau").glob(f"*/{RECORD_NAME}")]
    return {r["labels"]["row"]: r["metrics"] for r in recs}


@pytest.fixture(scope="module")
def uninterrupted_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    assert main(sweep_argv(out)) == 0
    return out


def test_local_sweep_writes_one_record_per_point_and_relaunches_nothing(uninterrupted_sweep, capsys):
    out = uninterrupted_sweep
    points = expand(get_ablation("tau"), preset="smoke")
    assert summarize(grid_status(out, points)) == "5 done"
    capsys.readouterr()
    assert main(sweep_argv(out)) == 0
    assert "nothing to launch" in capsys.readouterr().out
    assert main(sweep_argv(out, "--dry-run")) == 0
    assert "5 done" in capsys.readouterr().out


def test_status_command(uninterrupted_sweep, capsys):
    assert main(["status", "--ablation", "tau", "--preset", "smoke", "--out", str(uninterrupted_sweep)]) == 0
    out = capsys.readouterr().out
    assert "5 runs: 5 done" in out and "stopgrad" not in out and "0 (stop-gradient of online)" in out


DIVERGING = [
    "--set",
    "method.optim.name=sgd",
    "--set",
    "method.optim.base_lr=1e30",
    "--set",
    "method.optim.warmup_epochs=0",
]


def test_failed_point_is_reported_with_reason_and_relaunched(tmp_path, capsys):
    grid = ["--ablation", "tau", "--preset", "smoke", "--out", str(tmp_path), *DIVERGING]
    assert main(["run", *grid]) == 1
    capsys.readouterr()
    assert main(["status", *grid]) == 0
    out = capsys.readouterr().out
    assert "failed" in out and "non-finite loss" in out
    assert main(["run", *grid, "--dry-run"]) == 0
    assert "would launch" in capsys.readouterr().out


def test_sweep_killed_with_sigkill_completes_on_rerun_with_identical_metrics(uninterrupted_sweep, tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "ssl-bench")
    argv = [exe, *sweep_argv(tmp_path)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def files():
        grid = Path(tmp_path, "tau")
        done = list(grid.glob(f"*/{RECORD_NAME}"))
        # A checkpoint of a run not yet done: a finished run's own may linger a moment
        # after its record is written.
        ckpts = [c for c in grid.glob("*/checkpoint.pt") if not (c.parent / RECORD_NAME).exists()]
        return done, ckpts

    # Kill once one run is done and the next one has a checkpoint: mid-sweep, mid-run.
    # Waits on the sweep's progress (its files, its process), not on a clock.
    seen = {}

    def middle():
        seen["done"], seen["ckpts"] = files()
        return (seen["done"] and seen["ckpts"]) or proc.poll() is not None

    try:
        wait_until(
            middle, progress=lambda: (tuple(map(len, files())), proc.poll()), what="the sweep's middle", poll_s=0.05
        )
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
    done, ckpts = seen["done"], seen["ckpts"]
    proc.wait()
    assert done and ckpts, "the sweep never reached the middle"
    points = expand(get_ablation("tau"), preset="smoke")
    assert "interrupted" in summarize(grid_status(tmp_path, points)) or "missing" in summarize(
        grid_status(tmp_path, points)
    )
    assert main(sweep_argv(tmp_path)) == 0
    assert summarize(grid_status(tmp_path, points)) == "5 done"
    assert metrics_by_row(tmp_path) == metrics_by_row(uninterrupted_sweep)
    resumed = [json.loads(p.read_text())["resumes"] for p in Path(tmp_path, "tau").glob(f"*/{RECORD_NAME}")]
    assert any(resumed), "the run killed midway should have resumed from its checkpoint"


def test_debug_launcher_runs_through_submitit_in_process(tmp_path, capsys):
    argv = smoke_grid("tau", tmp_path, "--row", "0.99", "--launcher", "debug")
    assert main(argv) == 0
    assert "tau: 1 done" in capsys.readouterr().out
    (rec,) = [json.loads(p.read_text()) for p in Path(tmp_path, "tau").glob(f"*/{RECORD_NAME}")]
    assert rec["status"] == "done" and rec["labels"]["row"] == "0.99"


def test_unknown_row_lists_the_rows(capsys):
    assert main(["run", "--ablation", "tau", "--row", "0.5", "--dry-run"]) == 2
    assert "ablation tau has no row '0.5'; rows: 0.99; 0 (stop-gradient of online)" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["batch_size", "batch_size_true", "augmentation", "predictor"])
def test_every_ablation_runs_end_to_end_at_the_smoke_preset(name, tmp_path, capsys):
    """The whole grid (tau runs in the tests above), a record per point, and a report. Of
    the predictor grid's Table 18 sweep, whose rows differ only in beta and alpha, one row
    trains here: the 12 structural rows cover its code paths."""
    rows = None
    if name == "predictor":
        rows = [r.label for r in get_ablation(name).rows("smoke") if "alpha=" not in r.label or "alpha=3" in r.label]
        rows = rows[: 12 + 1]
    argv = ["run", "--ablation", name, "--preset", "smoke", "--out", str(tmp_path / "runs")]
    assert main([*argv, *(f"--row={r}" for r in rows or [])]) == 0
    points = expand(get_ablation(name), preset="smoke", rows=rows)
    assert summarize(grid_status(tmp_path / "runs", points)) == f"{len(points)} done"
    assert (
        main(
            [
                "report",
                "--ablation",
                name,
                "--preset",
                "smoke",
                "--runs",
                str(tmp_path / "runs"),
                "--out",
                str(tmp_path / "reports"),
                "--format",
                "md",
            ]
        )
        == 0
    )
    assert "Claims of the paper" in (tmp_path / "reports" / name / f"{name}.md").read_text()


def test_a_run_shared_by_two_ablations_trains_once(tmp_path, capsys):
    batch = expand(get_ablation("batch_size"), preset="smoke", methods=["byol"], rows=["32"])[0]
    base = expand(get_ablation("augmentation"), preset="smoke", methods=["byol"], rows=["baseline"])[0]
    assert batch.run_id == base.run_id  # the same config under two names
    out = str(tmp_path)
    assert main(smoke_grid("batch_size", out, "--method", "byol", "--row", "32")) == 0
    capsys.readouterr()
    assert main(smoke_grid("augmentation", out, "--method", "byol", "--row", "baseline")) == 0
    printed = capsys.readouterr().out
    assert "1 runs already done under another ablation" in printed and "nothing to launch" in printed
    rec = json.loads((tmp_path / "augmentation" / base.run_id / RECORD_NAME).read_text())
    assert rec["labels"]["ablation"] == "augmentation" and rec["adopted_from"] == f"batch_size/{base.run_id}"


def test_the_simsiam_papers_grids_run_and_report_with_one_command_each(tmp_path, capsys):
    """`--paper simsiam --ablation all` for run, status and report: every grid of that paper,
    a record per point (a config two grids share trains once), and the results index."""
    from ssl_bench.ablation import list_ablations

    runs, reports = str(tmp_path / "runs"), str(tmp_path / "reports")
    assert main(["run", "--paper", "simsiam", "--ablation", "all", "--preset", "smoke", "--out", runs]) == 0
    capsys.readouterr()
    assert main(["status", "--paper", "simsiam", "--ablation", "all", "--preset", "smoke", "--out", runs]) == 0
    status = capsys.readouterr().out
    for name in list_ablations("simsiam"):
        points = expand(get_ablation(name), preset="smoke")
        assert summarize(grid_status(Path(runs), points)) == f"{len(points)} done", name
        assert f"{name}, preset smoke" in status
    argv = ["report", "--paper", "simsiam", "--ablation", "all", "--preset", "smoke", "--runs", runs, "--out", reports]
    assert main([*argv, "--format", "md"]) == 0
    index = (tmp_path / "reports" / "README.md").read_text()
    assert all(f"## {name}:" in index for name in list_ablations("simsiam"))
    assert "without stop-gradient, SimSiam collapses" in index
