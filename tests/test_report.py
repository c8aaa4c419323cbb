"""The report is a pure function of the records: a golden table from hand-made fixture
records, verdicts computed from the numbers, and plots that contain every series.

Regenerate the golden file after an intended change of the table's format with:
    SSL_BENCH_REGEN_GOLDEN=1 pytest tests/test_report.py
"""

import json
import os
from pathlib import Path

import pytest

from ssl_bench.ablation import get_ablation
from ssl_bench.report import Entry, build_report, write_report
from ssl_bench.verdicts import Stat, compare, none_above

FIXTURES = Path(__file__).parent / "fixtures" / "report"


def tau_report():
    entries = [Entry(e["labels"], e["record"]) for e in json.loads((FIXTURES / "tau_entries.json").read_text())]
    return build_report(get_ablation("tau"), entries)


def smoke_record(linear_top1: float) -> dict:
    """A finished smoke-preset record with the given linear top-1 (the rest fixed)."""
    return {
        "status": "done",
        "config": {
            "preset": "smoke",
            "backbone": "convnet",
            "data": {"dataset": "fashion-mnist"},
            "train": {"epochs": 1},
        },
        "data": {"num_classes": 10},
        "metrics": {"linear_top1": linear_top1, "knn_top1": 0.4, "z_std": 0.05, "z_std_ideal": 0.06},
        "random_init": {"linear_top1": 0.3, "knn_top1": 0.3},
        "cost": {"train_wall_s": 1, "eval_wall_s": 1, "images_per_s": 100, "device": "cpu", "device_name": "cpu"},
    }


def test_golden_tau_table():
    rep = tau_report()
    got = rep.markdown(image="tau.png")
    golden = FIXTURES / "tau_expected.md"
    if os.environ.get("SSL_BENCH_REGEN_GOLDEN"):
        golden.write_text(got)
    assert got == golden.read_text()


def test_missing_and_failed_runs_never_become_numbers():
    rep = tau_report()
    rows = rep.table.set_index("tau_base")
    assert rows.loc["0.9", "top-1"] == "79.0 (1) (+1 failed)" and rows.loc["0.9", "kNN"] == "71.0 (1)"
    assert rows.loc["0.999", "top-1"] == "78.0 (1) (+1 missing)"
    assert rows.loc["0.99", "top-1"] == "80.5 ± 0.7 (2)"
    assert rows.loc["0.99", "paper"] == "72.5" and rows.loc["1 (constant random target)", "paper"] == "18.8 ± 0.7"


def test_verdicts_come_from_the_numbers():
    verdicts = {v.claim: v for v in tau_report().verdicts}
    collapse = verdicts["tau = 0 (stop-gradient of online) collapses"]
    assert collapse.outcome == "holds" and "trained 10.2 ± 0.4 (n=2) vs random-init encoder 60.5" in collapse.numbers
    assert "z std 0.02× 1/√d" in collapse.numbers and collapse.metric == "linear top-1"
    assert collapse.quote.startswith('§5 "Bootstrapping": "Instantaneously updating the target network')
    far = verdicts["tau = 1 is far (> 5 points) below tau = 0.99, yet far above the random-init encoder"]
    assert far.outcome == "holds" and "tau 0.99 80.5 ± 0.7 (n=2) vs tau 1 70.5 ± 0.7 (n=2)" in far.numbers
    near = verdicts["no tau_base in [0.9, 0.999] is more than 5 points below 0.99 (the paper's best)"]
    assert near.outcome == "not enough runs" and "tau 0.9 79.0 (n=1 of 2)" in near.numbers


def test_compare_needs_seeds_and_an_interval_that_clears_the_margin():
    one = compare("c", Stat("a", 2.0, float("nan"), 1), Stat("b", 1.0, float("nan"), 1), 0.0, "above")
    assert one.outcome.startswith("not enough runs (one seed")
    noisy = compare("c", Stat("a", 2.0, 3.0, 3), Stat("b", 1.0, 3.0, 3), 0.0, "above")
    assert noisy.outcome == "cannot tell"
    assert compare("c", Stat("a", 5.0, 0.1, 3), Stat("b", 1.0, 0.1, 3), 0.0, "above").outcome == "holds"
    assert compare("c", Stat("a", 1.0, 0.1, 3), Stat("b", 5.0, 0.1, 3), 0.0, "above").outcome == "does not hold"
    assert compare("c", None, Stat("b", 1, 0, 3), 0.0, "above").outcome == "not enough runs"
    # "Matches or beats" is non-inferiority: 60 ± 10 against 70 ± 10 is noise, not a pass.
    tie = compare("c", Stat("a", 60.0, 10.0, 3), Stat("b", 70.0, 10.0, 3), -1.0, "above")
    assert tie.outcome == "cannot tell"
    assert compare("c", Stat("a", 69.8, 0.1, 3), Stat("b", 70.0, 0.1, 3), -1.0, "above").outcome == "holds"
    # "below": a − b < margin.
    assert compare("c", Stat("a", 1.0, 0.1, 3), Stat("b", 5.0, 0.1, 3), 1.0, "below").outcome == "holds"
    assert compare("c", Stat("a", 9.0, 0.1, 3), Stat("b", 5.0, 0.1, 3), 1.0, "below").outcome == "does not hold"


def test_a_missing_baseline_is_never_replaced_by_another_row():
    entries = [Entry(e["labels"], e["record"]) for e in json.loads((FIXTURES / "tau_entries.json").read_text())]
    without = [e for e in entries if e.labels["row"] != "0.99"]
    rep = build_report(get_ablation("tau"), without, baseline="0.99")
    assert rep.summary["drop"].isna().all(), "drops are against 0.99 or nothing"
    rows = rep.table.set_index("tau_base")
    assert rows.loc["0.9", "Δ"] == "" and rows.loc["0.99", "top-1"] == "not run"


def test_cost_and_scale_are_stated():
    rep = tau_report()
    assert rep.scale == "preset cpu; dataset fashion-mnist; backbone convnet; epochs 6"
    assert rep.cost.startswith("cost: 0.27 CPU-hours for 8 runs on test cpu (2 cores)")


@pytest.mark.parametrize("name", ["tau", "batch_size", "augmentation", "predictor"])
def test_every_format_is_written_and_plots_hold_every_series(tmp_path, name):
    import matplotlib

    matplotlib.use("Agg")
    ablation = get_ablation(name)
    from ssl_bench.ablation import expand

    points = expand(ablation, preset="smoke")
    records = {}
    for k in range(len(points)):  # synthetic records for every point but the last (missing)
        if k == len(points) - 1:
            continue
        records[k] = smoke_record(0.5 + k / 1000)
    rep = build_report(ablation, [Entry(p.labels, records.get(k)) for k, p in enumerate(points)])
    written = write_report(rep, tmp_path, ["md", "csv", "tex", "png", "svg"])
    assert {w.suffix for w in written} == {".md", ".csv", ".tex", ".png", ".svg"}
    assert all(w.stat().st_size > 200 for w in written)
    # the same records write the same bytes: no date, no random SVG ids
    again = write_report(rep, tmp_path / "again", ["md", "csv", "tex", "png", "svg"])
    for a, b in zip(written, again, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
    fig = rep.figure()
    labels = [t.get_text() for ax in fig.axes for t in (ax.get_legend().get_texts() if ax.get_legend() else [])]
    for method in {p.method for p in points}:
        assert any(label.startswith(method) for label in labels), (method, labels)
    if ablation.plot == "curve":
        assert any("paper" in label for label in labels) and any("ours" in label for label in labels)
    else:
        titles = [ax.get_title() for ax in fig.axes]
        assert any(t.startswith("paper") for t in titles) and any(t.startswith("ours") for t in titles)
    assert "missing" in (tmp_path / name / f"{name}.md").read_text()
    tex = (tmp_path / name / f"{name}.tex").read_text()
    assert tex.startswith("\\begin{table}") and "\\pm" in tex or "\\bottomrule" in tex


def test_a_row_the_paper_prints_no_number_for_reads_a_dash():
    """Table 3d reads "unstable", not a top-1: never "nan" in the paper's column."""
    from ssl_bench.ablation import expand

    ablation = get_ablation("simsiam_heads_bn")
    points = expand(ablation, preset="smoke")
    record = smoke_record(0.5)
    table = build_report(ablation, [Entry(p.labels, record) for p in points]).table
    d_row = table[table.iloc[:, 0].str.startswith("(d)")]
    assert len(d_row) == 1
    assert d_row["paper"].iloc[0] == "–" and d_row["paper Δ"].iloc[0] == "–"
    assert "nan" not in table.to_string()


@pytest.mark.parametrize("collapsed", [False, True])
def test_our_top1_panel_is_zoomed_to_the_rows_with_the_random_encoder_and_the_pixels(collapsed):
    """Rows a point apart must be told apart: ours are points on an axis zoomed to them,
    the random-init encoder and the pixels are lines, and chance shows only when a row
    comes down near it."""
    import pandas as pd

    from ssl_bench.report.plots import plot_bars
    from ssl_bench.verdicts import METRIC, PIXELS, RANDOM

    rows = ["a", "b", "c"]
    scores = [85.5, 86.0, 12.0 if collapsed else 85.0]
    summary = pd.DataFrame(
        {"method": "byol", "row": rows, METRIC: scores, f"{METRIC}_std": 0.3, RANDOM: 82.0, PIXELS: 79.0}
    )
    paper = pd.DataFrame({"method": "byol", "row": rows, "paper_top1": [72.5, 72.0, 0.3]})
    fig = plot_bars(summary, paper, ["byol"], rows, "top1", "linear top-1 (%)", "test", "t", chance=10.0)
    ours = fig.axes[1]
    labels = [t.get_text() for t in ours.get_legend().get_texts()]
    assert "random-init encoder 82.0" in labels and "raw pixels 79.0" in labels
    low, high = ours.get_xlim()
    assert high > 86.3 and (low < 10.0 if collapsed else 78.0 < low < 79.0)
    assert any(label.startswith("chance") for label in labels) == collapsed
    assert fig.axes[0].get_xlim()[0] <= 0  # the paper's bars start at 0


def test_index_embeds_tables_links_plots_and_gives_commands():
    from ssl_bench.report import index_markdown

    rep = tau_report()
    single = {
        "config": {"method_name": "byol", "seed": 0},
        "metrics": {"knn_top1": 0.775, "linear_top1": 0.864},
        "random_init": {"knn_top1": 0.742, "linear_top1": 0.832},
        "cost": {"train_wall_s": 258.0, "images_per_s": 770.0, "device_name": "test cpu (2 cores)"},
    }
    text = index_markdown([(rep, "cpu")], [(single, "byol-seed0.json")], "results/records", "results")
    assert "| byol | 0 | 77.5 | 74.2 | – | +3.3 | 86.4 | 83.2 | – | 4.3 min | 770 |" in text
    assert (
        "## tau: Target network decay rate tau_base\n\nReproduce: `ssl-bench run --method byol --ablation tau" in text
    )
    assert "![tau](tau/tau.png)" in text and "| 0.99 | 80.5 ± 0.7 (2) |" in text
    assert "Machines: test cpu (2 cores)." in text


def test_index_names_the_seeds_it_reports_when_they_are_not_the_default():
    from ssl_bench.report import index_markdown

    text = index_markdown([(tau_report(), "cpu")], [], "results/records", "results")
    assert "--ablation tau --preset cpu --seeds 0,1 --out results/records" in text
    assert "report --ablation tau --preset cpu --seeds 0,1 --runs results/records" in text


def test_report_seeds_found_are_the_seeds_on_disk(tmp_path):
    import json

    from ssl_bench.cli import _seeds_found

    for i, seed in enumerate([2, 0, 2]):
        (tmp_path / f"r{i}").mkdir()
        (tmp_path / f"r{i}" / "record.json").write_text(json.dumps({"config": {"seed": seed}}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "record.json").write_text("{")
    assert _seeds_found(tmp_path) == "0,2"
    assert _seeds_found(tmp_path / "absent") is None


def separation_records(low_noise: float):
    """3 rows × 3 seeds: the rows differ by 2 points on every metric; seeds add ±1 on the
    full metrics and ±low_noise on the low-label ones."""
    import pandas as pd

    recs = []
    for k, row in enumerate(("a", "b", "c")):
        for seed, e in zip((0, 1, 2), (-1.0, 0.0, 1.0), strict=True):
            recs.append(
                {
                    "method": "byol",
                    "row": row,
                    "seed": seed,
                    "status": "done",
                    "linear_top1": 80 + 2 * k + e,
                    "knn_top1": 70 + 2 * k + e,
                    "low_0.1": 60 + 2 * k + low_noise * e,
                    "low_0.01": 50 + 2 * k + 2 * low_noise * e,
                }
            )
    recs.append({**recs[0], "seed": 3, "status": "failed", "linear_top1": float("nan")})
    return pd.DataFrame(recs)


def test_separation_is_the_spread_of_row_means_over_the_pooled_seed_noise():
    from ssl_bench.report.separation import low_label_verdict, separation

    table = separation(separation_records(low_noise=1.0)).set_index("metric")
    # Each cell's std over seeds (-1, 0, +1) is 1; the means 0, 2, 4 apart have std 2.
    assert table.loc["linear_top1", "noise"] == pytest.approx(1.0)
    assert table.loc["linear_top1", "spread"] == pytest.approx(2.0)
    assert table.loc["knn_top1", "separation"] == pytest.approx(2.0)
    assert table.loc["low_0.01", "separation"] == pytest.approx(1.0)
    assert table.loc["linear_top1", "runs"] == 9  # the failed seed is left out
    assert low_label_verdict(table.reset_index()) is None
    sharper = separation(separation_records(low_noise=0.25))
    assert low_label_verdict(sharper) == "low_0.1"  # noise 0.25: separation 8, beating 2


def test_separation_needs_every_metric_and_two_rows_with_two_seeds():
    from ssl_bench.report.separation import separation

    recs = separation_records(low_noise=1.0)
    assert separation(recs.drop(columns=["low_0.01"])).empty
    assert separation(recs[recs.row == "a"]).empty


@pytest.mark.parametrize(
    "gain, spread, outcome",
    [
        (0.0, 0.02, "holds"),  # no better than random, projections collapsed
        (0.0, 0.80, "does not hold"),  # spread out: not collapsed whatever the probe says
        (0.0, 0.13, "cannot tell"),  # shrunk, not collapsed, and no gain: nothing decided
        (3.0, 0.13, "does not hold"),  # shrunk, but a clear gain over the random encoder
        (3.0, 0.02, "cannot tell"),  # collapsed projections over a backbone that learned: signals disagree
    ],
)
def test_collapse_reads_the_gain_and_the_projections_spread(gain, spread, outcome):
    import pandas as pd

    from ssl_bench.verdicts import collapsed

    summary = pd.DataFrame(
        [
            {
                "method": "byol",
                "row": "r",
                "n": 3,
                "linear_top1": 83.0 + gain,
                "linear_top1_std": 0.3,
                "random_linear_top1": 83.0,
                "random_linear_top1_std": 0.2,
                "z_std": spread / 16,
                "z_std_ideal": 1 / 16,
            }
        ]
    )
    v = collapsed("r collapses", summary, "byol", "r", "linear_top1", "random_linear_top1")
    assert v.outcome == outcome, v.numbers
    # On the verdicts' own metric a collapse verdict names the pixels beside the random-init encoder.
    on_metric = summary.rename(
        columns={"linear_top1": "score", "linear_top1_std": "score_std", "random_linear_top1": "random_score"}
    ).assign(random_score_std=0.2, pixels_score=79.3)
    assert "the raw pixels 79.3" in collapsed("c", on_metric, "byol", "r", "score", "random_score").numbers
    assert "pixels" not in v.numbers  # another metric than the one the pixels were scored on


def test_a_verdict_whose_sides_ran_on_different_machines_says_so():
    a = Stat("a", 5.0, 0.1, 3, machines=frozenset({"AMD EPYC (2 cores; avx2), torch 2.14.1"}))
    b = Stat("b", 1.0, 0.1, 3, machines=frozenset({"Intel Xeon (2 cores; avx2 avx512f), torch 2.14.1"}))
    mixed = compare("c", a, b, 0.0, "above")
    assert "NOT ONE MACHINE: the runs ran on AMD EPYC" in mixed.numbers and "Intel Xeon" in mixed.numbers
    same = compare("c", a, Stat("b", 1.0, 0.1, 3, machines=a.machines), 0.0, "above")
    assert "NOT ONE MACHINE" not in same.numbers
    # From the records: one seed of tau 1 on another torch version.
    raw = json.loads((FIXTURES / "tau_entries.json").read_text())
    for e in raw:
        rec = e["record"]
        if rec and e["labels"]["row"].startswith("1 ") and e["labels"]["seed"] == 1:
            rec.setdefault("provenance", {})["versions"] = {"torch": "9.9"}
    rep = build_report(get_ablation("tau"), [Entry(e["labels"], e["record"]) for e in raw])
    far = next(v for v in rep.verdicts if v.claim.startswith("tau = 1"))
    assert "NOT ONE MACHINE" in far.numbers and "torch 9.9" in far.numbers
    collapse = next(v for v in rep.verdicts if v.claim.startswith("tau = 0"))
    assert "NOT ONE MACHINE" not in collapse.numbers
    # A family reads its highest row's numbers; a lower row from another machine still shows.
    here = frozenset({"AMD EPYC (2 cores; avx2), torch 2.14.1"})
    rows = [Stat("high", 3.0, 0.1, 3, machines=here), Stat("low", 1.0, 0.1, 3, machines=b.machines)]
    family = none_above("no row improves by 2", rows, Stat("base", 2.5, 0.1, 3, machines=here), 2.0)
    assert "the highest: high" in family.numbers and "NOT ONE MACHINE" in family.numbers
    assert "Intel Xeon" in family.numbers
    alike = none_above("no row improves by 2", rows[:1], Stat("base", 2.5, 0.1, 3, machines=here), 2.0)
    assert "NOT ONE MACHINE" not in alike.numbers


def test_every_table_closes_with_the_random_init_encoder_and_the_pixels():
    """The floors a learned representation must clear, in the table's own columns: the
    random-init encoder over seeds (one network per seed, whatever the row) and the pixels."""
    entries = [Entry(e["labels"], e["record"]) for e in json.loads((FIXTURES / "tau_entries.json").read_text())]
    for e in entries:
        if e.record and e.record.get("status") == "done":
            e.record["pixels"] = {"linear_top1": 0.5, "knn_top1": 0.45}
    rows = build_report(get_ablation("tau"), entries).table.set_index("tau_base")
    assert list(rows.index[-2:]) == ["random-init encoder", "raw pixels"]
    assert rows.loc["random-init encoder", "top-1"] == "60.5 ± 0.7 (2)"
    assert (rows.loc["raw pixels", "top-1"], rows.loc["raw pixels", "kNN"]) == ("50.0", "45.0")
    assert rows.loc["raw pixels", "Δ"] == "" and rows.loc["raw pixels", "paper"] == "–"


def test_the_single_runs_table_shows_the_pixels_beside_the_random_init_encoder():
    """Every table shows the raw-pixel floor where the record scored it, and says so where it did not."""
    from ssl_bench.report import single_runs_table

    def record(seed, pixels):
        return {
            "config": {"method_name": "byol", "seed": seed},
            "metrics": {"knn_top1": 0.775, "linear_top1": 0.856},
            "random_init": {"knn_top1": 0.738, "linear_top1": 0.821},
            "cost": {"train_wall_s": 450.0, "images_per_s": 440.0, "device_name": "cpu"},
            **({"pixels": pixels} if pixels else {}),
        }

    header, _, with_px, without = single_runs_table(
        [(record(0, {"knn_top1": 0.776, "linear_top1": 0.793}), "a.json"), (record(1, None), "b.json")]
    ).splitlines()
    cells = lambda line: [c.strip() for c in line.strip("|").split("|")]  # noqa: E731
    cols = cells(header)
    assert cols.count("pixels") == 2
    knn_px, lin_px = (k for k, c in enumerate(cols) if c == "pixels")
    assert cells(with_px)[knn_px] == "77.6" and cells(with_px)[lin_px] == "79.3"
    assert cells(without)[knn_px] == "–" and cells(without)[lin_px] == "–"
    assert cells(with_px)[cols.index("gain")] == "+3.7"


def test_an_interval_end_near_the_margin_prints_the_digits_that_show_its_side():
    """[+0.6, +2.0] against a margin of 2 reads as touching it; the verdict says it does not."""
    from ssl_bench.intervals import digits_to_tell

    assert digits_to_tell((0.55, 1.96), 2.0, 1) == 2
    assert digits_to_tell((0.55, 1.5), 2.0, 1) == 1
    assert digits_to_tell((0.55, 2.0), 2.0, 1) == 1  # exactly on it: nothing to tell apart
    v = compare("c", Stat("a", 2.81, 0.2, 3), Stat("b", 1.3, 0.2, 3), 2.0, "above")
    low, high = v.numbers.split("interval [")[1].split("]")[0].split(", ")
    assert high == "+1.96" and v.outcome == "does not hold", v.numbers
