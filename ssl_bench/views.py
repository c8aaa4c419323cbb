"""What each view's augmentation is, as data: the fields of one view, the two views of a
method, the presets, and their validation. No torch here, so configs, ablations and the
report load without it; `ssl_bench.augment` applies these on a device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["AUG_PRESETS", "AugSpec", "ViewAug", "validate_view"]


@dataclass(frozen=True)
class ViewAug:
    """Augmentation of one view; all probabilities are per image and in [0, 1]."""

    crop_scale: tuple[float, float] = (0.08, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    flip_p: float = 0.5
    jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.2
    hue: float = 0.1
    gray_p: float = 0.2
    blur_p: float = 1.0
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    solarize_p: float = 0.0


@dataclass(frozen=True)
class AugSpec:
    view1: ViewAug
    view2: ViewAug


_SIMCLR_VIEW = ViewAug(brightness=0.8, contrast=0.8, saturation=0.8, hue=0.2, blur_p=0.5)
_SIMSIAM_VIEW = ViewAug(crop_scale=(0.2, 1.0), saturation=0.4, blur_p=0.5)

AUG_PRESETS: dict[str, AugSpec] = {
    # BYOL (Grill et al. 2020), Appendix B, Table 6: the two views differ only in blur and
    # solarisation probabilities (1.0/0.0 vs 0.1/0.2).
    "byol": AugSpec(view1=ViewAug(), view2=ViewAug(blur_p=0.1, solarize_p=0.2)),
    # SimCLR (Chen et al. 2020), Appendix A: colour distortion strength s=1 gives jitter
    # (0.8s, 0.8s, 0.8s, 0.2s) with p=0.8, grayscale p=0.2, ImageNet blur p=0.5, sigma 0.1-2.
    "simclr": AugSpec(view1=_SIMCLR_VIEW, view2=_SIMCLR_VIEW),
    # SimSiam (Chen & He 2021), Appendix A (the MoCo v2 recipe): crop scale 0.2-1,
    # jitter (0.4, 0.4, 0.4, 0.1) p=0.8, grayscale p=0.2, blur p=0.5 sigma 0.1-2, flip.
    "simsiam": AugSpec(view1=_SIMSIAM_VIEW, view2=_SIMSIAM_VIEW),
    # MoCo v2 (Chen et al. 2020, §3 and its code's augmentation list): the same recipe.
    "moco_v2": AugSpec(view1=_SIMSIAM_VIEW, view2=_SIMSIAM_VIEW),
    # Nothing random: the whole image resized to out_size (an identity at the input size). As
    # with torchvision's RandomResizedCrop(scale=(1, 1), ratio=(1, 1)), a non-square input gets its
    # central square instead (the fallback crop), so nothing is distorted.
    "none": AugSpec(
        view1=(
            _none := ViewAug(
                crop_scale=(1.0, 1.0),
                crop_ratio=(1.0, 1.0),
                flip_p=0.0,
                jitter_p=0.0,
                brightness=0.0,
                contrast=0.0,
                saturation=0.0,
                hue=0.0,
                gray_p=0.0,
                blur_p=0.0,
                solarize_p=0.0,
            )
        ),
        view2=_none,
    ),
}
del _none


def _bad(field: str, value: object, accepted: str) -> ValueError:
    return ValueError(f"ViewAug.{field}={value!r} is invalid: expected {accepted}")


def _pair(view: ViewAug, field: str) -> tuple[float, float]:
    value = getattr(view, field)
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise _bad(field, value, "a pair of numbers (low, high)") from None
    return a, b


def validate_view(view: ViewAug) -> None:
    """Raise ``ValueError`` (one line: field, bad value, accepted range) if ``view`` is invalid.

    Written as ``not (a <= x <= b)`` so that NaN is rejected too.
    """
    for field in ("flip_p", "jitter_p", "gray_p", "blur_p", "solarize_p"):
        p = getattr(view, field)
        if not (0.0 <= p <= 1.0):
            raise _bad(field, p, "a probability in [0, 1]")
    lo, hi = _pair(view, "crop_scale")
    if not (0.0 < lo <= hi <= 1.0):
        raise _bad("crop_scale", view.crop_scale, "(a, b) with 0 < a <= b <= 1")
    lo, hi = _pair(view, "crop_ratio")
    if not (0.0 < lo <= hi < math.inf):
        raise _bad("crop_ratio", view.crop_ratio, "(a, b) with 0 < a <= b, finite")
    for field in ("brightness", "contrast", "saturation"):
        v = getattr(view, field)
        if not (0.0 <= v < math.inf):
            raise _bad(field, v, "a finite number >= 0 (factor ~ U[max(0, 1-v), 1+v])")
    if not (0.0 <= view.hue <= 0.5):
        raise _bad("hue", view.hue, "a number in [0, 0.5] (shift ~ U[-hue, hue])")
    lo, hi = _pair(view, "blur_sigma")
    if not (0.0 < lo <= hi < math.inf):
        raise _bad("blur_sigma", view.blur_sigma, "(a, b) with 0 < a <= b, finite")
