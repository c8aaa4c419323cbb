"""The per-image uniform draw every augmentation parameter comes from, and the random
resized crop's box (torchvision's RandomResizedCrop.get_params, vectorised).

Its own module, below the datasets, because the box is drawn in two places: on the
device for a batch (`ssl_bench.augment.sample_params`) and in a DataLoader worker for one
whole decoded image (`ssl_bench.data.view_crops`), from the same columns of the same draw.
"""

from __future__ import annotations

import math

import torch

from ssl_bench.views import ViewAug

CROP_TRIES = 10  # torchvision RandomResizedCrop.get_params

# Column layout of the single [n, N_UNIFORMS] uniform draw: a fixed number of draws per image
# whatever the view, so the generator stream (and thus resumption) does not depend on the view.
U_AREA = slice(0, CROP_TRIES)
U_RATIO = slice(CROP_TRIES, 2 * CROP_TRIES)
U_TOP, U_LEFT = 2 * CROP_TRIES, 2 * CROP_TRIES + 1
U_FLIP = U_LEFT + 1
U_JITTER = U_FLIP + 1
U_FACTORS = slice(U_JITTER + 1, U_JITTER + 5)  # brightness, contrast, saturation, hue
U_ORDER = slice(U_JITTER + 5, U_JITTER + 9)
U_GRAY = U_JITTER + 9
U_BLUR = U_GRAY + 1
U_SIGMA = U_BLUR + 1
U_SOLARIZE = U_SIGMA + 1
N_UNIFORMS = U_SOLARIZE + 1


def _fallback_box(h: int, w: int, ratio: tuple[float, float]) -> tuple[int, int, int, int]:
    # torchvision's fallback when no try fits: central crop clamped to the ratio range.
    in_ratio = w / h
    if in_ratio < min(ratio):
        cw, ch = w, int(round(w / min(ratio)))
    elif in_ratio > max(ratio):
        ch, cw = h, int(round(h * max(ratio)))
    else:
        cw, ch = w, h
    return (h - ch) // 2, (w - cw) // 2, ch, cw


def sample_boxes(u: torch.Tensor, in_hw: tuple[int, int], view: ViewAug) -> torch.Tensor:
    """RandomResizedCrop.get_params, vectorised: all tries drawn at once, first valid one kept."""
    h_in, w_in = in_hw
    lo, hi = view.crop_scale
    log_lo, log_hi = math.log(view.crop_ratio[0]), math.log(view.crop_ratio[1])
    area = (h_in * w_in) * (lo + (hi - lo) * u[:, U_AREA])
    aspect = torch.exp(log_lo + (log_hi - log_lo) * u[:, U_RATIO])
    # torch.round and Python's round both round half to even.
    w = torch.sqrt(area * aspect).round_()
    h = torch.sqrt(area / aspect).round_()
    ok = (w > 0) & (w <= w_in) & (h > 0) & (h <= h_in)
    first = ok.to(torch.uint8).argmax(dim=1, keepdim=True)  # argmax returns the first maximum
    found = ok.any(dim=1)
    w = w.gather(1, first).squeeze(1)
    h = h.gather(1, first).squeeze(1)
    # randint(0, size - crop + 1) as floor(u * count); the clamp guards float rounding at u -> 1.
    top = torch.minimum(torch.floor(u[:, U_TOP] * (h_in - h + 1)), h_in - h)
    left = torch.minimum(torch.floor(u[:, U_LEFT] * (w_in - w + 1)), w_in - w)
    # The fallback enters as scalars (small integers, exact in any float dtype): a tensor
    # built from them would be a host-to-device copy, which makes the host wait on CUDA.
    fallback = _fallback_box(h_in, w_in, view.crop_ratio)
    return torch.stack([torch.where(found, v, float(f)) for v, f in zip((top, left, h, w), fallback, strict=True)], 1)


def crop_box(view: ViewAug, in_hw: tuple[int, int], generator: torch.Generator) -> tuple[int, int, int, int]:
    """One image's box (top, left, height, width) against its own size: the crop columns of
    one row of the draw, exactly what `sample_params(view, 1, in_hw, ...)` gives."""
    u = torch.rand(1, N_UNIFORMS, generator=generator, device=generator.device)
    top, left, height, width = (int(v) for v in sample_boxes(u, in_hw, view)[0].tolist())
    return top, left, height, width
