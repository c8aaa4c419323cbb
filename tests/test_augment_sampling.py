"""Tests for ssl_bench.augment's parameter draw (sample_params): shapes and how much of the
stream it uses, crop boxes and their distribution against torchvision's RandomResizedCrop,
how often each op is applied, the jitter's order and factors, and per-image randomness,
reproducibility and the split of one draw across processes."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torchvision.transforms.v2 as T
from helpers import gen, images

from ssl_bench.augment import apply_params, augment, sample_params
from ssl_bench.views import AUG_PRESETS, ViewAug

# A view with every random op off and a whole-image crop, to switch on one op at a time.
OFF = AUG_PRESETS["none"].view1


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


# --------------------------------------------------------------------------- jitter order


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
