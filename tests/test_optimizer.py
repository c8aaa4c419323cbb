"""build_optimizer's LARS (BYOL App. C): weights are adapted by the trust ratio, biases and
norm parameters are not, and which is which goes by the parameter's kind, never by the
value of weight decay."""

import copy

import pytest
import torch
from helpers import smoke
from torch import nn

from ssl_bench.step import build_model, build_optimizer

TRUST_COEFF, EPS = 1e-3, 1e-8  # what build_optimizer gives timm's Lars (and timm's default eps)


def lars_cfg(weight_decay: float):
    return smoke("byol", **{"method.optim.name": "lars", "method.optim.weight_decay": weight_decay})


def small_model() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 5), nn.LayerNorm(5)
    )


def random_grads(model: nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        if p.requires_grad:
            p.grad = torch.randn(p.shape, generator=gen, dtype=p.dtype)


@pytest.mark.parametrize("foreach", [False, True], ids=["single_tensor", "foreach"])
def test_lars_adapts_weights_at_zero_weight_decay(foreach):
    cfg = lars_cfg(0.0)
    model = small_model()
    opt = build_optimizer(cfg, model)
    lr = 0.1
    for g in opt.param_groups:
        g["lr"], g["foreach"] = lr, foreach
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    random_grads(model, seed=1)
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    opt.step()

    weights = {"0.weight", "4.weight"}  # conv, linear
    assert {n for n, p in model.named_parameters() if p.ndim > 1} == weights
    for name, p in model.named_parameters():
        w, g = before[name], grads[name]
        sgd = w.add(g, alpha=-lr)  # plain SGD; momentum's first step is the gradient itself
        if name in weights:
            # timm's Lars at weight_decay 0: g · trust_coeff · ||w|| / (||g|| + eps).
            trust = TRUST_COEFF * w.norm() / (g.norm() + EPS)
            assert not 0.5 < trust < 2.0  # far from 1, so adapted and plain updates differ
            torch.testing.assert_close(p.detach(), w - lr * trust * g, rtol=1e-6, atol=1e-7)
            assert not torch.allclose(p.detach(), sgd, rtol=1e-3, atol=0.0), name
        else:  # biases, BatchNorm and LayerNorm parameters: no adaptation
            assert torch.equal(p.detach(), sgd), name


@pytest.mark.parametrize("weight_decay", [0.0, 1e-6])
def test_lars_groups_go_by_kind_not_by_weight_decay(weight_decay):
    cfg = lars_cfg(weight_decay)
    model = build_model(cfg, in_chans=1, image_size=28)
    opt = build_optimizer(cfg, model)
    # timm's Lars adapts a group when its weight_decay != 0 or its always_adapt is set.
    adapts = [g["weight_decay"] != 0 or g["always_adapt"] for g in opt.param_groups]
    adapted = [p for g, a in zip(opt.param_groups, adapts, strict=True) if a for p in g["params"]]
    plain = [p for g, a in zip(opt.param_groups, adapts, strict=True) if not a for p in g["params"]]
    assert adapted and plain
    assert all(p.ndim > 1 for p in adapted) and all(p.ndim <= 1 for p in plain)
    assert all(g["weight_decay"] == (weight_decay if a else 0.0) for g, a in zip(opt.param_groups, adapts, strict=True))
    assert len(adapted) + len(plain) == len(model.online_parameters())  # the target is not optimised


def old_lars(cfg, model: nn.Module) -> torch.optim.Optimizer:
    """build_optimizer's LARS before adaptation went by kind (grouping by the weight decay)."""
    from timm.optim import Lars, param_groups_weight_decay

    o = cfg.method.optim
    groups = param_groups_weight_decay(model, o.weight_decay)
    return Lars(groups, lr=0.0, momentum=o.momentum, weight_decay=o.weight_decay, trust_coeff=1e-3)


@pytest.mark.parametrize("weight_decay", [1e-6, 1.5e-6])
def test_lars_with_weight_decay_is_bit_identical_to_the_old_grouping(weight_decay):
    cfg = lars_cfg(weight_decay)
    new_model = build_model(cfg, in_chans=1, image_size=28)
    old_model = copy.deepcopy(new_model)
    new_opt, old_opt = build_optimizer(cfg, new_model), old_lars(cfg, old_model)
    # Same groups in the same order (an optimizer state_dict indexes parameters by it).
    index = {id(p): i for i, p in enumerate(new_model.parameters())}
    old_index = {id(p): i for i, p in enumerate(old_model.parameters())}
    assert [([index[id(p)] for p in g["params"]], g["weight_decay"]) for g in new_opt.param_groups] == [
        ([old_index[id(p)] for p in g["params"]], g["weight_decay"]) for g in old_opt.param_groups
    ]
    for step, lr in enumerate([0.05, 0.2, 0.1]):
        for model, opt in ((new_model, new_opt), (old_model, old_opt)):
            random_grads(model, seed=step)
            for g in opt.param_groups:
                g["lr"] = lr
            opt.step()
    for (name, p), q in zip(new_model.named_parameters(), old_model.parameters(), strict=True):
        assert torch.equal(p, q), name
        if p.requires_grad:
            assert torch.equal(new_opt.state[p]["momentum_buffer"], old_opt.state[q]["momentum_buffer"]), name
