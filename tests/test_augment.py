"""Tests for ssl_bench.augment and ssl_bench.color: each op against torchvision, image by
image, the `none` preset against torchvision's resize, and the CUDA path against the CPU's.
The parameter draw is tested in tests/test_augment_sampling.py, the presets and view
validation in tests/test_augment_presets.py.

Tolerances against torchvision (float32 images in [0, 1]):
- hflip, brightness, grayscale, solarize, hue: exact on CPU (same arithmetic); hue is given 1e-6
  of slack for other backends' rounding.
- contrast, saturation: 1e-6 (torchvision's add_(alpha=) may fuse multiply-add, we round twice).
- gaussian blur: 1e-6 (separable 1-D passes vs torchvision's 2-D kernel: summation order).
- resized_crop: 2e-5 for inputs up to 32 px, 1e-4 for a 375x500 -> 224 crop. Same bilinear
  sampling as F.interpolate(align_corners=False), but grid_sample goes through normalised
  coordinates, which moves the sample position by ~ulp(1) * W pixels (measured max abs diff:
  2.7e-6 at 32 px, 1.3e-5 at 96 px, 5.9e-5 at 500 px; uint8 quantisation is 3.9e-3).
"""

from __future__ import annotations

import math
import time

import pytest
import torch
import torchvision.transforms.v2.functional as TF
from helpers import assert_close, gen, images

from ssl_bench.augment import (
    apply_params,
    augment,
    blur_kernel_size,
    gaussian_blur,
    hflip,
    resized_crop,
    sample_params,
    solarize,
    to_grayscale,
)
from ssl_bench.color import (
    BRIGHTNESS,
    CONTRAST,
    HUE,
    SATURATION,
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    color_jitter,
)
from ssl_bench.views import AUG_PRESETS, ViewAug

CROP_ATOL = 2e-5
CROP_ATOL_LARGE = 1e-4
BLEND_ATOL = 1e-6
BLUR_ATOL = 1e-6
HUE_ATOL = 1e-6


def per_image(fn, x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
    """torchvision reference: call ``fn`` image by image with that image's parameters."""
    return torch.stack([fn(x[i], *(float(p[i]) for p in params)) for i in range(x.shape[0])])


# --------------------------------------------------------------------------------- single ops


def random_boxes(n: int, h: int, w: int, seed: int) -> torch.Tensor:
    """Integer boxes inside an h x w image; the first is the whole image, the second one pixel."""
    g = gen(seed)
    hh = torch.randint(1, h + 1, (n,), generator=g)
    ww = torch.randint(1, w + 1, (n,), generator=g)
    hh[:2], ww[:2] = torch.tensor([h, 1]), torch.tensor([w, 1])
    top = (torch.rand(n, generator=g) * (h - hh + 1)).floor().long()
    left = (torch.rand(n, generator=g) * (w - ww + 1)).floor().long()
    return torch.stack([top, left, hh, ww], dim=1).float()


def torchvision_resized_crop(x: torch.Tensor, boxes: torch.Tensor, out_size: int) -> torch.Tensor:
    return torch.stack(
        [TF.resized_crop(x[i], *(int(v) for v in boxes[i]), [out_size] * 2, antialias=False) for i in range(x.shape[0])]
    )


@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("out_size", [8, 12, 31])  # down-, same- and up-sampling
def test_resized_crop_matches_torchvision(c: int, out_size: int) -> None:
    x = images(10, c, 20, 24)
    boxes = random_boxes(10, 20, 24, seed=1)
    assert_close(resized_crop(x, boxes, out_size), torchvision_resized_crop(x, boxes, out_size), CROP_ATOL)


def test_resized_crop_large_image_matches_torchvision() -> None:
    x = images(4, 3, 375, 500)
    boxes = random_boxes(4, 375, 500, seed=2)
    assert_close(resized_crop(x, boxes, 224), torchvision_resized_crop(x, boxes, 224), CROP_ATOL_LARGE)


def test_hflip_matches_torchvision() -> None:
    x = images(6, 3)
    mask = torch.tensor([True, False, True, True, False, False])
    expected = torch.stack([TF.horizontal_flip(x[i]) if mask[i] else x[i] for i in range(6)])
    assert torch.equal(hflip(x, mask), expected)


@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize(
    ("ours", "theirs", "factors", "atol"),
    [
        (adjust_brightness, TF.adjust_brightness, [0.0, 0.6, 1.0, 1.4, 1.8], 0.0),
        (adjust_contrast, TF.adjust_contrast, [0.0, 0.6, 1.0, 1.4, 1.8], BLEND_ATOL),
        (adjust_saturation, TF.adjust_saturation, [0.0, 0.2, 1.0, 1.2, 1.8], BLEND_ATOL),
        (adjust_hue, TF.adjust_hue, [-0.5, -0.1, -1e-9, 0.0, 0.2, 0.5], HUE_ATOL),
    ],
    ids=["brightness", "contrast", "saturation", "hue"],
)
def test_color_ops_match_torchvision(c, ours, theirs, factors, atol) -> None:
    f = torch.tensor(factors)
    x = images(len(factors), c)
    assert_close(ours(x, f), per_image(theirs, x, f), atol)


@pytest.mark.parametrize("c", [1, 3])
def test_grayscale_matches_torchvision(c: int) -> None:
    x = images(4, c)
    mask = torch.tensor([True, False, True, False])
    expected = torch.stack([TF.rgb_to_grayscale(x[i], c) if mask[i] else x[i] for i in range(4)])
    out = to_grayscale(x, mask)
    assert out.shape == x.shape
    assert torch.equal(out, expected)


@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("kernel_size", [3, 5])
def test_gaussian_blur_matches_torchvision(c: int, kernel_size: int) -> None:
    sigma = torch.tensor([0.1, 0.5, 1.0, 1.7, 2.0])
    x = images(5, c)
    expected = torch.stack([TF.gaussian_blur(x[i], [kernel_size] * 2, [float(sigma[i])] * 2) for i in range(5)])
    assert_close(gaussian_blur(x, sigma, kernel_size), expected, BLUR_ATOL)
    mask = torch.tensor([True, False, True, False, True])
    masked = gaussian_blur(x, sigma, kernel_size, mask)
    assert torch.equal(masked[~mask], x[~mask])
    assert_close(masked[mask], expected[mask], BLUR_ATOL)


@pytest.mark.parametrize("c", [1, 3])
def test_solarize_matches_torchvision(c: int) -> None:
    x = images(4, c)
    mask = torch.tensor([True, False, True, True])
    expected = torch.stack([TF.solarize(x[i], 0.5) if mask[i] else x[i] for i in range(4)])
    assert torch.equal(solarize(x, mask), expected)


def test_blur_kernel_size() -> None:
    assert blur_kernel_size(224) == 23  # BYOL / SimCLR on ImageNet
    for size in range(1, 300):
        k = blur_kernel_size(size)
        assert k % 2 == 1 and k >= 3 and abs(k - max(3.0, 0.1 * size)) <= 1


# --------------------------------------------------------------------------------- jitter


def torchvision_jitter(x: torch.Tensor, order: torch.Tensor, factors: dict[int, torch.Tensor]) -> torch.Tensor:
    ops = {
        BRIGHTNESS: TF.adjust_brightness,
        CONTRAST: TF.adjust_contrast,
        SATURATION: TF.adjust_saturation,
        HUE: TF.adjust_hue,
    }
    out = []
    for i in range(x.shape[0]):
        img = x[i]
        for op in order[i].tolist():
            if op in factors:
                img = ops[op](img, float(factors[op][i]))
        out.append(img)
    return torch.stack(out)


@pytest.mark.parametrize("c", [1, 3])
def test_color_jitter_matches_torchvision_in_per_image_order(c: int) -> None:
    n = 48
    x = images(n, c)
    g = gen(2)
    order = torch.argsort(torch.rand(n, 4, generator=g), dim=1)
    factors = {
        BRIGHTNESS: 0.6 + 0.8 * torch.rand(n, generator=g),
        CONTRAST: 0.6 + 0.8 * torch.rand(n, generator=g),
        SATURATION: 0.2 + 1.6 * torch.rand(n, generator=g),
        HUE: 0.4 * torch.rand(n, generator=g) - 0.2,
    }
    mask = torch.rand(n, generator=g) < 0.7
    expected = torchvision_jitter(x, order, factors)
    expected[~mask] = x[~mask]
    for grouped in (False, True):
        out = color_jitter(x, order, factors, mask, grouped=grouped)
        assert_close(out, expected, 4 * BLEND_ATOL)
        assert torch.equal(out[~mask], x[~mask])
    # Dropping an op (strength 0) skips it, as torchvision's ColorJitter does.
    no_hue = {k: v for k, v in factors.items() if k != HUE}
    assert_close(color_jitter(x, order, no_hue, grouped=True), torchvision_jitter(x, order, no_hue), 4 * BLEND_ATOL)


# --------------------------------------------------------------------------------- whole views


def test_none_preset_is_a_plain_resize() -> None:
    view = AUG_PRESETS["none"].view1
    x8 = torch.randint(0, 256, (4, 3, 20, 20), dtype=torch.uint8, generator=gen(17))
    assert torch.equal(augment(x8, view, 20, gen(18)), x8.float() / 255)
    x = x8.float() / 255
    same = augment(x, view, 20, gen(18))
    assert torch.equal(same, x) and same.data_ptr() != x.data_ptr()  # a copy, never an alias
    expected = TF.resize(x, [13, 13], antialias=False)
    assert_close(augment(x8, view, 13, gen(18)), expected, CROP_ATOL)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu() -> None:
    # Same parameters on both devices (a CUDA generator draws a different stream); on CUDA the
    # jitter takes the sync-free masked path, on CPU the grouped one.
    for c in (1, 3):
        view = AUG_PRESETS["byol"].view2
        x = torch.randint(0, 256, (64, c, 32, 32), dtype=torch.uint8, generator=gen(22))
        params = sample_params(view, 64, (32, 32), 24, gen(23), "cpu")
        expected = apply_params(x, params, view, 24)
        on_gpu = apply_params(x.cuda(), {k: v.cuda() for k, v in params.items()}, view, 24)
        # cuDNN convolutions default to TF32 (10-bit mantissa), as for torchvision's own blur.
        assert_close(on_gpu.cpu(), expected, 2e-3)
        g = torch.Generator(device="cuda").manual_seed(0)
        y = augment(x.cuda(), view, 24, g)
        assert y.device.type == "cuda" and y.shape == (64, c, 24, 24)


# --------------------------------------------------------------------------------- timing


def _time_per_image(x: torch.Tensor, view: ViewAug, reps: int = 10) -> float:
    g = gen()
    augment(x, view, x.shape[-1], g)
    best = math.inf
    for _ in range(reps):
        start = time.perf_counter()
        augment(x, view, x.shape[-1], g)
        best = min(best, time.perf_counter() - start)
    return best / x.shape[0] * 1e6


if __name__ == "__main__":
    view = AUG_PRESETS["byol"].view1
    for shape in ((256, 1, 28, 28), (256, 3, 32, 32)):
        batch = torch.randint(0, 256, shape, dtype=torch.uint8)
        print(
            f"byol view1, {'x'.join(map(str, shape))} uint8, {torch.get_num_threads()} threads: "
            f"{_time_per_image(batch, view):.1f} us/image (best of 10)"
        )
