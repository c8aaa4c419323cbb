"""The objectives: the BYOL paper's β-weighted InfoNCE (§5, Eq. 8), which BYOL, SimCLR,
SimSiam and MoCo are points of, and the two losses outside it, Barlow Twins and VICReg.

With S(u₁, u₂) = cos(φ(u₁), ψ(u₂)), φ the online output (the prediction q(z) when a
predictor exists, else the projection z) and ψ the target's projection, the paper's
objective for views v (of images i = 1..B) against views v′ is

    J = (2/B) Σᵢ S(vᵢ, v′ᵢ)
        − β (2α/B) Σᵢ ln( Σ_{j≠i} exp(S(vᵢ, vⱼ)/α) + Σⱼ exp(S(vᵢ, v′ⱼ)/α) )

and the loss of one direction is −J. We symmetrise by SUMMING the two directions
(v→v′ and v′→v), as the official BYOL code sums its two regression losses.

Scale, which matters under LARS because biases and BN parameters are excluded from
its trust ratio (BYOL §F.5; a peer lost 11 points of linear accuracy by averaging
instead of summing, lightly-ai/lightly#1286):
  * β = 0: loss = Σ_directions mean(−2 cos) = BYOL's summed (2 − 2cos) − 4.
  * β = 1, φ = ψ = online projection: each direction is 2α × NT-Xent over that
    direction's B anchors, so the symmetrised loss is 4α × SimCLR's NT-Xent averaged
    over all 2B anchors.
  * SimSiam's −½(cos(p₁, z₂) + cos(p₂, z₁)) is ¼ of the β = 0 loss.

Which negatives count (MoCo, He et al. 2020, is the case in point): `queue` holds K
earlier target projections, appended to every anchor's denominator;
`same_view_negatives=False` drops Σ_{j≠i} S(vᵢ, vⱼ); `other_view_negatives=False` keeps
only the positive of Σⱼ S(vᵢ, v′ⱼ). MoCo's logits [q·k₊, q·queue] are the queue with
both batch terms off; a queue of 0 with the other view's keys on is the β = 1 point
without same-view negatives.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _at_least_fp32(x: torch.Tensor) -> torch.Tensor:
    # Under bf16 autocast the logsumexp over 2B−1 terms needs fp32 to stay accurate.
    return x.to(torch.promote_types(x.dtype, torch.float32))


def info_nce_direction(
    online: torch.Tensor,
    target_same: torch.Tensor,
    target_other: torch.Tensor,
    *,
    beta: float,
    temperature: float,
    offset: int = 0,
    queue: torch.Tensor | None = None,
    same_view_negatives: bool = True,
    other_view_negatives: bool = True,
) -> torch.Tensor:
    """−J for one direction.

    online:       φ(vᵢ), shape [B, d]
    target_same:  ψ(vⱼ), the target of the SAME view, [N, d] (negatives j ≠ i)
    target_other: ψ(v′ⱼ), the target of the OTHER view, [N, d] (positive j = i, negatives j ≠ i)
    offset:       row of image 0's targets. N = B and offset = 0 in one process; with
                  several, the targets are gathered from every rank (N = world × B) and
                  this rank's images start at row `offset`.
    queue:        [K, d] earlier target projections, extra negatives of every anchor.
    same_view_negatives: whether S(vᵢ, vⱼ), j ≠ i, count in the denominator.
    other_view_negatives: whether S(vᵢ, v′ⱼ), j ≠ i, do (the positive always does).
    """
    o = F.normalize(_at_least_fp32(online), dim=1)
    t_other = F.normalize(_at_least_fp32(target_other), dim=1)
    b = o.shape[0]
    positive = (o * t_other[offset : offset + b]).sum(dim=1)
    loss = -2.0 * positive.mean()
    if beta == 0:
        return loss
    if t_other.shape[0] < 2 and queue is None:
        raise ValueError("the contrastive term (beta > 0) needs a batch of at least 2")
    if other_view_negatives:
        logits = [o @ t_other.T / temperature]  # [B, N], positives at (i, offset + i)
    else:
        logits = [positive[:, None] / temperature]
    if same_view_negatives:
        t_same = F.normalize(_at_least_fp32(target_same), dim=1)
        logits_same = o @ t_same.T / temperature  # [B, N], S(vᵢ, vᵢ) at (i, offset + i) is excluded
        own = torch.zeros_like(logits_same, dtype=torch.bool)
        own[torch.arange(b, device=o.device), offset + torch.arange(b, device=o.device)] = True
        logits.append(logits_same.masked_fill(own, float("-inf")))
    if queue is not None:
        logits.append(o @ F.normalize(_at_least_fp32(queue), dim=1).T / temperature)  # [B, K]
    log_denominator = torch.logsumexp(torch.cat(logits, dim=1), dim=1)
    return loss + beta * 2.0 * temperature * log_denominator.mean()


def beta_info_nce(
    online_1: torch.Tensor,
    online_2: torch.Tensor,
    target_1: torch.Tensor,
    target_2: torch.Tensor,
    *,
    beta: float,
    temperature: float,
    offset: int = 0,
    queue: torch.Tensor | None = None,
    same_view_negatives: bool = True,
    other_view_negatives: bool = True,
    symmetric: bool = True,
) -> torch.Tensor:
    """The symmetrised β-weighted InfoNCE of BYOL Eq. 8 (sum of both directions).

    online_k: φ of view k (prediction, or projection when there is no predictor);
    target_k: ψ of view k (EMA target projection, detached online projection, or the
    online projection itself). See the module docstring for the loss scale.
    symmetric=False: the direction view 1 → view 2 alone, twice (SimSiam §4.6's
    asymmetric loss D(p₁, z₂) against the symmetric ½ D(p₁, z₂) + ½ D(p₂, z₁): same scale).
    """
    kw = {"beta": beta, "temperature": temperature, "offset": offset, "queue": queue}
    kw |= {"same_view_negatives": same_view_negatives, "other_view_negatives": other_view_negatives}
    forward = info_nce_direction(online_1, target_1, target_2, **kw)
    if not symmetric:
        return 2.0 * forward
    return forward + info_nce_direction(online_2, target_2, target_1, **kw)


def cross_entropy_similarity(
    online_1: torch.Tensor,
    online_2: torch.Tensor,
    target_1: torch.Tensor,
    target_2: torch.Tensor,
    symmetric: bool = True,
) -> torch.Tensor:
    """Eq. 8 at β = 0 with SimSiam's cross-entropy similarity (§4.5) in place of the cosine:
    S(p, z) = softmax(z) · log softmax(p) over channels, minus a cross-entropy. Each
    direction is −(2/B) Σᵢ S(pᵢ, z′ᵢ), as the cosine's is, and the two are summed; so the
    loss is 4× SimSiam's ½ D(p₁, z₂) + ½ D(p₂, z₁), as the cosine form is."""

    def direction(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        p, z = _at_least_fp32(p), _at_least_fp32(z)
        return -2.0 * (F.softmax(z, dim=1) * F.log_softmax(p, dim=1)).sum(dim=1).mean()

    if not symmetric:  # as in beta_info_nce
        return 2.0 * direction(online_1, target_2)
    return direction(online_1, target_2) + direction(online_2, target_1)


def _standardise(z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    # BatchNorm without affine parameters, as Barlow Twins' code normalises: biased variance.
    return (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + eps)


def _off_diagonal(m: torch.Tensor) -> torch.Tensor:
    d = m.shape[0]
    return m.flatten()[:-1].view(d - 1, d + 1)[:, 1:].flatten()


def barlow_twins(z1: torch.Tensor, z2: torch.Tensor, *, lambd: float) -> torch.Tensor:
    """Barlow Twins, Eq. 1: Σᵢ (1 − Cᵢᵢ)² + λ Σᵢ Σ_{j≠i} Cᵢⱼ², with C the cross-correlation of
    the two views' projections, each standardised over the batch (N rows: the global
    batch when gathered)."""
    _batch_statistics_need_two(z1, "Barlow Twins")
    z1, z2 = _standardise(_at_least_fp32(z1)), _standardise(_at_least_fp32(z2))
    c = z1.T @ z2 / z1.shape[0]
    return (torch.diagonal(c) - 1).pow(2).sum() + lambd * _off_diagonal(c).pow(2).sum()


def _batch_statistics_need_two(z: torch.Tensor, loss: str) -> None:
    """A loss over batch statistics is nan on one row (a variance over n − 1 = 0)."""
    if z.shape[0] < 2:
        raise ValueError(f"{loss} takes statistics over the batch and needs a batch of at least 2, got {z.shape[0]}")


def _variance(z: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    return F.relu(1.0 - torch.sqrt(z.var(0) + eps)).mean()


def _covariance(z: torch.Tensor) -> torch.Tensor:
    z = z - z.mean(0)
    cov = z.T @ z / (z.shape[0] - 1)
    return _off_diagonal(cov).pow(2).sum() / z.shape[1]


def vicreg(z1: torch.Tensor, z2: torch.Tensor, *, sim: float, var: float, cov: float) -> torch.Tensor:
    """VICReg, Eq. 6: sim · mean squared distance + var · (hinge on each dimension's std,
    at 1, averaged, per view, halved as in the paper's code) + cov · (squared off-diagonal
    covariances / d, per view). Variance and covariance are over the rows given (the
    global batch when gathered, as the paper's code gathers)."""
    _batch_statistics_need_two(z1, "VICReg")
    z1, z2 = _at_least_fp32(z1), _at_least_fp32(z2)
    invariance = F.mse_loss(z1, z2)
    variance = (_variance(z1) + _variance(z2)) / 2
    return sim * invariance + var * variance + cov * (_covariance(z1) + _covariance(z2))
