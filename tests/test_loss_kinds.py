"""The losses beyond Eq. 8's two batch terms, each tested three ways: against a naive loop
written from its paper's equation, against lightly's implementation on random inputs,
and (in test_methods) by a training step of its registered method. Plus the queue's
mechanics: read before it is filled, kept in the model's state, resumed exactly."""

import dataclasses
import math

import pytest
import torch
from helpers import QUIET, smoke

from ssl_bench.distributed import SINGLE
from ssl_bench.loss import barlow_twins, beta_info_nce, vicreg
from ssl_bench.model import Branches
from ssl_bench.objective import objective
from ssl_bench.registry import get_method

D = torch.float64


@pytest.fixture
def z():
    g = torch.Generator().manual_seed(3)
    return torch.randn(12, 5, generator=g, dtype=D), torch.randn(12, 5, generator=g, dtype=D)


# ----------------------------------------------------------------------------- Barlow Twins


def barlow_twins_loop(za, zb, lambd):
    """Zbontar et al. 2021, Eqs. 1-2: C_ij = Σ_b za_bi zb_bj / (√Σ_b za_bi² √Σ_b zb_bj²), each
    dimension centred over the batch; L = Σ_i (1 − C_ii)² + λ Σ_i Σ_{j≠i} C_ij²."""
    n, d = za.shape
    ca = [[float(za[b, i] - za[:, i].mean()) for i in range(d)] for b in range(n)]
    cb = [[float(zb[b, j] - zb[:, j].mean()) for j in range(d)] for b in range(n)]
    loss = 0.0
    for i in range(d):
        for j in range(d):
            num = sum(ca[b][i] * cb[b][j] for b in range(n))
            den = math.sqrt(sum(ca[b][i] ** 2 for b in range(n))) * math.sqrt(sum(cb[b][j] ** 2 for b in range(n)))
            c = num / den
            loss += (1 - c) ** 2 if i == j else lambd * c**2
    return loss


def test_barlow_twins_matches_its_equation(z):
    # The code standardises with BatchNorm's ε = 1e-5 added to the variance; Eq. 2 has none.
    assert float(barlow_twins(*z, lambd=0.0051)) == pytest.approx(barlow_twins_loop(*z, 0.0051), rel=1e-4)


def test_barlow_twins_matches_lightly(z):
    lightly_loss = pytest.importorskip("lightly.loss")
    theirs = lightly_loss.BarlowTwinsLoss(lambda_param=0.0051)(*z)
    assert float(barlow_twins(*z, lambd=0.0051)) == pytest.approx(float(theirs), rel=1e-10)


# ----------------------------------------------------------------------------- VICReg


def vicreg_loop(za, zb, lam, mu, nu, eps=1e-4):
    """Bardes et al. 2022, Eqs. 1-6, term by term: v(Z) = (1/d) Σ_j max(0, 1 − √(Var(z^j) + ε)),
    c(Z) = (1/d) Σ_{i≠j} C(Z)_ij² with C(Z) = Σ (z − z̄)(z − z̄)ᵀ / (n − 1), s(Z, Z') =
    (1/n) Σ_i ||z_i − z'_i||². The paper's code (and ours) weighs these as λ·s/d +
    μ·(v(Z) + v(Z'))/2 + ν·(c(Z) + c(Z')): its invariance is a mean over the d dimensions
    too and its variance term is halved; the published λ = μ = 25, ν = 1 are for that."""
    n, d = za.shape

    def v(m):
        out = 0.0
        for j in range(d):
            col = [float(m[b, j]) for b in range(n)]
            mean = sum(col) / n
            var = sum((x - mean) ** 2 for x in col) / (n - 1)
            out += max(0.0, 1.0 - math.sqrt(var + eps))
        return out / d

    def c(m):
        means = [sum(float(m[b, j]) for b in range(n)) / n for j in range(d)]
        out = 0.0
        for i in range(d):
            for j in range(d):
                if i != j:
                    cov = sum((float(m[b, i]) - means[i]) * (float(m[b, j]) - means[j]) for b in range(n)) / (n - 1)
                    out += cov**2
        return out / d

    s = sum(sum((float(za[b, j]) - float(zb[b, j])) ** 2 for j in range(d)) for b in range(n)) / n
    return lam * s / d + mu * (v(za) + v(zb)) / 2 + nu * (c(za) + c(zb))


def test_vicreg_matches_its_equation(z):
    za, zb = z[0] * 0.3, z[1] * 0.3  # std below 1, so the variance hinge is active
    got = vicreg(za, zb, sim=25.0, var=25.0, cov=1.0)
    assert float(got) == pytest.approx(vicreg_loop(za, zb, 25.0, 25.0, 1.0), rel=1e-9)


def test_vicreg_matches_lightly(z):
    lightly_loss = pytest.importorskip("lightly.loss")
    za, zb = z[0] * 0.3, z[1] * 0.3
    theirs = lightly_loss.VICRegLoss(lambda_param=25.0, mu_param=25.0, nu_param=1.0)(za, zb)
    assert float(vicreg(za, zb, sim=25.0, var=25.0, cov=1.0)) == pytest.approx(float(theirs), rel=1e-10)


# ----------------------------------------------------------------------------- MoCo's queue


def moco_loop(q, k, queue, tau):
    """MoCo (He et al. 2020), Eq. 1: L_q = −log exp(q·k₊/τ) / (exp(q·k₊/τ) + Σ_K exp(q·k/τ)),
    on ℓ2-normalised vectors, averaged over the batch."""
    qn, kn, queue_n = (torch.nn.functional.normalize(t, dim=1) for t in (q, k, queue))
    total = 0.0
    for i in range(len(q)):
        pos = math.exp(float(qn[i] @ kn[i]) / tau)
        neg = sum(math.exp(float(qn[i] @ queue_n[j]) / tau) for j in range(len(queue)))
        total += -math.log(pos / (pos + neg))
    return total / len(q)


def moco_branches(seed=0, b=6, d=5, k=9):
    g = torch.Generator().manual_seed(seed)
    q1, q2, k1, k2, queue = (torch.randn(n, d, generator=g, dtype=D) for n in (b, b, b, b, k))
    return Branches((q1, q2), (k1, k2)), queue


def test_moco_v2_objective_is_mocos_loss_both_ways():
    spec = get_method("moco_v2")
    br, queue = moco_branches()
    (q1, q2), (k1, k2) = br
    got = objective(spec, br, SINGLE, queue)
    expected = moco_loop(q1, k2, queue, 0.2) + moco_loop(q2, k1, queue, 0.2)
    assert float(got) == pytest.approx(expected, rel=1e-9)


def test_moco_v2_objective_matches_lightly_with_a_memory_bank():
    lightly_loss = pytest.importorskip("lightly.loss")
    spec = get_method("moco_v2")
    br, queue = moco_branches(seed=1)
    (q1, q2), (k1, k2) = br
    theirs = lightly_loss.NTXentLoss(temperature=0.2, memory_bank_size=(len(queue), queue.shape[1]))
    theirs.memory_bank.bank = torch.nn.functional.normalize(queue, dim=1).to(D)
    expected = theirs(q1, k2) + theirs(q2, k1)  # inputs need no grad, so the bank stays put
    assert float(objective(spec, br, SINGLE, queue)) == pytest.approx(float(expected), rel=1e-9)


def test_queue_of_zero_with_the_batch_keys_is_the_beta_1_point_without_same_view_negatives():
    loss = dataclasses.replace(get_method("moco_v2").loss, queue=0, other_view_negatives=True, scale="eq8")
    br, _ = moco_branches(seed=2)
    (q1, q2), (k1, k2) = br
    got = objective(dataclasses.replace(get_method("moco_v2"), loss=loss), br, SINGLE)

    # Eq. 8 written as a loop, with its same-view sum left out.
    def loop(o, t_other):
        b = len(o)
        j = sum(2.0 / b * float(torch.cosine_similarity(o[i], t_other[i], dim=0)) for i in range(b))
        for i in range(b):
            inner = sum(math.exp(float(torch.cosine_similarity(o[i], t_other[m], dim=0)) / 0.2) for m in range(b))
            j -= 2 * 0.2 / b * math.log(inner)
        return -j

    assert float(got) == pytest.approx(loop(q1, k2) + loop(q2, k1), rel=1e-9)


def test_a_queue_adds_negatives_to_eq8():
    br, queue = moco_branches(seed=4)
    (q1, q2), (k1, k2) = br
    with_queue = beta_info_nce(q1, q2, k1, k2, beta=1.0, temperature=0.5, queue=queue)
    without = beta_info_nce(q1, q2, k1, k2, beta=1.0, temperature=0.5)
    assert float(with_queue) > float(without)  # more terms in every denominator


def test_enqueue_wraps_around_and_keeps_the_newest_keys():
    from ssl_bench.model import Siamese

    spec = dataclasses.replace(get_method("moco_v2"), loss=dataclasses.replace(get_method("moco_v2").loss, queue=5))
    model = Siamese(spec, torch.nn.Flatten(), 4)
    keys = torch.arange(3 * 128, dtype=torch.float32).view(3, 128)
    model.enqueue(keys)
    model.enqueue(keys + 1000)  # 6 keys into 5 rows: the first one is overwritten
    assert torch.equal(model.queue[0], keys[2] + 1000) and torch.equal(model.queue[1], keys[1])
    assert int(model.queue_ptr) == 1 and {"queue", "queue_ptr"} <= set(model.state_dict())


def test_the_step_reads_the_queue_before_it_enqueues_this_updates_keys():
    from ssl_bench.step import build_step

    cfg = smoke("moco_v2", **{"method.loss.queue": 64, "data.image_size": 16})
    mean, std = torch.zeros(1, 1, 1, 1), torch.ones(1, 1, 1, 1)
    step = build_step(cfg, 1, mean, std, 16)
    v1, v2 = torch.randn(8, 1, 16, 16), torch.randn(8, 1, 16, 16)
    before = step.model.queue.clone()
    torch.manual_seed(0)
    expected = objective(cfg.method, step.model(v1, v2), SINGLE, before).detach()
    with torch.no_grad():
        keys = torch.cat(step.model(v1, v2).target)
    torch.manual_seed(0)
    got = step.forward_backward(v1, v2)
    assert float(got.detach()) == pytest.approx(float(expected), rel=1e-6)
    assert torch.allclose(step.model.queue[:16], keys) and torch.equal(step.model.queue[16:], before[16:])


def test_a_moco_run_resumes_to_the_same_result(tmp_path):
    from test_train import stop_after

    from ssl_bench.train import Preempted, RunEnv, run

    cfg = smoke("moco_v2", **{"data.train_subset": 160, "eval.linear_probe": False})
    ref = run(cfg, RunEnv(out_dir=tmp_path / "a", **QUIET))
    with pytest.raises(Preempted):
        run(cfg, RunEnv(out_dir=tmp_path / "b", should_stop=stop_after(3), **QUIET))
    resumed = run(cfg, RunEnv(out_dir=tmp_path / "b", **QUIET))
    assert resumed["resumes"] and resumed["curves"] == ref["curves"] and resumed["metrics"] == ref["metrics"]


def test_the_queue_takes_every_ranks_keys_in_rank_order():
    """With several processes, each rank enqueues the global batch's keys, both views, in
    rank order, so every rank's queue stays the same (as MoCo's concat_all_gather)."""
    from dataclasses import dataclass

    from ssl_bench.objective import keys_to_enqueue

    @dataclass(frozen=True)
    class TwoRanks:  # rank 0 of two; the other rank's rows are this rank's + 100
        world: int = 2
        rank: int = 0

        def gather_with_grad(self, x):
            return torch.cat([x, x + 100]), 0

    t1, t2 = torch.zeros(3, 4), torch.ones(3, 4)
    keys = keys_to_enqueue(Branches((t1, t2), (t1, t2)), TwoRanks())
    assert torch.equal(keys, torch.cat([t1, t1 + 100, t2, t2 + 100]))
