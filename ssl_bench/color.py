"""Colour jitter on batches, per image: brightness, contrast, saturation and hue in a random
order per image, as torchvision's ColorJitter, with its formulas (the HSV rewrites
included); tests/test_augment.py compares each op against torchvision image by image.
Each op takes a float [B, C, H, W] batch in [0, 1] and per-image parameters of shape [B].
"""

from __future__ import annotations

import torch

__all__ = [
    "adjust_brightness",
    "adjust_contrast",
    "adjust_hue",
    "adjust_saturation",
    "blend",
    "color_jitter",
    "luma",
    "per_image",
    "select",
]


def per_image(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(-1, 1, 1, 1)


def select(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``torch.where(mask, a, b)`` for a per-image mask [B], as a lerp with 0/1 weights.

    Exact for finite values (lerp returns its end points exactly at weights 0 and 1), and on CPU
    ~5x faster than torch.where, whose bool-conditioned kernel is not vectorised.
    """
    return torch.lerp(b, a, per_image(mask).to(a.dtype))


def luma(x: torch.Tensor) -> torch.Tensor:
    """[B, 1, H, W] luma; same coefficients and summation order as torchvision."""
    if x.shape[1] == 1:
        return x
    r, g, b = x.unbind(dim=1)
    return r.mul(0.2989).add_(g, alpha=0.587).add_(b, alpha=0.114).unsqueeze(1)


def blend(x: torch.Tensor, other: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    # torchvision: image1 * ratio + image2 * (1 - ratio), clamped; keeping the same expression
    # keeps the rounding identical.
    ratio = per_image(ratio).to(x.dtype)
    return (x * ratio).add_(other * (1.0 - ratio)).clamp_(0.0, 1.0)


def adjust_brightness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return (x * per_image(factor).to(x.dtype)).clamp_(0.0, 1.0)


def adjust_contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    mean = luma(x).mean(dim=(-3, -2, -1), keepdim=True)
    return blend(x, mean, factor)


def adjust_saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:  # torchvision (and PIL) leave 1-channel images unchanged
        return x
    return blend(x, luma(x), factor)


# The HSV helpers follow torchvision's _rgb_to_hsv/_hsv_to_rgb (Pillow's algorithm) operation
# by operation, so results are bit-identical to torchvision (checked in the tests), but written
# without torch.where, aminmax, fmod and int64 gathers: on CPU those are 5-40x slower than plain
# float arithmetic, and hue is by far the most expensive op of the pipeline. The rewrites are
# exact: where(eqc, 1, d) -> d.clamp_min(tiny) gives the same quotient because eqc implies a zero
# numerator; boolean masks become exact 0/1 floats; fmod/remainder by 1 of values in (-1, 2) is
# x - floor(x), which is exact there.
_TINY = torch.finfo(torch.float32).tiny


def _rgb_to_hsv(r: torch.Tensor, g: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, ...]:
    maxc = torch.maximum(torch.maximum(r, g), b)
    minc = torch.minimum(torch.minimum(r, g), b)
    crange = maxc - minc
    s = crange / maxc.clamp_min(_TINY)
    divisor = crange.clamp_min(_TINY)
    rc = (maxc - r) / divisor
    gc = (maxc - g) / divisor
    bc = (maxc - b) / divisor
    is_r = (r >= maxc).to(r.dtype)
    is_g = (g >= maxc).to(r.dtype)
    not_r = 1.0 - is_r
    hr = (bc - gc) * is_r
    hg = (rc + 2.0 - bc) * (is_g * not_r)
    hb = (gc + 4.0 - rc) * (not_r * (1.0 - is_g))
    h = (hr + hg + hb) * (1.0 / 6.0) + 1.0  # in [5/6, 11/6]
    return h - h.floor(), s, maxc


def _hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    h6 = h * 6.0
    i = torch.floor(h6)  # in {0, ..., 6}: h6 can round up to 6, which is sector 0
    f = h6 - i
    sf = s * f
    one_minus_s = 1.0 - s
    q = ((1.0 - sf) * v).clamp_(0.0, 1.0)
    t = ((sf + one_minus_s) * v).clamp_(0.0, 1.0)
    p = (one_minus_s * v).clamp_(0.0, 1.0)
    # at_least[k] = 1.0 if i >= k else 0.0, exact because i is integral.
    at_least = [(i - (k - 1)).clamp_(0.0, 1.0) for k in range(7)]
    sector = [at_least[k] - at_least[k + 1] for k in range(6)]
    sector[0] = sector[0] + at_least[6]
    # Per channel, torchvision's table (v, p, q, t) by sector 0-5: r = v q p p t v,
    # g = t v v q p p, b = p p t v v q.
    r_out = torch.lerp(torch.lerp(torch.lerp(p, t, sector[4]), q, sector[1]), v, sector[0] + sector[5])
    g_out = torch.lerp(torch.lerp(torch.lerp(p, t, sector[0]), q, sector[3]), v, sector[1] + sector[2])
    b_out = torch.lerp(torch.lerp(torch.lerp(p, t, sector[2]), q, sector[5]), v, sector[3] + sector[4])
    return torch.stack((r_out, g_out, b_out), dim=1)


def adjust_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:  # torchvision (and PIL) leave 1-channel images unchanged
        return x
    h, s, v = _rgb_to_hsv(*x.unbind(dim=1))
    h = h + shift.to(x.dtype).reshape(-1, 1, 1)  # in (-0.5, 1.5): remainder by 1 is h - floor(h)
    return _hsv_to_rgb(h - h.floor(), s, v)


# Op ids in torchvision ColorJitter's fn_idx convention.
BRIGHTNESS, CONTRAST, SATURATION, HUE = 0, 1, 2, 3
_JITTER_OPS = {
    BRIGHTNESS: adjust_brightness,
    CONTRAST: adjust_contrast,
    SATURATION: adjust_saturation,
    HUE: adjust_hue,
}


def color_jitter(
    x: torch.Tensor,
    order: torch.Tensor,
    factors: dict[int, torch.Tensor],
    mask: torch.Tensor | None = None,
    grouped: bool | None = None,
) -> torch.Tensor:
    """torchvision ColorJitter with a per-image op order.

    ``order`` is [B, 4], a permutation of op ids (BRIGHTNESS, CONTRAST, SATURATION, HUE) per image
    as torchvision's ``fn_idx``; ``factors`` maps op id to its [B] factors, and ops missing from it
    are skipped (as torchvision skips a jitter of strength 0). Images with ``mask`` False are
    returned unchanged.

    Two equivalent strategies:
    - masked (sync-free, the default off CPU): in each slot run every op on the whole batch and
      keep, per image, the result of the op that image has in that slot. Costs 4x the compute.
    - grouped (the default on CPU when hue is on): in each slot sort the images by their op (one
      stable argsort), run each op once on its contiguous group, and undo the sort. Each image pays
      for each op once, which matters because the HSV round trip of hue dominates; the price is
      one device-to-host read of the group sizes per call, which would stall a CUDA stream.
    """
    ops = sorted(factors)
    if not ops or x.shape[0] == 0:
        return x
    if grouped is None:
        grouped = x.device.type == "cpu" and HUE in factors
    if not grouped:
        out = x
        for k in range(4):
            slot = order[:, k]
            new = out
            for op_id in ops:
                new = select(slot == op_id, _JITTER_OPS[op_id](out, factors[op_id]), new)
            out = new
        return out if mask is None else select(mask, out, x)

    skip = len(_JITTER_OPS)  # pseudo op id of images left unjittered
    slot_ops = order if mask is None else torch.where(mask[:, None], order, torch.full_like(order, skip))
    op_ids = torch.arange(skip + 1, device=x.device)
    counts = (slot_ops[:, :, None] == op_ids).sum(dim=0).tolist()  # [slot][op id]
    # `out` holds the images in the order `held` (held[j] = image index at row j); each slot
    # regroups directly from the previous slot's order, and the original order is restored once.
    held = torch.arange(x.shape[0], device=x.device)
    out = x
    for k in range(4):
        perm = torch.argsort(slot_ops[:, k], stable=True)
        grouped_x = out[torch.argsort(held)[perm]]
        pieces = []
        start = 0
        for op_id, n in enumerate(counts[k]):
            chunk = grouped_x[start : start + n]
            if n and op_id in factors:
                chunk = _JITTER_OPS[op_id](chunk, factors[op_id][perm[start : start + n]])
            pieces.append(chunk)
            start += n
        out = torch.cat(pieces)
        held = perm
    # A gather by the inverse permutation rather than an index_put: deterministic on CUDA too.
    return out[torch.argsort(held)]
