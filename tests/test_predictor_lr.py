"""The predictor's learning rate as a field of the method spec (SimSiam §4.2, Table 1):
with the schedule, constant at the schedule's peak (--fix-pred-lr), or frozen at its random
initialisation."""

import pytest
import torch
from helpers import smoke

from ssl_bench.config import run_id
from ssl_bench.distributed import SINGLE
from ssl_bench.objective import objective
from ssl_bench.spec import SpecError
from ssl_bench.step import build_model, build_optimizer, peak_lr


def _one_update(cfg, lr: float):
    model = build_model(cfg, in_chans=1, image_size=28)
    opt = build_optimizer(cfg, model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x1, x2 = torch.randn(8, 1, 28, 28), torch.randn(8, 1, 28, 28)
    objective(cfg.method, model(x1, x2), SINGLE).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    for group in opt.param_groups:
        group["lr"] = peak_lr(cfg) if group.get("constant_lr") else lr
    opt.step()
    return model, before, grads


def test_the_default_keeps_every_run_id():
    cfg = smoke("simsiam")
    assert cfg.method.predictor_lr == "schedule"
    assert run_id(cfg) == run_id(smoke("simsiam", **{"method.predictor_lr": "schedule"}))
    assert run_id(cfg) != run_id(smoke("simsiam", **{"method.predictor_lr": "constant"}))


def test_a_frozen_predictor_never_moves_yet_passes_gradients_on():
    cfg = smoke("simsiam", **{"method.predictor_lr": "frozen", "method.optim.name": "sgd"})
    model, before, grads = _one_update(cfg, 0.05)
    moved = [n for n, p in model.named_parameters() if n.startswith("predictor.") and not torch.equal(p, before[n])]
    assert not moved, moved
    assert not any(n.startswith("predictor.") for n in grads)
    assert any(n.startswith("projector.") for n in grads) and any(n.startswith("backbone.") for n in grads)
    assert not any(p is q for g in build_optimizer(cfg, model).param_groups for p in g["params"]
                   for q in model.predictor.parameters())  # fmt: skip


@pytest.mark.parametrize("optim", ["sgd", "lars", "adamw"])
def test_a_constant_predictor_lr_stays_at_the_peak(optim):
    cfg = smoke("simsiam", **{"method.predictor_lr": "constant", "method.optim.name": optim})
    model = build_model(cfg, in_chans=1, image_size=28)
    opt = build_optimizer(cfg, model)
    predictor = {id(p) for p in model.predictor.parameters()}
    marked = [g for g in opt.param_groups if g["constant_lr"]]
    assert {id(p) for g in marked for p in g["params"]} == predictor
    assert sum(len(g["params"]) for g in opt.param_groups) == len(model.online_parameters())
    if optim == "sgd":  # first SGD step with momentum: the update is lr × (grad + wd × w)
        lr = peak_lr(cfg) / 10
        model, before, grads = _one_update(cfg, lr)
        wd = cfg.method.optim.weight_decay
        for name, p in model.named_parameters():
            if name in grads:
                used = peak_lr(cfg) if name.startswith("predictor.") else lr
                want = before[name] - used * (grads[name] + wd * before[name])
                torch.testing.assert_close(p.detach(), want, rtol=1e-5, atol=1e-7)


def test_a_predictor_lr_without_a_predictor_is_refused():
    with pytest.raises(SpecError, match="method.predictor_lr='constant' does not apply: the method has no predictor"):
        smoke("simclr", **{"method.predictor_lr": "constant"})
    with pytest.raises(SpecError, match="is not one of: schedule, constant, frozen"):
        smoke("simsiam", **{"method.predictor_lr": "slow"})
