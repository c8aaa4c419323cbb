"""Tests for the augmentation presets (ssl_bench.views.AUG_PRESETS) and view validation:
every preset runs on uint8 and float images, grayscale and non-square input, the presets'
values, and validate_view's one-line errors."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from helpers import gen, images

from ssl_bench.augment import augment
from ssl_bench.views import AUG_PRESETS, AugSpec, ViewAug, validate_view

# --------------------------------------------------------------------------------- presets


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
