"""Batched SSL image augmentation with per-image random parameters, on any torch device:
crops, flips, blur, solarisation, grayscale, and the draw of every parameter (the colour
jitter is `ssl_bench.color`).

torchvision.transforms.v2 applied to a batched tensor draws ONE set of parameters for the whole
batch, and looping over images with it costs ~25x more on CPU. Here every parameter is a tensor
with one entry per image, drawn from an explicit ``torch.Generator`` (repeatable and resumable),
and every op is vectorised over the batch.

The ops reproduce torchvision's formulas (``torchvision.transforms.v2.functional``); the tests in
``tests/test_augment.py`` compare each of them against torchvision image by image.
"""

from __future__ import annotations

import math
import struct

import torch
import torch.nn.functional as F

from ssl_bench.color import BRIGHTNESS, CONTRAST, HUE, SATURATION, color_jitter, luma, select
from ssl_bench.draws import (
    N_UNIFORMS,
    U_BLUR,
    U_FACTORS,
    U_FLIP,
    U_GRAY,
    U_JITTER,
    U_ORDER,
    U_SIGMA,
    U_SOLARIZE,
    sample_boxes,
)
from ssl_bench.views import ViewAug, validate_view

__all__ = [
    "apply_params",
    "augment",
    "blur_kernel_size",
    "gaussian_blur",
    "hflip",
    "normalize_images",
    "resized_crop",
    "sample_params",
    "solarize",
    "to_grayscale",
]


def blur_kernel_size(image_size: int) -> int:
    """Odd Gaussian kernel side of ~10% of the image side, at least 3 (BYOL/SimCLR: 23 at 224)."""
    k = int(0.1 * image_size)
    if k % 2 == 0:
        k += 1
    return max(3, k)


# ----------------------------------------------------------------------------------------------
# Individual ops. Each takes a float [B, C, H, W] batch in [0, 1] and per-image parameters of
# shape [B]; masks are bool [B] and leave unselected images bit-for-bit unchanged.
# ----------------------------------------------------------------------------------------------


def resized_crop(x: torch.Tensor, boxes: torch.Tensor, out_size: int) -> torch.Tensor:
    """Crop ``boxes`` ([B, 4]: top, left, height, width in pixels) and resize each to out_size².

    Bilinear without antialiasing, matching ``F.interpolate(align_corners=False)`` applied to the
    cropped image (what torchvision's ``resized_crop(..., antialias=False)`` does): the source
    coordinate of output pixel d is ``start + scale * (d + 0.5) - 0.5`` clamped to the box, so the
    box edges are replicated instead of blending in pixels from outside the box. The sample is
    done with ``grid_sample`` because per-image gathers are several times slower on CPU.
    """
    b, _, h_in, w_in = x.shape
    boxes = boxes.to(device=x.device, dtype=x.dtype)
    top, left, height, width = boxes.unbind(1)
    dst = torch.arange(out_size, device=x.device, dtype=x.dtype) + 0.5

    def source(start: torch.Tensor, length: torch.Tensor, size: int) -> torch.Tensor:
        pos = ((length / out_size)[:, None] * dst - 0.5).clamp_(min=0.0)
        pos = torch.minimum(pos, (length - 1.0)[:, None]).add_(start[:, None])
        # grid_sample(align_corners=True) maps -1 and 1 to the centres of the first and last pixel.
        return pos.mul_(2.0 / max(size - 1, 1)).sub_(1.0)

    gy = source(top, height, h_in)
    gx = source(left, width, w_in)
    grid = torch.stack(
        (gx[:, None, :].expand(b, out_size, out_size), gy[:, :, None].expand(b, out_size, out_size)),
        dim=-1,
    )
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def hflip(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return select(mask, x.flip(-1), x)


def to_grayscale(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Replace selected images by their luma, keeping the channel count (identity for C=1)."""
    if x.shape[1] == 1:
        return x
    return select(mask, luma(x).expand_as(x), x)


def _gaussian_kernels(sigma: torch.Tensor, kernel_size: int, dtype: torch.dtype) -> torch.Tensor:
    # torchvision's _get_gaussian_kernel1d: softmax(-(x / sigma)^2) on a fixed linspace, i.e. the
    # kernel shape depends on sigma but the grid is not in pixel units.
    lim = (kernel_size - 1) / (2.0 * math.sqrt(2.0))
    grid = torch.linspace(-lim, lim, steps=kernel_size, dtype=dtype, device=sigma.device)
    return torch.softmax(grid.div(sigma.to(dtype)[:, None]).pow(2).neg(), dim=1)


def gaussian_blur(
    x: torch.Tensor, sigma: torch.Tensor, kernel_size: int, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-image isotropic Gaussian blur: separable, reflect padding, torchvision's kernel.

    One grouped conv per axis: the batch is folded into channels, so each (image, channel) plane
    gets its own kernel.
    """
    if kernel_size % 2 == 0 or kernel_size < 1:
        raise ValueError(f"kernel_size={kernel_size} is invalid: expected a positive odd integer")
    b, c, h, w = x.shape
    if b == 0:
        return x
    kernels = _gaussian_kernels(sigma.to(x.device), kernel_size, x.dtype).repeat_interleave(c, dim=0)
    half = kernel_size // 2
    planes = F.pad(x.reshape(1, b * c, h, w), (half, half, half, half), mode="reflect")
    planes = F.conv2d(planes, kernels[:, None, None, :], groups=b * c)
    planes = F.conv2d(planes, kernels[:, None, :, None], groups=b * c)
    out = planes.reshape(b, c, h, w)
    return out if mask is None else select(mask, out, x)


def solarize(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Invert pixels >= 0.5 in selected images (threshold as in BYOL, on [0, 1] images)."""
    # where(x >= 0.5, 1 - x, x) == minimum(x, 1 - x) exactly: 1 - x <= x iff x >= 0.5.
    return select(mask, torch.minimum(x, 1.0 - x), x)


# ----------------------------------------------------------------------------------------------
# Parameter sampling
# ----------------------------------------------------------------------------------------------


def sample_params(
    view: ViewAug,
    n: int,
    in_hw: tuple[int, int],
    out_size: int,
    generator: torch.Generator,
    device: torch.device | str | None = None,
    rows: tuple[int, int] = (0, 1),
) -> dict[str, torch.Tensor]:
    """Draw the parameters of ``n`` images, one independent draw per image.

    ``rows=(k, parts)``: draw for ``n × parts`` images, keep the k-th block of ``n``; so each
    process of a run gets the draws one process would give its rows, whatever the layout.

    Keys: ``boxes`` [n, 4] float (top, left, height, width); bool masks ``flip``, ``jitter``,
    ``gray``, ``blur``, ``solarize`` [n]; jitter factors ``brightness``, ``contrast``,
    ``saturation``, ``hue`` [n]; ``jitter_order`` [n, 4] int64 permutation of op ids; ``sigma`` [n].
    Every call consumes the same amount of the generator's stream (one [n, 36] uniform draw).
    ``out_size`` is accepted for API symmetry; the parameters do not depend on it.
    """
    del out_size
    validate_view(view)
    device = generator.device if device is None else torch.device(device)
    k, parts = rows
    u = torch.rand(n * parts, N_UNIFORMS, generator=generator, device=device)[k * n : (k + 1) * n]

    def factor_range(strength: float) -> tuple[float, float]:
        return max(0.0, 1.0 - strength), 1.0 + strength

    bounds = [factor_range(view.brightness), factor_range(view.contrast), factor_range(view.saturation)]
    bounds.append((-view.hue, view.hue))
    # Scalars, not a tensor built from a list: that is a host-to-device copy, which makes
    # the host wait for the device on CUDA. Rounded to float32 as a float32 tensor of the
    # bounds would be, so the factors are bit for bit what such a tensor gives.
    cols = u[:, U_FACTORS]
    factors = torch.stack(
        [_f32(lo) + _f32(_f32(hi) - _f32(lo)) * cols[:, j] for j, (lo, hi) in enumerate(bounds)], dim=1
    )
    # argsort of i.i.d. uniforms is a uniformly random permutation (ties have probability 0).
    order = torch.argsort(u[:, U_ORDER], dim=1)
    s_lo, s_hi = view.blur_sigma
    return {
        "boxes": sample_boxes(u, in_hw, view),
        "flip": u[:, U_FLIP] < view.flip_p,
        "jitter": u[:, U_JITTER] < view.jitter_p,
        "brightness": factors[:, 0],
        "contrast": factors[:, 1],
        "saturation": factors[:, 2],
        "hue": factors[:, 3],
        "jitter_order": order,
        "gray": u[:, U_GRAY] < view.gray_p,
        "blur": u[:, U_BLUR] < view.blur_p,
        "sigma": s_lo + (s_hi - s_lo) * u[:, U_SIGMA],
        "solarize": u[:, U_SOLARIZE] < view.solarize_p,
    }


def _f32(x: float) -> float:
    """x rounded to the nearest float32 (as a Python float, so it enters ops as a scalar)."""
    return struct.unpack("f", struct.pack("f", x))[0]


def _to_float(x: torch.Tensor) -> torch.Tensor:
    if x.dtype == torch.uint8:
        return x.to(torch.float32).div_(255.0)
    if not x.is_floating_point():
        raise TypeError(f"expected a uint8 or floating point image batch, got dtype {x.dtype}")
    return x.to(torch.promote_types(x.dtype, torch.float32))  # float64 stays float64


def apply_params(
    x: torch.Tensor, params: dict[str, torch.Tensor], view: ViewAug, out_size: int, crop: bool = True
) -> torch.Tensor:
    """Apply one view with pre-drawn ``params`` to ``x`` [B, C, H, W] (uint8, or float in [0, 1]).

    Order as BYOL Table 6: crop+resize, flip, colour jitter, grayscale, blur, solarize. Returns
    float32 [B, C, out_size, out_size] in [0, 1] (float64 for a float64 input). Ops whose probability
    or strength is 0 in ``view`` are skipped outright (as torchvision skips a zero-strength jitter), which is exact.
    ``crop=False``: ``x`` is this view's crops, already cut at out_size (`ViewCrops`).
    """
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"expected x of shape [B, 1 or 3, H, W], got {tuple(x.shape)}")
    source = x
    x = _to_float(x)
    full_image = view.crop_scale == (1.0, 1.0) and view.crop_ratio == (1.0, 1.0)
    if not crop and x.shape[-2:] != (out_size, out_size):
        raise ValueError(f"crop=False needs crops of {out_size}x{out_size}, got {tuple(x.shape[-2:])}")
    if crop and not (full_image and x.shape[-2] == x.shape[-1] == out_size):
        # Skipped only when every box is surely the whole image at the output size: grid_sample's
        # coordinate normalisation is not bit-exact, so this keeps the "none" preset an identity
        # (torchvision's resize likewise returns the input when the size is unchanged).
        x = resized_crop(x, params["boxes"], out_size)
    if view.flip_p > 0:
        x = hflip(x, params["flip"])
    if view.jitter_p > 0:
        strengths = {
            BRIGHTNESS: ("brightness", view.brightness),
            CONTRAST: ("contrast", view.contrast),
            SATURATION: ("saturation", view.saturation),
            HUE: ("hue", view.hue),
        }
        factors = {op: params[key] for op, (key, s) in strengths.items() if s > 0}
        if x.shape[1] == 1:  # saturation and hue are identities on 1 channel; skip their cost
            factors.pop(SATURATION, None)
            factors.pop(HUE, None)
        x = color_jitter(x, params["jitter_order"], factors, params["jitter"])
    if view.gray_p > 0:
        x = to_grayscale(x, params["gray"])
    if view.blur_p > 0:
        x = gaussian_blur(x, params["sigma"], blur_kernel_size(out_size), params["blur"])
    if view.solarize_p > 0:
        x = solarize(x, params["solarize"])
    # With every op skipped a float32 input would come back as the same tensor; a caller that
    # normalises the result in place must not write into its dataset.
    return x.clone() if x is source else x


def augment(
    x: torch.Tensor,
    view: ViewAug,
    out_size: int,
    generator: torch.Generator,
    rows: tuple[int, int] = (0, 1),
    crop: bool = True,
) -> torch.Tensor:
    """One augmented view of a batch: ``apply_params(x, sample_params(...))``. The draw is
    the same with ``crop=False`` (crops cut elsewhere), so the stream does not depend on it."""
    params = sample_params(view, x.shape[0], (x.shape[-2], x.shape[-1]), out_size, generator, x.device, rows)
    return apply_params(x, params, view, out_size, crop)


def normalize_images(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 or [0,1] float images → normalised float. mean/std shaped [1, C, 1, 1]."""
    if x.dtype == torch.uint8:
        x = x.float().div_(255)
    return (x - mean) / std
