"""The shared loss against naive loop references (BYOL Eq. 8, SimCLR's NT-Xent,
BYOL's regression loss, SimSiam's negative cosine)."""

import math

import pytest
import torch
import torch.nn.functional as F

from ssl_bench.loss import beta_info_nce, info_nce_direction


def cos(a, b):
    return float(F.cosine_similarity(a[None], b[None])[0])


def eq8_loop(online, t_same, t_other, beta, alpha):
    """−J of BYOL Eq. 8, written as the paper writes it, one term at a time."""
    b = len(online)
    j = sum(2.0 / b * cos(online[i], t_other[i]) for i in range(b))
    for i in range(b):
        inner = sum(math.exp(cos(online[i], t_same[k]) / alpha) for k in range(b) if k != i)
        inner += sum(math.exp(cos(online[i], t_other[k]) / alpha) for k in range(b))
        j -= beta * 2 * alpha / b * math.log(inner)
    return -j


def nt_xent_loop(z1, z2, tau):
    """SimCLR's NT-Xent (Chen et al. 2020, Alg. 1): mean over all 2B anchors."""
    z = torch.cat([z1, z2])
    n = len(z1)
    losses = []
    for a in range(2 * n):
        pos = (a + n) % (2 * n)
        denom = sum(math.exp(cos(z[a], z[k]) / tau) for k in range(2 * n) if k != a)
        losses.append(-math.log(math.exp(cos(z[a], z[pos]) / tau) / denom))
    return sum(losses) / len(losses), sum(losses[:n]) / n, sum(losses[n:]) / n


@pytest.fixture
def emb():
    g = torch.Generator().manual_seed(0)
    return [torch.randn(6, 5, generator=g, dtype=torch.float64) for _ in range(4)]


@pytest.mark.parametrize("beta,alpha", [(0.0, 0.1), (1.0, 0.1), (0.5, 0.3), (1.0, 2.0)])
def test_direction_matches_eq8_loop(emb, beta, alpha):
    p, t_same, t_other, _ = emb
    got = info_nce_direction(p, t_same, t_other, beta=beta, temperature=alpha)
    assert float(got) == pytest.approx(eq8_loop(p, t_same, t_other, beta, alpha), rel=1e-6, abs=1e-6)


def test_symmetrised_is_sum_of_both_directions(emb):
    p1, p2, t1, t2 = emb
    both = beta_info_nce(p1, p2, t1, t2, beta=0.7, temperature=0.2)
    ref = eq8_loop(p1, t1, t2, 0.7, 0.2) + eq8_loop(p2, t2, t1, 0.7, 0.2)
    assert float(both) == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("alpha", [0.1, 0.5])
def test_beta1_online_projection_is_2alpha_nt_xent(emb, alpha):
    z1, z2, _, _ = emb
    mean_all, mean_dir1, mean_dir2 = nt_xent_loop(z1, z2, alpha)
    d1 = info_nce_direction(z1, z1, z2, beta=1.0, temperature=alpha)
    assert float(d1) == pytest.approx(2 * alpha * mean_dir1, rel=1e-6)
    total = beta_info_nce(z1, z2, z1, z2, beta=1.0, temperature=alpha)
    assert float(total) == pytest.approx(2 * alpha * (mean_dir1 + mean_dir2), rel=1e-6)
    assert float(total) == pytest.approx(4 * alpha * mean_all, rel=1e-6)


def test_beta0_is_byol_summed_regression_minus_4(emb):
    p1, p2, t1, t2 = emb
    n = len(p1)
    byol = (
        sum((2 - 2 * cos(p1[i], t2[i])) + (2 - 2 * cos(p2[i], t1[i])) for i in range(n)) / n
    )  # official code: both directions summed, then the batch mean
    got = beta_info_nce(p1, p2, t1, t2, beta=0.0, temperature=0.1)
    assert float(got) == pytest.approx(byol - 4, rel=1e-6, abs=1e-9)


def test_beta0_is_four_times_simsiam_negative_cosine(emb):
    p1, p2, z1, z2 = emb
    n = len(p1)
    simsiam = -0.5 * (sum(cos(p1[i], z2[i]) for i in range(n)) / n + sum(cos(p2[i], z1[i]) for i in range(n)) / n)
    got = beta_info_nce(p1, p2, z1, z2, beta=0.0, temperature=0.1)
    assert float(got) == pytest.approx(4 * simsiam, rel=1e-6)


def test_beta0_temperature_has_no_effect(emb):
    p1, p2, t1, t2 = emb
    a = beta_info_nce(p1, p2, t1, t2, beta=0.0, temperature=0.1)
    b = beta_info_nce(p1, p2, t1, t2, beta=0.0, temperature=3.0)
    assert float(a) == float(b)


def test_perfect_alignment_closed_form():
    """Identical, mutually orthogonal embeddings: cos(i,i)=1, cos(i,j)=0, so each
    direction is −2 + β·2α·ln((B−1)·1 + e^{1/α} + (B−1)) in closed form."""
    b, alpha = 4, 0.5
    z = torch.eye(b, dtype=torch.float64)
    got = info_nce_direction(z, z, z, beta=1.0, temperature=alpha)
    closed = -2 + 2 * alpha * math.log(2 * (b - 1) + math.exp(1 / alpha))
    assert float(got) == pytest.approx(closed, rel=1e-9)


def test_gradient_flows_only_where_the_target_allows():
    torch.manual_seed(0)
    z1 = torch.randn(4, 3, requires_grad=True)
    z2 = torch.randn(4, 3, requires_grad=True)
    beta_info_nce(z1, z2, z1.detach(), z2.detach(), beta=0.0, temperature=0.1).backward()
    g_stop = z1.grad.clone()
    z1.grad = None
    z2.grad = None
    beta_info_nce(z1, z2, z1, z2, beta=0.0, temperature=0.1).backward()
    assert not torch.allclose(g_stop, z1.grad), "online target must add a gradient path through the target branch"


@pytest.mark.parametrize("symmetric", [True, False])
def test_without_a_predictor_at_beta_0_the_online_target_doubles_the_stop_gradient_gradient(symmetric):
    """Why BYOL's "no predictor, no target network" row trains, under a scale-free optimizer
    (AdamW), as the stop-gradient of the online network does: the symmetrised loss is
    symmetric in its two branches, so letting the gradient through the target doubles it."""
    torch.manual_seed(0)
    w = torch.randn(8, 5, dtype=torch.float64, requires_grad=True)
    x1, x2 = torch.randn(6, 8, dtype=torch.float64), torch.randn(6, 8, dtype=torch.float64)

    def grad(stop: bool) -> torch.Tensor:
        z1, z2 = x1 @ w, x2 @ w
        t1, t2 = (z1.detach(), z2.detach()) if stop else (z1, z2)
        loss = beta_info_nce(z1, z2, t1, t2, beta=0.0, temperature=0.1, symmetric=symmetric)
        return torch.autograd.grad(loss, w)[0]

    online, stop = grad(False), grad(True)
    if symmetric:
        torch.testing.assert_close(online, 2 * stop, rtol=1e-12, atol=1e-14)
    else:  # one direction is not symmetric in its branches: no such identity
        assert not torch.allclose(online, 2 * stop)


def test_contrastive_term_needs_two_samples():
    z = torch.randn(1, 3)
    with pytest.raises(ValueError, match="at least 2"):
        info_nce_direction(z, z, z, beta=1.0, temperature=0.1)


@pytest.mark.parametrize("name", ["barlow_twins", "vicreg"])
def test_a_loss_over_batch_statistics_needs_two_rows_not_a_nan(name):
    from ssl_bench import loss

    kw = {"barlow_twins": {"lambd": 0.005}, "vicreg": {"sim": 25.0, "var": 25.0, "cov": 1.0}}[name]
    z = torch.randn(1, 3)
    with pytest.raises(ValueError, match="at least 2, got 1"):
        getattr(loss, name)(z, z, **kw)
    assert torch.isfinite(getattr(loss, name)(torch.randn(2, 3), torch.randn(2, 3), **kw))


def simclr_objective_loop(z1, z2, tau):
    """SimCLR's own loss as its code computes it (google-research/simclr objective.py):
    loss_a + loss_b, each direction's cross-entropy averaged over the batch."""
    _, mean_dir1, mean_dir2 = nt_xent_loop(z1, z2, tau)
    return mean_dir1 + mean_dir2


@pytest.mark.parametrize("method, scale", [("simclr", "preset"), ("predictor-grid", "eq8")])
def test_loss_scale_gives_simclrs_own_loss_and_keeps_table_5b_at_2_alpha(method, scale):
    """The simclr preset's objective is SimCLR's own loss (Eq. 8 ÷ 2α, App. F.4); the
    Table 5b SimCLR point of the predictor grid keeps the paper's ×2α (App. F.5)."""
    import dataclasses

    from ssl_bench.distributed import SINGLE
    from ssl_bench.model import Siamese
    from ssl_bench.objective import objective
    from ssl_bench.registry import get_method

    spec = get_method("simclr")
    assert spec.loss.scale == "infonce"
    if scale == "eq8":
        spec = dataclasses.replace(spec, loss=dataclasses.replace(spec.loss, scale="eq8"))
    torch.manual_seed(0)
    backbone = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 8))
    model = Siamese(spec, backbone, 8).double().eval()
    x1, x2 = torch.randn(5, 12, dtype=torch.float64), torch.randn(5, 12, dtype=torch.float64)
    loss = objective(spec, model(x1, x2), SINGLE)
    z1, z2 = model.project(x1), model.project(x2)
    own = simclr_objective_loop(z1.detach(), z2.detach(), spec.loss.temperature)
    expected = own if scale == "preset" else 2 * spec.loss.temperature * own
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-6)


def test_a_bad_loss_scale_is_one_line(capsys):
    from ssl_bench.cli import main

    assert main(["run", "--method", "simclr", "--set", "method.loss.scale=half", "--print-config"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "ssl-bench: error: method.loss.scale='half' is not one of: eq8, infonce"
