"""Symmetrisation as a field of the method spec (SimSiam §4.6): both directions, one
direction, or one direction over two independently drawn pairs of views per image."""

import pytest
import torch
import torch.nn.functional as F
from helpers import smoke

from ssl_bench.config import run_id
from ssl_bench.distributed import SINGLE
from ssl_bench.model import Branches
from ssl_bench.objective import objective
from ssl_bench.spec import SpecError

D = torch.float64


def _d(p: torch.Tensor, z: torch.Tensor) -> float:
    """SimSiam's D(p, z) = −(p/‖p‖₂) · (z/‖z‖₂), averaged over the batch (Eq. 1)."""
    return float(-(F.normalize(p, dim=1) * F.normalize(z, dim=1)).sum(1).mean())


@pytest.mark.parametrize("similarity", ["cosine", "cross_entropy"])
def test_the_asymmetric_loss_is_one_direction_at_the_symmetric_scale(similarity):
    sym = smoke("simsiam", **{"method.loss.similarity": similarity})
    asym = smoke("simsiam", **{"method.loss.similarity": similarity, "method.symmetry": "asymmetric"})
    g = torch.Generator().manual_seed(1)
    p1, p2, z1, z2 = (torch.randn(6, 5, generator=g, dtype=D) for _ in range(4))
    both = float(objective(sym.method, Branches((p1, p2), (z1, z2)), SINGLE))
    one = float(objective(asym.method, Branches((p1, p2), (z1, z2)), SINGLE))
    mirrored = float(objective(sym.method, Branches((p1, p1), (z2, z2)), SINGLE))
    assert one == pytest.approx(mirrored, rel=1e-12) and one != pytest.approx(both)
    if similarity == "cosine":  # 4 × SimSiam's asymmetric D(p₁, z₂), as the symmetric form is 4 × ½(D + D)
        assert one == pytest.approx(4 * _d(p1, z2), rel=1e-12)
        assert both == pytest.approx(4 * (0.5 * _d(p1, z2) + 0.5 * _d(p2, z1)), rel=1e-12)


def test_asymmetric_2x_draws_a_second_independent_pair_after_the_first():
    from ssl_bench.data import load_dataset
    from ssl_bench.step import build_step

    def step_of(cfg):
        data = load_dataset("fashion-mnist", None, train_subset=cfg.data.train_subset)
        mean, std = torch.tensor(data.mean).view(1, -1, 1, 1), torch.tensor(data.std).view(1, -1, 1, 1)
        return build_step(cfg, 1, mean, std, 28), data.ssl_images[:8]

    (one, x), (two, _) = step_of(smoke("simsiam")), step_of(smoke("simsiam", **{"method.symmetry": "asymmetric_2x"}))
    (a1, a2), (b1, b2) = one.views(x), two.views(x)
    assert b1.shape[0] == b2.shape[0] == 16
    assert torch.equal(b1[:8], a1) and not torch.equal(b1[8:], a1) and not torch.equal(b2[8:], a2)
    loss = two.forward_backward(b1, b2)
    assert torch.isfinite(loss)


def test_asymmetric_2x_is_the_papers_one_direction_loss_over_both_pairs():
    """§4.6's "asym. 2×": D(p₁, stopgrad(z₂)) of each of the two pairs drawn per image,
    averaged over both, at the symmetric form's scale (4 × SimSiam's), written out from
    the equation on the step's own views and network, in float64."""
    import copy

    from ssl_bench.data import load_dataset
    from ssl_bench.step import build_step

    cfg = smoke("simsiam", **{"method.symmetry": "asymmetric_2x", "train.precision": "fp64"})
    data = load_dataset("fashion-mnist", None, train_subset=cfg.data.train_subset)
    mean, std = (torch.tensor(v, dtype=D).view(1, -1, 1, 1) for v in (data.mean, data.std))
    step = build_step(cfg, 1, mean, std, 28)
    x = data.ssl_images[:8]
    v1, v2 = step.views(x)
    before = copy.deepcopy(step.model)  # the network as the loss sees it, BatchNorm in train mode
    loss = float(step.forward_backward(v1, v2))
    p1 = before.predictor(before.project(v1))
    z2 = before.project(v2).detach()
    first, second = _d(p1[:8], z2[:8]), _d(p1[8:], z2[8:])
    # Computed in float64; the step returns it rounded to float32 (relative error ≤ 6e-8).
    assert loss == pytest.approx(4 * 0.5 * (first + second), rel=1e-7)
    assert abs(first - second) > 1e-3 * abs(first)  # two different pairs, so both count


def test_symmetry_keeps_old_ids_and_refuses_where_it_does_not_apply():
    assert run_id(smoke("simsiam")) == run_id(smoke("simsiam", **{"method.symmetry": "symmetric"}))
    with pytest.raises(SpecError, match="method.symmetry='asymmetric' does not apply to a vicreg loss"):
        smoke("vicreg", **{"method.symmetry": "asymmetric"})
    with pytest.raises(SpecError, match="is not one of: symmetric, asymmetric, asymmetric_2x"):
        smoke("simsiam", **{"method.symmetry": "left"})


def test_asymmetric_2x_with_crops_cut_in_the_loader_is_refused():
    from ssl_bench.config import build_config

    with pytest.raises(SpecError, match="asymmetric_2x' draws a second pair of crops on the device"):
        build_config("simsiam", preset="paper", overrides={"method.symmetry": "asymmetric_2x"})
