"""The floors a trained encoder is read against: its random-init twin (every run) and the
normalised pixels it is given (`eval.pixels`), scored by the same kNN and probes; kNN at
extra k's; and the verdicts' metric chosen by the records' scale, with claims that need a
learned representation reading "not testable" where no trained row beats the pixels."""

import numpy as np
from helpers import QUIET, smoke

from ssl_bench import scope
from ssl_bench.ablation import expand, get_ablation
from ssl_bench.config import _identity, run_id
from ssl_bench.data import load_dataset
from ssl_bench.report import Entry, build_report
from ssl_bench.train import RunEnv, run
from ssl_bench.verdicts import Scale, metric_for, needs_gap, within

KNN_T = 0.1


def weighted_knn(train: np.ndarray, ytr: np.ndarray, test: np.ndarray, yte: np.ndarray, k: int) -> float:
    """Wu et al.'s weighted kNN written from its definition, in float64."""
    a = train / np.linalg.norm(train, axis=1, keepdims=True)
    b = test / np.linalg.norm(test, axis=1, keepdims=True)
    sim = b @ a.T
    idx = np.argsort(-sim, axis=1)[:, :k]
    votes = np.zeros((len(b), int(ytr.max()) + 1))
    for i in range(len(b)):
        np.add.at(votes[i], ytr[idx[i]], np.exp(sim[i, idx[i]] / KNN_T))
    return float((votes.argmax(1) == yte).mean())


def test_a_run_scores_the_pixels_it_is_given_and_knn_at_extra_ks(tmp_path):
    cfg = smoke(**{"eval.pixels": True, "eval.knn_k_also": (5,)})
    assert run_id(smoke()) != run_id(cfg)
    rec = run(cfg, RunEnv(out_dir=tmp_path, **QUIET))
    data = load_dataset("fashion-mnist", train_subset=200, test_subset=100)
    norm = lambda x: ((x.numpy().astype(np.float64) / 255 - 0.2860) / 0.3530).reshape(len(x), -1)  # noqa: E731
    train, test = norm(data.train_images), norm(data.test_images)
    ytr, yte = data.train_labels.numpy(), data.test_labels.numpy()
    px = rec["pixels"]
    assert abs(px["knn_top1"] - weighted_knn(train, ytr, test, yte, k=20)) <= 0.011  # one image of 100
    assert abs(px["knn_top1_k5"] - weighted_knn(train, ytr, test, yte, k=5)) <= 0.011
    assert {"linear_top1", "linear_top5", "low_label"} <= set(px) and "z_std" not in px
    assert "knn_top1_k5" in rec["metrics"] and "knn_top1_k5" in rec["random_init"]


def test_at_the_default_a_run_has_no_pixel_score_and_keeps_its_id():
    plain = smoke()
    assert not plain.eval.pixels and plain.eval.knn_k_also == ()
    identity = _identity(plain)["eval"]
    assert "pixels" not in identity and "knn_k_also" not in identity  # so ids from before stay as they were


def test_the_verdicts_metric_is_chosen_by_the_preset(monkeypatch):
    assert metric_for("cpu") == metric_for("paper") == metric_for(None) == "linear_top1"  # the paper's
    monkeypatch.setitem(scope.SCALE_METRIC, "cpu", "knn_top1")
    rep = build_report(get_ablation("tau"), _tau_entries("cpu", trained=80.0, pixels=75.0))
    assert rep.metric == "knn_top1" and rep.table.columns[1] == "top-1" and "linear" in rep.table.columns
    assert all(v.metric == "kNN top-1" for v in rep.verdicts) and "The verdicts read kNN top-1" in rep.markdown()


def _tau_entries(preset: str, trained: float, pixels: float) -> list[Entry]:
    entries = []
    for p in expand(get_ablation("tau"), preset="smoke", seeds=[0, 1, 2]):
        v = (trained + p.seed * 0.1) / 100
        entries.append(
            Entry(
                p.labels,
                {
                    "status": "done",
                    "metrics": {"linear_top1": v, "knn_top1": v, "z_std": 0.05, "z_std_ideal": 0.0625},
                    "random_init": {"linear_top1": 0.70, "knn_top1": 0.70},
                    "pixels": {"linear_top1": pixels / 100, "knn_top1": pixels / 100},
                    "config": {"seed": p.seed, "preset": preset, "data": {"dataset": "fashion-mnist"}},
                    "data": {"num_classes": 10},
                },
            )
        )
    return entries


def test_claims_that_need_a_representation_are_not_testable_below_the_pixels():
    below = build_report(get_ablation("tau"), _tau_entries("cpu", trained=80.0, pixels=82.0))
    assert below.metric == "linear_top1" and below.scale_facts.over_pixels < 0
    ranged = [v for v in below.verdicts if v.claim.startswith("no tau_base")]
    assert ranged and not ranged[0].testable and "normalised pixels" in ranged[0].reading
    assert "Raw pixels (normalised as the encoder sees them" in below.markdown()
    above = build_report(get_ablation("tau"), _tau_entries("cpu", trained=80.0, pixels=75.0))
    assert all("pixels" not in v.scope for v in above.verdicts)


def test_the_pixel_floor_scopes_gaps_and_margins():
    scale = Scale(learned=8.0, over_pixels=-1.5, metric="kNN top-1")
    assert needs_gap(scale, 1.0).startswith("cannot show: no trained encoder scores above the normalised pixels")
    assert within(scale, 5.0).startswith("cannot fail here: no trained encoder")
    assert needs_gap(Scale(learned=8.0, over_pixels=2.0), 1.0) == needs_gap(Scale(learned=8.0), 1.0)
