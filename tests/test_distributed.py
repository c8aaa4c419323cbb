"""Several processes for one run (DDP), exercised on the CPU with the gloo backend."""

import pytest
import torch
from helpers import QUIET

from ssl_bench.config import build_config
from ssl_bench.loss import beta_info_nce
from ssl_bench.spec import SpecError
from ssl_bench.train import Preempted, RunEnv, run


@pytest.mark.parametrize("beta", [0.0, 0.5, 1.0])
def test_gathered_negatives_give_the_full_batch_loss(beta):
    """Each rank scores its own anchors against every rank's targets; DDP then averages
    the ranks, which is the loss of the whole batch in one process."""
    g = torch.Generator().manual_seed(0)
    world, b = 4, 3
    p1, p2, t1, t2 = (torch.randn(world * b, 8, generator=g, dtype=torch.float64) for _ in range(4))
    full = beta_info_nce(p1, p2, t1, t2, beta=beta, temperature=0.2)
    per_rank = [
        beta_info_nce(
            p1[r * b : (r + 1) * b], p2[r * b : (r + 1) * b], t1, t2, beta=beta, temperature=0.2, offset=r * b
        )
        for r in range(world)
    ]
    assert float(sum(per_rank) / world) == pytest.approx(float(full), rel=1e-12)


def test_devices_must_divide_the_batch():
    with pytest.raises(SpecError, match="train.devices=3"):
        build_config("simclr", preset="smoke", overrides={"train.devices": 3})


def ddp_config(**extra):
    return build_config(
        "simclr", preset="smoke", overrides={"train.devices": 2, "train.epochs": 2, "eval.linear_probe": False, **extra}
    )


def test_sync_bn_is_refused_on_the_cpu(tmp_path):
    with pytest.raises(SpecError, match="needs CUDA"):
        run(ddp_config(**{"train.sync_bn": True}), RunEnv(out_dir=tmp_path, device="cpu", **QUIET))
    assert not any(tmp_path.rglob("*.json"))


def test_two_process_run_writes_one_record(tmp_path):
    rec = run(ddp_config(), RunEnv(out_dir=tmp_path, device="cpu", **QUIET))
    assert rec["status"] == "done" and rec["cost"]["devices"] == 2
    assert len(rec["curves"]) == 2 and 0 <= rec["metrics"]["knn_top1"] <= 1
    assert len(list(tmp_path.glob("*/record.json"))) == 1


def test_two_process_run_resumes_to_the_same_result(tmp_path):
    cfg = ddp_config()
    ref = run(cfg, RunEnv(out_dir=tmp_path / "a", device="cpu", **QUIET))
    calls = {"n": 0}

    def stop_soon():
        calls["n"] += 1
        return calls["n"] > 1  # the watcher polls twice a second: stops within the first epoch or so

    with pytest.raises(Preempted):
        run(cfg, RunEnv(out_dir=tmp_path / "b", device="cpu", should_stop=stop_soon, **QUIET))
    resumed = run(cfg, RunEnv(out_dir=tmp_path / "b", device="cpu", **QUIET))
    assert resumed["resumes"], "the second call should have resumed from the checkpoint"
    assert resumed["metrics"] == ref["metrics"] and resumed["curves"] == ref["curves"]
