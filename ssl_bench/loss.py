"""The one loss every method uses: the BYOL paper's β-weighted InfoNCE (§5, Eq. 8).

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
) -> torch.Tensor:
    """−J for one direction.

    online:       φ(vᵢ), shape [B, d]
    target_same:  ψ(vⱼ), the target of the SAME view, [N, d] (negatives j ≠ i)
    target_other: ψ(v′ⱼ), the target of the OTHER view, [N, d] (positive j = i, negatives j ≠ i)
    offset:       row of image 0's targets. N = B and offset = 0 in one process; with
                  several, the targets are gathered from every rank (N = world × B) and
                  this rank's images start at row `offset`.
    """
    o = F.normalize(_at_least_fp32(online), dim=1)
    t_other = F.normalize(_at_least_fp32(target_other), dim=1)
    b = o.shape[0]
    loss = -2.0 * (o * t_other[offset : offset + b]).sum(dim=1).mean()
    if beta == 0:
        return loss
    t_same = F.normalize(_at_least_fp32(target_same), dim=1)
    if t_same.shape[0] < 2:
        raise ValueError("the contrastive term (beta > 0) needs a batch of at least 2")
    logits_other = o @ t_other.T / temperature  # [B, N], positives at (i, offset + i)
    logits_same = o @ t_same.T / temperature  # [B, N], S(vᵢ, vᵢ) at (i, offset + i) is excluded
    own = torch.zeros_like(logits_same, dtype=torch.bool)
    own[torch.arange(b, device=o.device), offset + torch.arange(b, device=o.device)] = True
    logits_same = logits_same.masked_fill(own, float("-inf"))
    log_denominator = torch.logsumexp(torch.cat([logits_same, logits_other], dim=1), dim=1)
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
) -> torch.Tensor:
    """The symmetrised β-weighted InfoNCE of BYOL Eq. 8 (sum of both directions).

    online_k: φ of view k (prediction, or projection when there is no predictor);
    target_k: ψ of view k (EMA target projection, detached online projection, or the
    online projection itself). See the module docstring for the loss scale.
    """
    return info_nce_direction(online_1, target_1, target_2, beta=beta, temperature=temperature, offset=offset) + (
        info_nce_direction(online_2, target_2, target_1, beta=beta, temperature=temperature, offset=offset)
    )
