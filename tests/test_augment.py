"""Tests for ssl_bench.augment: each op against torchvision, sampling statistics, randomness.

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

import dataclasses
import math
import time

import pytest
import torch
import torchvision.transforms.v2 as T
import torchvision.transforms.v2.functional as TF

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
from ssl_bench.views import AUG_PRESETS, AugSpec, ViewAug, validate_view

CROP_ATOL = 2e-5
CROP_ATOL_LARGE = 1e-4
BLEND_ATOL = 1e-6
BLUR_ATOL = 1e-6
HUE_ATOL = 1e-6

# A view with every random op off and a whole-image crop, to switch on one op at a time.
OFF = AUG_PRESETS["none"].view1


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(b: int, c: int, h: int = 12, w: int = 14, seed: int = 0) -> torch.Tensor:
    """Random float images with some grey, saturated and quantised pixels (HSV edge cases)."""
    x = torch.rand(b, c, h, w, generator=gen(seed))
    if c == 3:
        x[:, :, 0] = x[:, :1, 0]  # grey row: max == min
        x[:, 0, 1] = 1.0
        x[:, 1, 1] = 0.0
    x[:, :, 2] = (x[:, :, 2] * 4).round() / 4  # ties between channels and at 0.5
    return x


def per_image(fn, x: torch.Tensor, *params: torch.Tensor) -> torch.Tensor:
    """torchvision reference: call ``fn`` image by image with that image's parameters."""
    return torch.stack([fn(x[i], *(float(p[i]) for p in params)) for i in range(x.shape[0])])


def assert_close(actual: torch.Tensor, expected: torch.Tensor, atol: float) -> None:
    assert actual.shape == expected.shape
    err = (actual - expected).abs().max().item()
    assert err <= atol, f"max abs diff {err:.3g} > {atol:.3g}"


def binomial_ok(count: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p)) + 1e-9


def ks_statistic(a: torch.Tensor, b: torch.Tensor) -> float:
    """Two-sample Kolmogorov-Smirnov statistic sup |F_a - F_b|."""
    grid = torch.cat([a, b]).sort().values
    fa = torch.searchsorted(a.sort().values, grid, right=True) / a.numel()
    fb = torch.searchsorted(b.sort().values, grid, right=True) / b.numel()
    return (fa - fb).abs().max().item()


def ks_critical(n: int, m: int, alpha: float = 1e-6) -> float:
    return math.sqrt(-0.5 * math.log(alpha / 2)) * math.sqrt((n + m) / (n * m))


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


def test_jitter_order_is_random_per_image() -> None:
    n = 24_000
    order = sample_params(ViewAug(), n, (32, 32), 32, gen(3), "cpu")["jitter_order"]
    assert torch.equal(order.sort(dim=1).values, torch.arange(4).expand(n, 4))
    codes = (order * torch.tensor([64, 16, 4, 1])).sum(dim=1)
    counts = torch.bincount(codes, minlength=256)
    counts = counts[counts > 0]
    assert counts.numel() == 24  # every permutation occurs...
    assert all(binomial_ok(int(k), n, 1 / 24) for k in counts)  # ...about equally often


# --------------------------------------------------------------------------------- sampling


def test_param_shapes_and_stream_consumption() -> None:
    g1, g2 = gen(4), gen(4)
    p = sample_params(AUG_PRESETS["byol"].view1, 7, (28, 30), 28, g1, "cpu")
    sample_params(AUG_PRESETS["none"].view1, 7, (64, 64), 32, g2, "cpu")
    # The amount of the stream consumed depends on n only, not on the view or image size.
    assert torch.equal(g1.get_state(), g2.get_state())
    assert p["boxes"].shape == (7, 4) and p["boxes"].dtype == torch.float32
    assert p["jitter_order"].shape == (7, 4) and p["jitter_order"].dtype == torch.int64
    for key in ("flip", "jitter", "gray", "blur", "solarize"):
        assert p[key].shape == (7,) and p[key].dtype == torch.bool
    for key in ("brightness", "contrast", "saturation", "hue", "sigma"):
        assert p[key].shape == (7,) and p[key].is_floating_point()


@pytest.mark.parametrize("in_hw", [(28, 28), (32, 32), (20, 36), (500, 375)])
def test_crop_boxes_inside_image_and_within_bounds(in_hw: tuple[int, int]) -> None:
    view = ViewAug()
    boxes = sample_params(view, 20_000, in_hw, 32, gen(5), "cpu")["boxes"]
    top, left, h, w = boxes.unbind(1)
    assert torch.equal(boxes, boxes.round())  # integer pixel boxes, as torchvision's
    assert (top >= 0).all() and (left >= 0).all() and (h >= 1).all() and (w >= 1).all()
    assert (top + h <= in_hw[0]).all() and (left + w <= in_hw[1]).all()
    # w and h are rounded to whole pixels, which moves area and ratio by up to ~1/side.
    slack = 1.5 / min(h.min().item(), w.min().item())
    frac = h * w / (in_hw[0] * in_hw[1])
    assert frac.min() >= 0.08 * (1 - slack) ** 2 and frac.max() <= 1.0
    log_ratio = torch.log(w / h)
    bound = math.log(4 / 3) + 2 * slack
    assert log_ratio.abs().max() <= bound


def test_crop_area_is_uniform_when_every_try_fits() -> None:
    # Square image and square crops: the first try is always valid, so the area fraction is
    # exactly U[scale] up to pixel rounding.
    view = ViewAug(crop_scale=(0.2, 0.9), crop_ratio=(1.0, 1.0))
    n = 20_000
    boxes = sample_params(view, n, (1000, 1000), 224, gen(6), "cpu")["boxes"]
    frac = boxes[:, 2] * boxes[:, 3] / 1e6
    uniform = 0.2 + 0.7 * torch.rand(n, generator=gen(7))
    assert ks_statistic(frac, uniform) < ks_critical(n, n)


def test_crop_distribution_matches_torchvision_get_params() -> None:
    # With the default ratio range, large areas are often rejected and resampled: compare the
    # whole (area, log-ratio) sampling to torchvision's own loop rather than to a formula.
    in_hw, n, m = (40, 56), 20_000, 3_000
    boxes = sample_params(ViewAug(), n, in_hw, 32, gen(8), "cpu")["boxes"]
    crop = T.RandomResizedCrop(32)
    img = torch.zeros(1, *in_hw)
    with torch.random.fork_rng():  # torchvision draws from the global RNG; leave it as it was
        torch.manual_seed(0)
        params = [crop.make_params([img]) for _ in range(m)]
    ref = torch.tensor([[p["top"], p["left"], p["height"], p["width"]] for p in params]).float()
    for stat in (
        lambda b: b[:, 2] * b[:, 3],
        lambda b: torch.log(b[:, 3] / b[:, 2]),
        lambda b: b[:, 0] + b[:, 2] / 2,
        lambda b: b[:, 1] + b[:, 3] / 2,
    ):
        assert ks_statistic(stat(boxes), stat(ref)) < ks_critical(n, m)


def test_crop_fallback_is_torchvision_central_crop() -> None:
    # No try can fit a full-area crop of ratio 2-3 in a square image: torchvision falls back to a
    # central crop of the allowed ratio nearest the image's (2: 30 wide, 15 high).
    view = ViewAug(crop_scale=(1.0, 1.0), crop_ratio=(2.0, 3.0))
    boxes = sample_params(view, 5, (30, 30), 30, gen(9), "cpu")["boxes"]
    assert torch.equal(boxes, torch.tensor([[7.0, 0.0, 15.0, 30.0]]).expand(5, 4))


def test_parameter_frequencies_match_probabilities() -> None:
    n = 20_000
    for view in (AUG_PRESETS["byol"].view1, AUG_PRESETS["byol"].view2, AUG_PRESETS["simclr"].view1):
        p = sample_params(view, n, (32, 32), 32, gen(10), "cpu")
        for key, prob in (
            ("flip", view.flip_p),
            ("jitter", view.jitter_p),
            ("gray", view.gray_p),
            ("blur", view.blur_p),
            ("solarize", view.solarize_p),
        ):
            assert binomial_ok(int(p[key].sum()), n, prob), (key, prob)
        assert p["sigma"].min() >= view.blur_sigma[0] and p["sigma"].max() <= view.blur_sigma[1]
        for key, strength in (
            ("brightness", view.brightness),
            ("contrast", view.contrast),
            ("saturation", view.saturation),
        ):
            assert p[key].min() >= max(0.0, 1 - strength) and p[key].max() <= 1 + strength
        assert p["hue"].abs().max() <= view.hue


@pytest.mark.parametrize(
    ("field", "p", "changed"),
    [
        ("flip_p", 0.5, lambda x, y: ~torch.isclose(x, y).all(dim=(1, 2, 3))),
        ("jitter_p", 0.8, lambda x, y: ~torch.isclose(x, y).all(dim=(1, 2, 3))),
        ("gray_p", 0.2, lambda x, y: (y[:, 0] == y[:, 1]).all(dim=(1, 2)) & (y[:, 1] == y[:, 2]).all(dim=(1, 2))),
        ("blur_p", 0.1, lambda x, y: ~torch.isclose(x, y).all(dim=(1, 2, 3))),
        ("solarize_p", 0.2, lambda x, y: ~torch.isclose(x, y).all(dim=(1, 2, 3))),
    ],
)
def test_ops_are_applied_with_their_probability(field: str, p: float, changed) -> None:
    n = 4_000
    # Strong enough settings that every applied op visibly changes the image (sigma 0.1 would not).
    extra = {"jitter_p": {"brightness": 0.4}, "blur_p": {"blur_sigma": (1.0, 2.0)}}.get(field, {})
    view = dataclasses.replace(OFF, **{field: p}, **extra)
    x = images(n, 3, 8, 8)
    if field == "solarize_p":
        x = 0.5 + x / 2  # every pixel above the threshold
    y = augment(x, view, 8, gen(11))
    assert binomial_ok(int(changed(x, y).sum()), n, p)


# --------------------------------------------------------------------------------- pipeline


def test_per_image_randomness_and_reproducibility() -> None:
    view = AUG_PRESETS["byol"].view1
    x = images(1, 3, 16, 16).expand(32, 3, 16, 16)
    y = augment(x, view, 16, gen(12))
    flat = y.flatten(1)
    distinct = torch.cdist(flat, flat) + torch.eye(32)
    assert (distinct > 1e-3).all()  # no two images of the batch got the same augmentation
    assert torch.equal(augment(x, view, 16, gen(12)), y)
    assert not torch.equal(augment(x, view, 16, gen(13)), y)


def test_each_process_gets_its_rows_of_the_global_draw() -> None:
    """rows=(k, parts): process k of `parts` gets exactly the parameters that one process
    drawing for the whole batch gives its rows, so the layout does not change augmentation."""
    view = AUG_PRESETS["byol"].view2
    whole = sample_params(view, 12, (28, 28), 28, torch.Generator().manual_seed(3))
    for k in range(3):
        part = sample_params(view, 4, (28, 28), 28, torch.Generator().manual_seed(3), rows=(k, 3))
        for name, value in part.items():
            assert torch.equal(value, whole[name][4 * k : 4 * (k + 1)]), name


def test_split_sampling_equals_augment() -> None:
    view = AUG_PRESETS["byol"].view2
    x = images(8, 3, 16, 16)
    params = sample_params(view, 8, (16, 16), 12, gen(14), x.device)
    assert torch.equal(apply_params(x, params, view, 12), augment(x, view, 12, gen(14)))


@pytest.mark.parametrize("preset", sorted(AUG_PRESETS))
@pytest.mark.parametrize("c", [1, 3])
def test_presets_run_on_uint8_and_float(preset: str, c: int) -> None:
    spec = AUG_PRESETS[preset]
    assert isinstance(spec, AugSpec)
    x8 = torch.randint(0, 256, (16, c, 28, 28), dtype=torch.uint8, generator=gen(15))
    for view in (spec.view1, spec.view2):
        validate_view(view)
        y = augment(x8, view, 24, gen(16))
        assert y.shape == (16, c, 24, 24) and y.dtype == torch.float32
        assert y.min() >= 0 and y.max() <= 1
        assert torch.equal(y, augment(x8.float() / 255, view, 24, gen(16)))


def test_preset_values() -> None:
    byol = AUG_PRESETS["byol"]
    assert byol.view1 == ViewAug()
    assert (byol.view2.blur_p, byol.view2.solarize_p) == (0.1, 0.2)
    assert dataclasses.replace(byol.view2, blur_p=1.0, solarize_p=0.0) == ViewAug()
    simclr = AUG_PRESETS["simclr"]
    assert simclr.view1 == simclr.view2
    assert (simclr.view1.brightness, simclr.view1.contrast, simclr.view1.saturation, simclr.view1.hue) == (
        0.8,
        0.8,
        0.8,
        0.2,
    )
    assert (simclr.view1.blur_p, simclr.view1.solarize_p, simclr.view1.crop_scale) == (0.5, 0.0, (0.08, 1.0))
    simsiam = AUG_PRESETS["simsiam"]
    assert simsiam.view1 == simsiam.view2
    assert simsiam.view1.crop_scale == (0.2, 1.0)
    assert (simsiam.view1.brightness, simsiam.view1.contrast, simsiam.view1.saturation, simsiam.view1.hue) == (
        0.4,
        0.4,
        0.4,
        0.1,
    )
    assert (simsiam.view1.blur_p, simsiam.view1.solarize_p, simsiam.view1.gray_p) == (0.5, 0.0, 0.2)


def test_none_preset_is_a_plain_resize() -> None:
    view = AUG_PRESETS["none"].view1
    x8 = torch.randint(0, 256, (4, 3, 20, 20), dtype=torch.uint8, generator=gen(17))
    assert torch.equal(augment(x8, view, 20, gen(18)), x8.float() / 255)
    x = x8.float() / 255
    same = augment(x, view, 20, gen(18))
    assert torch.equal(same, x) and same.data_ptr() != x.data_ptr()  # a copy, never an alias
    expected = TF.resize(x, [13, 13], antialias=False)
    assert_close(augment(x8, view, 13, gen(18)), expected, CROP_ATOL)


def test_grayscale_input_through_byol_keeps_one_channel() -> None:
    x = torch.randint(0, 256, (32, 1, 28, 28), dtype=torch.uint8, generator=gen(19))
    for view in (AUG_PRESETS["byol"].view1, AUG_PRESETS["byol"].view2):
        y = augment(x, view, 28, gen(20))
        assert y.shape == (32, 1, 28, 28)
        assert torch.isfinite(y).all() and y.min() >= 0 and y.max() <= 1


def test_non_square_input() -> None:
    x = images(6, 3, 24, 40)
    y = augment(x, AUG_PRESETS["simclr"].view1, 16, gen(21))
    assert y.shape == (6, 3, 16, 16)


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


# --------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("flip_p", 1.5),
        ("jitter_p", -0.1),
        ("gray_p", float("nan")),
        ("blur_p", 2.0),
        ("solarize_p", -1.0),
        ("crop_scale", (0.0, 1.0)),
        ("crop_scale", (0.5, 0.2)),
        ("crop_scale", (0.1, 1.5)),
        ("crop_scale", (0.1,)),
        ("crop_ratio", (0.0, 1.0)),
        ("crop_ratio", (2.0, 1.0)),
        ("brightness", -0.1),
        ("contrast", float("inf")),
        ("saturation", -1.0),
        ("hue", 0.6),
        ("hue", -0.1),
        ("blur_sigma", (0.0, 1.0)),
        ("blur_sigma", (2.0, 1.0)),
    ],
)
def test_validate_view_rejects(field: str, value) -> None:
    view = dataclasses.replace(ViewAug(), **{field: value})
    with pytest.raises(ValueError) as info:
        validate_view(view)
    message = str(info.value)
    assert field in message and repr(value) in message and "expected" in message
    assert "\n" not in message
    with pytest.raises(ValueError, match=field):
        augment(torch.zeros(1, 3, 8, 8), view, 8, gen())


def test_validate_view_accepts_strong_jitter() -> None:
    validate_view(ViewAug(brightness=0.8, contrast=1.5, saturation=3.0, hue=0.5, blur_sigma=(1.0, 1.0)))


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


def test_jitter_factors_are_bit_for_bit_those_of_a_float32_bounds_tensor() -> None:
    """The factors come from scalars (no host-to-device copy on CUDA); they equal what a
    float32 tensor of the bounds gives, so committed runs reproduce exactly."""
    from ssl_bench.augment import sample_params
    from ssl_bench.draws import N_UNIFORMS, U_FACTORS
    from ssl_bench.views import AUG_PRESETS

    for view in (AUG_PRESETS["byol"].view1, AUG_PRESETS["simclr"].view2, AUG_PRESETS["simsiam"].view1):
        got = sample_params(view, 256, (28, 28), 28, torch.Generator().manual_seed(5))
        u = torch.rand(256, N_UNIFORMS, generator=torch.Generator().manual_seed(5))[:, U_FACTORS]
        strengths = (view.brightness, view.contrast, view.saturation)
        lows = torch.tensor([max(0.0, 1 - s) for s in strengths] + [-view.hue])
        highs = torch.tensor([1 + s for s in strengths] + [view.hue])
        want = lows + (highs - lows) * u
        for j, key in enumerate(("brightness", "contrast", "saturation", "hue")):
            assert torch.equal(got[key], want[:, j]), key
