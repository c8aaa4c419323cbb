"""SimSiam's cross-entropy similarity (§4.5) as a field of the β-InfoNCE loss:
D(p₁, z₂) = −softmax(z₂) · log softmax(p₁) over channels, against a loop written from the
paper's equation."""

import math

import pytest
import torch
from helpers import smoke

from ssl_bench.config import run_id
from ssl_bench.distributed import SINGLE
from ssl_bench.model import Branches
from ssl_bench.objective import objective
from ssl_bench.spec import SpecError

D = torch.float64


def _d(p: torch.Tensor, z: torch.Tensor) -> float:
    """D(p, z) averaged over the batch, one element at a time (§4.5)."""
    total = 0.0
    for pi, zi in zip(p.tolist(), z.tolist(), strict=True):
        ez = [math.exp(v) for v in zi]
        softmax_z = [v / sum(ez) for v in ez]
        log_norm = math.log(sum(math.exp(v) for v in pi))
        total += -sum(s * (v - log_norm) for s, v in zip(softmax_z, pi, strict=True))
    return total / len(p)


def test_the_cross_entropy_loss_is_four_times_simsiams():
    cfg = smoke("simsiam", **{"method.loss.similarity": "cross_entropy"})
    g = torch.Generator().manual_seed(0)
    p1, p2, z1, z2 = (torch.randn(6, 5, generator=g, dtype=D) for _ in range(4))
    got = objective(cfg.method, Branches((p1, p2), (z1, z2)), SINGLE)
    simsiam = 0.5 * _d(p1, z2) + 0.5 * _d(p2, z1)  # SimSiam's L, symmetrised (§3)
    assert float(got) == pytest.approx(4 * simsiam, rel=1e-12)


def test_a_cross_entropy_step_trains_and_the_cosine_default_keeps_the_id():
    from ssl_bench.step import build_model

    cfg = smoke("simsiam", **{"method.loss.similarity": "cross_entropy"})
    model = build_model(cfg, in_chans=1, image_size=28)
    loss = objective(cfg.method, model(torch.randn(8, 1, 28, 28), torch.randn(8, 1, 28, 28)), SINGLE)
    loss.backward()
    assert torch.isfinite(loss) and any(p.grad is not None for p in model.projector.parameters())
    assert run_id(smoke("simsiam")) == run_id(smoke("simsiam", **{"method.loss.similarity": "cosine"}))
    assert run_id(smoke("simsiam")) != run_id(cfg)


def test_the_cross_entropy_similarity_needs_beta_zero():
    with pytest.raises(SpecError, match="similarity='cross_entropy' needs method.loss.beta=0"):
        smoke("simclr", **{"method.loss.similarity": "cross_entropy"})
    with pytest.raises(SpecError, match="is not one of: cosine, cross_entropy"):
        smoke("simsiam", **{"method.loss.similarity": "dot"})
