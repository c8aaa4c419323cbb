"""SimSiam §5.2's k-step alternation as a point of the method space: a target network that
is a copy of the online one, held for k updates (`method.ema.every`). Checked end to end
through the training loop in float64: one step is SimSiam's stop-gradient, a copy held
longer than the run is a target that never moves (τ = 1), and "once an epoch" is k = the
epoch's updates."""

import pytest
from helpers import QUIET, smoke

from ssl_bench.spec import EMA, SpecError
from ssl_bench.train import RunEnv, run

BASE = {"train.precision": "fp64", "train.epochs": 2, "data.train_subset": 100, "eval.linear_probe": False}


def losses(tmp_path, name: str, **overrides) -> list[float]:
    cfg = smoke("simsiam", **BASE, **overrides)
    rec = run(cfg, RunEnv(out_dir=tmp_path / name, **QUIET))
    return [p["loss"] for p in rec["curves"]]


def held(every: int, tau: float = 0.0) -> dict:
    return {"method.target": "ema", "method.ema": EMA(tau_base=tau, cosine=False, every=every)}


def test_one_step_is_simsiams_stop_gradient(tmp_path):
    assert losses(tmp_path, "copy", **held(1)) == pytest.approx(losses(tmp_path, "stopgrad"), rel=1e-9, abs=1e-12)


def test_a_copy_held_longer_than_the_run_is_a_target_that_never_moves(tmp_path):
    frozen = losses(tmp_path, "frozen", **held(1, tau=1.0))
    assert losses(tmp_path, "held", **held(1000)) == pytest.approx(frozen, rel=1e-9, abs=1e-12)
    assert frozen != pytest.approx(losses(tmp_path, "every3", **held(3)), rel=1e-6)  # k = 3 does move it


def test_once_an_epoch_is_every_update_of_an_epoch(tmp_path):
    # 100 images in batches of 32: 3 updates an epoch.
    assert losses(tmp_path, "epoch", **held(0)) == pytest.approx(losses(tmp_path, "three", **held(3)), rel=1e-9)


def test_a_negative_interval_is_one_line():
    with pytest.raises(SpecError, match=r"method.ema.every=-1 must be >= 1 \(updates\), or 0 \(once an epoch\)"):
        smoke("byol", **{"method.ema": EMA(every=-1)})
