"""The trained encoders against their pixels, per metric: counts, gains, each run once,
and the seeds that did not choose the metric apart."""

import pandas as pd

from ssl_bench.report.over_pixels import over_pixels, over_pixels_markdown


def _frame(rows):
    cols = ["run_id", "seed", "status", "linear_top1", "pixels_linear_top1", "knn_top1", "pixels_knn_top1"]
    return pd.DataFrame(rows, columns=cols)


def test_counts_gains_and_the_held_out_seeds():
    grid = _frame(
        [
            ("a", 0, "done", 85.0, 79.0, 77.0, 78.0),
            ("b", 1, "done", 86.0, 79.0, 80.0, 78.0),
            ("c", 2, "done", 84.0, 79.0, 76.0, 78.0),
            ("d", 2, "failed", None, None, None, None),
        ]
    )
    t = over_pixels([grid], chosen_on=(0,)).set_index(["metric", "seeds"])
    lin_all = t.loc[("linear top-1", "all")]
    assert list(lin_all[["runs", "above", "median", "least", "most"]]) == [3, 3, 6.0, 5.0, 7.0]
    knn_all = t.loc[("kNN top-1", "all")]
    assert list(knn_all[["runs", "above", "median"]]) == [3, 1, -1.0]
    knn_held = t.loc[("kNN top-1", "1, 2 (not used to choose)")]
    assert (knn_held.runs, knn_held.above, knn_held.least, knn_held.most) == (2, 1, -2.0, 2.0)


def test_a_run_two_grids_share_counts_once():
    one = _frame([("a", 1, "done", 85.0, 79.0, 77.0, 78.0)])
    other = _frame([("a", 1, "done", 85.0, 79.0, 77.0, 78.0), ("b", 1, "done", 80.0, 79.0, 70.0, 78.0)])
    t = over_pixels([one, other], chosen_on=(0,))
    assert set(t.runs) == {2}


def test_extra_k_is_read_and_runs_without_pixels_are_left_out():
    grid = _frame([("a", 0, "done", 85.0, 79.0, 77.0, 78.0), ("b", 1, "done", 85.0, None, 77.0, None)])
    grid["knn_top1_k20"] = [83.0, 82.0]
    grid["pixels_knn_top1_k20"] = [82.0, None]
    t = over_pixels([grid], chosen_on=(0,)).set_index(["metric", "seeds"])
    assert t.loc[("kNN top-1, k = 20", "all")].above == 1
    assert t.loc[("linear top-1", "all")].runs == 1
    assert not any("not used" in s for s in t.index.get_level_values("seeds"))  # seed 1 scored no pixels


def test_markdown_says_what_the_held_out_seeds_show_and_nothing_without_records():
    grid = _frame([("a", 0, "done", 85.0, 79.0, 77.0, 78.0), ("b", 1, "done", 86.0, 79.0, 77.5, 78.0)])
    text = "\n".join(over_pixels_markdown(over_pixels([grid], chosen_on=(0,))))
    assert "| linear top-1 | all | 2 | 2 | +6.5 | +6.0 | +7.0 |" in text
    assert "linear top-1 1 of 1; kNN top-1 0 of 1." in text
    assert over_pixels_markdown(over_pixels([_frame([])])) == []
