"""SimSiam Fig. 2 from the records: the stop-gradient grid scores kNN and the projections'
spread during training, and the report draws the three panels from those curves."""

import json
from pathlib import Path

import pandas as pd

from ssl_bench.ablation import expand, get_ablation
from ssl_bench.cli import main
from ssl_bench.records import RECORD_NAME
from ssl_bench.report.plots import plot_training_curves


def test_the_stop_gradient_grid_scores_its_curves_at_the_cpu_preset_only():
    cpu = expand(get_ablation("simsiam_stop_gradient"), preset="cpu")
    assert {p.config.eval.knn_every for p in cpu} == {2}
    # The other cpu grids skip the curve, so only this grid pays for it.
    assert {p.config.eval.knn_every for p in expand(get_ablation("simsiam_predictor"), preset="cpu")} == {0}
    paper = expand(get_ablation("simsiam_stop_gradient"), preset="paper")
    assert {p.config.eval.knn_every for p in paper} == {10}


def test_curves_carry_knn_and_spread_and_the_report_draws_fig_2(tmp_path):
    runs, out = tmp_path / "runs", tmp_path / "reports"
    grid = ["--paper", "simsiam", "--ablation", "stop_gradient", "--preset", "smoke", "--epochs", "3"]
    assert main(["run", *grid, "--set", "eval.knn_every=1", "--out", str(runs)]) == 0
    records = [json.loads(p.read_text()) for p in sorted(Path(runs).glob(f"*/*/{RECORD_NAME}"))]
    assert len(records) == 2
    for rec in records:
        scored = [p for p in rec["curves"] if "knn_top1" in p]
        # Epochs 1 and 2 are scored during training; the last epoch's kNN is the final evaluation.
        assert [p["epoch"] for p in scored] == [1, 2]
        assert all(0 <= p["knn_top1"] <= 1 and 0 <= p["z_std"] <= 1 for p in scored)
    argv = ["report", *grid, "--set", "eval.knn_every=1", "--runs", str(runs), "--out", str(out), "--format", "md,png"]
    assert main(argv) == 0
    assert (out / "simsiam_stop_gradient" / "simsiam_stop_gradient.png").stat().st_size > 10_000


def test_the_plot_draws_one_line_per_row_and_seed_with_the_ideal_spread():
    curves = [{"epoch": e, "loss": -0.1 * e, "z_std": 0.1, "knn_top1": 0.5 + 0.01 * e} for e in (1, 2, 3)]
    records = pd.DataFrame(
        [
            {"row": row, "seed": seed, "status": "done", "curves": curves}
            for row in ("with stop-gradient", "without stop-gradient")
            for seed in (0, 1)
        ]
    )
    fig = plot_training_curves(records, ["with stop-gradient", "without stop-gradient"], 0.125, "smoke", "Fig. 2")
    loss, spread, knn = fig.axes
    assert len(loss.lines) == 4 and len(knn.lines) == 4
    assert any(list(line.get_ydata()) == [0.125, 0.125] for line in spread.lines)  # the 1/√d line
    assert [t.get_text() for t in loss.get_legend().get_texts()] == ["with stop-gradient", "without stop-gradient"]
    assert list(knn.lines[0].get_ydata()) == [51.0, 52.0, 53.0]
    # No loss floor known: no line for it. The spread's axis starts at collapse, 0.
    assert len(loss.lines) == 4 and spread.get_ylim()[0] == 0


def test_the_loss_panel_marks_the_minimum_a_collapsed_run_reaches():
    curves = [{"epoch": e, "loss": -3.0 - 0.1 * e, "z_std": 0.02, "knn_top1": 0.5} for e in (1, 2, 3)]
    records = pd.DataFrame(
        [{"row": "without stop-gradient", "seed": 0, "status": "done", "curves": curves, "loss_floor": -4.0}]
    )
    loss, spread, _ = plot_training_curves(records, ["without stop-gradient"], 0.03, "smoke", "Fig. 2").axes
    assert [list(line.get_ydata()) for line in loss.lines][1:] == [[-4.0, -4.0]]
    assert spread.get_ylim()[0] == 0 and spread.get_ylim()[1] >= 0.03
