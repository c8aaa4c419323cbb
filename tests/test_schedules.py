"""τ and learning-rate schedules, and the EMA update, against hand-computed values."""

import math

import pytest
import torch

from ssl_bench.schedules import ema_update, tau_cosine, warmup_cosine


def test_tau_cosine_hand_values():
    taus = tau_cosine(0.996, 4)  # k = 0..3, K = 4
    expected = [1 - 0.004 * (math.cos(math.pi * k / 4) + 1) / 2 for k in range(4)]
    assert taus.tolist() == pytest.approx(expected, abs=1e-15)
    assert taus[0] == pytest.approx(0.996)
    assert taus[2] == pytest.approx(0.998)  # halfway: 1 - 0.004 * 1/2


def test_tau_constant_one_stays_one_and_rises_to_one():
    assert (tau_cosine(1.0, 10) == 1.0).all()
    taus = tau_cosine(0.9, 1000)
    assert (taus[1:] >= taus[:-1]).all() and taus[-1] == pytest.approx(1.0, abs=1e-5)


def test_warmup_cosine_hand_values():
    lrs = warmup_cosine(1.0, 2, 6)
    # warm-up: 0, 0.5; then cosine over 4 steps: 1, (1+cos(pi/4))/2, 0.5, (1+cos(3pi/4))/2
    expected = [0, 0.5, 1, (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 + math.cos(3 * math.pi / 4)) / 2]
    assert lrs.tolist() == pytest.approx(expected, abs=1e-12)


def test_ema_update_exact():
    target = [torch.tensor([1.0, -2.0]), torch.tensor([[4.0]])]
    online = [torch.tensor([3.0, 2.0]), torch.tensor([[0.0]])]
    ema_update(target, online, 0.75)  # 0.75 ξ + 0.25 θ
    assert target[0].tolist() == [1.5, -1.0]
    assert target[1].tolist() == [[3.0]]
    assert online[0].tolist() == [3.0, 2.0]


def test_ema_tau_one_freezes_and_zero_copies():
    t = [torch.tensor([1.0])]
    ema_update(t, [torch.tensor([5.0])], 1.0)
    assert t[0].item() == 1.0
    ema_update(t, [torch.tensor([5.0])], 0.0)
    assert t[0].item() == 5.0
