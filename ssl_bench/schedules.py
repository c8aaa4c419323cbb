"""Per-step schedules as arrays (easy to test, plot and record) and the EMA update."""

from __future__ import annotations

import math

import numpy as np
import torch


def warmup_cosine(peak: float, warmup_steps: int, total_steps: int) -> np.ndarray:
    """Linear warm-up from 0 to `peak`, then cosine decay to 0 (BYOL App. C; its
    `utils/schedules.py` learning_schedule). Entry k is the value used at update k."""
    k = np.arange(total_steps, dtype=np.float64)
    warm = peak * k / max(warmup_steps, 1)
    decay_len = max(total_steps - warmup_steps, 1)
    cos = peak * 0.5 * (1.0 + np.cos(math.pi * (k - warmup_steps) / decay_len))
    return np.where(k < warmup_steps, warm, cos)


def tau_cosine(tau_base: float, total_steps: int) -> np.ndarray:
    """BYOL §3.2: τ = 1 − (1 − τ_base)(cos(πk/K) + 1)/2, k the update, K the total."""
    k = np.arange(total_steps, dtype=np.float64)
    return 1.0 - (1.0 - tau_base) * (np.cos(math.pi * k / max(total_steps, 1)) + 1.0) / 2.0


@torch.no_grad()
def ema_update(target: list[torch.Tensor], online: list[torch.Tensor], tau: float) -> None:
    """ξ ← τ ξ + (1 − τ) θ, in one fused call over all tensors."""
    torch._foreach_lerp_(target, online, 1.0 - tau)
