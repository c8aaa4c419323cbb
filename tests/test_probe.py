"""The torch linear probe against scikit-learn's, its penalty chosen on the training set
only, and its use in a run (eval.probe=torch)."""

import pytest
import torch
from helpers import QUIET, smoke

from ssl_bench.cli import main
from ssl_bench.config import build_config
from ssl_bench.evaluate import embed, linear_probe
from ssl_bench.probe import balanced_split, bench_probe, linear_probe_torch
from ssl_bench.step import build_model
from ssl_bench.train import RunEnv, load_run_data, run


@pytest.fixture(scope="module")
def cpu_features():
    """The cpu preset's data (10k train, 2k test) through a random-init convnet."""
    cfg = build_config("byol", preset="cpu")
    data = load_run_data(cfg, None)
    torch.manual_seed(0)
    model = build_model(cfg, data.train_images.shape[1], data.train_images.shape[-1])
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    size = data.train_images.shape[-1]
    train = embed(model.backbone, data.train_images, mean, std, size)
    test = embed(model.backbone, data.test_images, mean, std, size)
    return train, data.train_labels, test, data.test_labels


def test_with_sklearns_penalty_it_scores_within_half_a_point_of_sklearn(cpu_features):
    train, ytr, test, yte = cpu_features
    theirs = linear_probe(train, ytr, test, yte)  # LogisticRegression(C=1)
    ours = linear_probe_torch(train, ytr, test, yte, weight_decays=(1.0 / len(train),))  # the same objective
    assert abs(ours["top1"] - theirs["top1"]) <= 0.005, (ours, theirs)
    assert abs(ours["top5"] - theirs["top5"]) <= 0.005
    chosen = linear_probe_torch(train, ytr, test, yte)  # penalty from the held-out split
    assert abs(chosen["top1"] - theirs["top1"]) <= 0.01, (chosen, theirs)
    assert chosen["held_out_top1"] is not None and chosen["weight_decay"] in (1e-6, 1e-5, 1e-4, 1e-3, 1e-2)


def test_the_penalty_is_chosen_without_the_test_labels(cpu_features):
    train, ytr, test, yte = (t[:2000] for t in cpu_features)  # a slice: the point is the split, not the size
    a = linear_probe_torch(train, ytr, test, yte)
    b = linear_probe_torch(train, ytr, test, yte[torch.randperm(len(yte), generator=torch.Generator().manual_seed(1))])
    assert a["weight_decay"] == b["weight_decay"] and a["held_out_top1"] == b["held_out_top1"]


def test_the_held_out_split_is_class_balanced_and_fixed_by_the_seed():
    labels = torch.arange(10).repeat_interleave(50)
    kept, held = balanced_split(labels, 0.2, seed=3)
    assert len(held) == 100 and torch.bincount(labels[held]).tolist() == [10] * 10
    assert set(kept.tolist()).isdisjoint(held.tolist()) and len(kept) + len(held) == len(labels)
    assert torch.equal(held, balanced_split(labels, 0.2, seed=3)[1])
    assert not torch.equal(held, balanced_split(labels, 0.2, seed=4)[1])


def test_a_run_with_the_torch_probe_records_its_choice(tmp_path):
    rec = run(smoke(**{"eval.probe": "torch"}), RunEnv(out_dir=tmp_path, **QUIET))
    assert 0 <= rec["metrics"]["linear_top1"] <= 1 and "weight_decay" in rec["metrics"]["linear_probe"]
    assert "linear_probe" in rec["random_init"]
    assert build_config("byol", preset="paper").eval.probe == "torch"


def test_the_default_probe_keeps_existing_run_ids():
    from ssl_bench.config import run_id

    assert run_id(smoke()) == run_id(smoke(**{"eval.probe": "sklearn"}))
    assert run_id(smoke()) != run_id(smoke(**{"eval.probe": "torch"}))


def test_bench_probe_reports_time_and_memory(capsys):
    r = bench_probe(2000, 64, 10, torch.device("cpu"), test=500)
    assert r["seconds"] > 0 and r["peak_memory_bytes"] > r["features_bytes"] > 0 and 0.1 < r["top1"] <= 1
    assert main(["bench-probe", "--fraction", "0.001", "--dim", "32", "--classes", "10", "--device", "cpu"]) == 0
    assert "linear probe (torch, float32" in capsys.readouterr().out


def test_bad_probe_values_are_one_line(capsys):
    assert main(["run", "--set", "eval.probe=fast", "--print-config"]) == 2
    assert capsys.readouterr().err.strip() == "ssl-bench: error: eval.probe='fast' is not one of: sklearn, torch, paper"
    assert main(["run", "--set", "eval.probe_epochs=0", "--print-config"]) == 2
    assert capsys.readouterr().err.strip() == "ssl-bench: error: eval.probe_epochs=0 must be >= 1"
    assert main(["bench-probe", "--fraction", "2"]) == 2
    assert "--fraction 2.0 must be in (0, 1]" in capsys.readouterr().err


def test_every_record_has_low_label_probes_for_both_encoders(tmp_path):
    from ssl_bench.probe import label_subset

    rec = run(smoke(**{"eval.label_fractions": [0.1, 0.5]}), RunEnv(out_dir=tmp_path, **QUIET))
    for side in ("metrics", "random_init"):
        low = rec[side]["low_label"]
        assert set(low) == {"0.1", "0.5"} and low["0.1"]["images"] == 20 and low["0.5"]["images"] == 100
        assert all(0 <= v["top1"] <= 1 for v in low.values())
    # The same subset for the trained and the random-init encoder, fixed by the seed.
    assert rec["metrics"]["low_label"]["0.1"]["subset"] == rec["random_init"]["low_label"]["0.1"]["subset"]
    labels = torch.arange(10).repeat_interleave(20)
    assert torch.bincount(labels[label_subset(labels, 0.1, 0)]).tolist() == [2] * 10
    assert build_config("byol", preset="cpu").eval.label_fractions == (0.01, 0.1)


def test_the_report_reads_low_label_metrics(tmp_path):
    from ssl_bench.report import Entry, collect

    rec = run(smoke(), RunEnv(out_dir=tmp_path, **QUIET))
    df = collect([Entry({"row": "r", "method": "byol", "seed": 0}, rec)])
    assert {"low_0.01", "low_0.1", "random_low_0.01", "random_low_0.1"} <= set(df.columns)


def test_the_papers_sgd_probe_runs_in_a_record_and_picks_its_lr_on_train(tmp_path):
    """eval.probe=paper (App. C.1): SGD on augmented images, the learning rate chosen on
    held-out training images; the low-label probes still use the feature probe."""
    from ssl_bench.probe_sgd import LEARNING_RATES

    rec = run(smoke(**{"eval.probe": "paper", "eval.probe_epochs": 3}), RunEnv(out_dir=tmp_path, **QUIET))
    for side in ("metrics", "random_init"):
        details = rec[side]["linear_probe"]
        assert details["protocol"] == "App. C.1" and details["learning_rate"] in LEARNING_RATES
        assert 0 <= rec[side]["linear_top1"] <= rec[side]["linear_top5"] <= 1
        assert set(rec[side]["low_label"]) == {"0.01", "0.1"}


def test_the_papers_sgd_probe_learns_from_a_frozen_encoder():
    """On images whose class is their brightness, a frozen mean-pooling encoder plus the
    paper's probe separates the classes; the test labels never reach the lr choice."""
    from ssl_bench.probe_sgd import paper_probe

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(4).repeat(300)
    images = (labels.view(-1, 1, 1, 1) * 60 + torch.randint(0, 20, (1200, 1, 16, 16), generator=g)).to(torch.uint8)
    encoder = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
    )
    mean, std = torch.tensor(0.5).view(1, 1, 1, 1), torch.tensor(0.25).view(1, 1, 1, 1)
    out = paper_probe(encoder, images[:1000], labels[:1000], images[1000:], labels[1000:], mean, std, 16, epochs=20)
    assert out["top1"] > 0.9, out
    shuffled = labels[1000:][torch.randperm(200, generator=g)]
    again = paper_probe(encoder, images[:1000], labels[:1000], images[1000:], shuffled, mean, std, 16, epochs=20)
    assert again["learning_rate"] == out["learning_rate"] and again["held_out_top1"] == out["held_out_top1"]
