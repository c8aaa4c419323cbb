"""The training loop: records, resume equivalence, failure records, idempotency."""

import json

import pytest
import torch
from helpers import QUIET, smoke

from ssl_bench.config import build_config, run_id
from ssl_bench.records import RECORD_NAME
from ssl_bench.train import CHECKPOINT_NAME, NonFiniteLoss, Preempted, RunEnv, run


def stop_after(n):
    calls = {"n": 0}

    def should_stop():
        calls["n"] += 1
        return calls["n"] >= n

    return should_stop


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("a")
    cfg = smoke()
    return cfg, out, run(cfg, RunEnv(out_dir=out, **QUIET))


def test_record_is_self_describing(uninterrupted):
    cfg, out, rec = uninterrupted
    on_disk = json.loads((out / run_id(cfg) / RECORD_NAME).read_text())
    assert on_disk == json.loads(json.dumps(rec))
    assert rec["status"] == "done" and rec["run_id"] == run_id(cfg)
    assert rec["config"]["method"]["target"] == "ema" and rec["config"]["method_name"] == "byol"
    for key in ("knn_top1", "linear_top1", "linear_top5", "z_std", "effective_rank", "final_loss"):
        assert key in rec["metrics"] and key in rec["random_init"] or key == "final_loss"
    assert [p["epoch"] for p in rec["curves"]] == [1, 2] and all("tau" in p and "lr" in p for p in rec["curves"])
    assert rec["cost"]["images_per_s"] > 0 and rec["cost"]["device"] == "cpu"
    assert (
        rec["provenance"]["versions"]["torch"] == torch.__version__.split("+")[0]
        or rec["provenance"]["versions"]["torch"]
    )
    assert rec["data"]["source"] in ("embedded",) or rec["data"]["source"].startswith(("debian", "dir", "torchvision"))
    assert not (out / run_id(cfg) / CHECKPOINT_NAME).exists()
    assert (out / run_id(cfg) / "encoder.pt").exists()


def test_done_run_is_not_run_again(uninterrupted):
    cfg, out, rec = uninterrupted
    again = run(cfg, RunEnv(out_dir=out, **QUIET))
    assert again["cost"] == rec["cost"]  # read back, not recomputed


@pytest.mark.parametrize("stop_at", [4, 6, 7])  # mid-epoch, at the epoch boundary, early in epoch 2
def test_resume_equals_uninterrupted(uninterrupted, tmp_path, stop_at):
    cfg, out_a, rec_a = uninterrupted
    with pytest.raises(Preempted):
        run(cfg, RunEnv(out_dir=tmp_path, should_stop=stop_after(stop_at), **QUIET))
    run_dir = tmp_path / run_id(cfg)
    assert (run_dir / CHECKPOINT_NAME).exists() and not (run_dir / RECORD_NAME).exists()
    rec_b = run(cfg, RunEnv(out_dir=tmp_path, **QUIET))
    assert rec_b["metrics"] == rec_a["metrics"]
    assert rec_b["curves"] == rec_a["curves"]
    wa = torch.load(out_a / run_id(cfg) / "encoder.pt")
    wb = torch.load(run_dir / "encoder.pt")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_same_seed_same_result_other_seed_differs(uninterrupted, tmp_path):
    cfg, _, rec_a = uninterrupted
    other = run(
        smoke(seed=1) if False else build_config("byol", preset="smoke", seed=1), RunEnv(out_dir=tmp_path, **QUIET)
    )
    assert other["curves"][0]["loss"] != rec_a["curves"][0]["loss"]


def test_non_finite_loss_leaves_a_failed_record_naming_the_step(tmp_path):
    cfg = smoke(**{"method.optim.name": "sgd", "method.optim.base_lr": 1e30, "method.optim.warmup_epochs": 0})
    with pytest.raises(NonFiniteLoss, match=r"at step \d+"):
        run(cfg, RunEnv(out_dir=tmp_path, **QUIET))
    rec = json.loads((tmp_path / run_id(cfg) / RECORD_NAME).read_text())
    assert rec["status"] == "failed" and "step" in rec["error"] and rec["traceback_tail"]


def test_gradient_accumulation_runs_and_updates_target_once_per_update(tmp_path):
    cfg = smoke(**{"train.accumulate": 2})
    rec = run(cfg, RunEnv(out_dir=tmp_path, **QUIET))
    # 200 images / batch 32 = 6 updates per epoch whatever the accumulation
    assert rec["cost"]["steps"] == 12 and rec["curves"][-1]["step"] == 12


@pytest.mark.parametrize("method", ["simclr", "simsiam", "moco_v2", "barlow_twins", "vicreg"])
def test_other_methods_run_end_to_end(tmp_path, method):
    rec = run(smoke(method, **{"train.epochs": 1, "eval.linear_probe": False}), RunEnv(out_dir=tmp_path, **QUIET))
    assert rec["status"] == "done" and 0 <= rec["metrics"]["knn_top1"] <= 1


def test_records_are_readable_by_others_like_any_file(uninterrupted):
    import os
    import stat

    cfg, out, _ = uninterrupted
    mode = stat.S_IMODE(os.stat(out / run_id(cfg) / RECORD_NAME).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
