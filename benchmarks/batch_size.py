"""Batch size: BYOL Fig. 3a / Table 16 (arXiv 2006.07733 v3, 300 epochs, ImageNet linear top-1).

Two registered variants:
  batch_size       (default) smaller batches emulated as the paper did: every row keeps the
                   base batch per optimizer update and its learning rate, and splits it into
                   base/b micro-batches of b images whose gradients are averaged; the target
                   is updated once per update. What changes with b is what a forward pass
                   sees: the contrastive term's negatives and BatchNorm's batch statistics.
  batch_size_true  real small batches: b images per update, lr = base_lr × b / 256, b/base
                   times more updates (BatchNorm and the optimizer both see the small batch).

Both methods use BYOL's asymmetric augmentations T/T′ (Table 6), as the augmentation grid
does, so the SimCLR baseline (67.9 in Tables 16 and 17 alike) is one config in both grids.
The paper never says which augmentations its SimCLR reproduction used, but Table 17
reports it for "remove blur in T′", "remove solarize in T′" and "symmetric blurring /
solarization" (67.5, 67.7, 68.1): rows that exist only for BYOL's asymmetric T/T′, since
SimCLR's own augmentations have no solarization and one distribution for both views.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ssl_bench.ablation import Ablation, PaperValue, Row, register_ablation
from ssl_bench.verdicts import CAN, METRIC, NEAR, NOT_ENOUGH, Scale, Verdict, compare, needs_gap, stat, within
from ssl_bench.views import AUG_PRESETS

if TYPE_CHECKING:
    import pandas as pd

SOURCE = "BYOL, Grill et al. 2020, arXiv 2006.07733 v3, Table 16 (Fig. 3a)"
PAPER_BATCHES = (4096, 2048, 1024, 512, 256, 128, 64)
_BYOL = ((72.5, 90.8), (72.4, 90.7), (72.2, 90.7), (72.2, 90.8), (71.8, 90.7), (69.6, 89.6), (59.7, 83.2))
_SIMCLR = ((67.9, 88.5), (67.8, 88.5), (67.4, 88.1), (66.5, 87.6), (64.3, 86.3), (63.6, 85.9), (59.2, 83.0))
_SPREAD = {("byol", 128): 0.5, ("byol", 64): 1.5, ("simclr", 256): 2.1, ("simclr", 64): 2.9}
PAPER = tuple(
    PaperValue(str(b), method, top1, top5, _SPREAD.get((method, b)))
    for method, values in (("byol", _BYOL), ("simclr", _SIMCLR))
    for b, (top1, top5) in zip(PAPER_BATCHES, values, strict=True)
)

# The paper's grid spans a factor 64 below its base batch. Per preset: the base batch and
# how many halvings fit. On 2 CPU cores (10k images) the base is the cpu preset's own batch
# of 64, and 4 halvings reach the 16× reduction the paper's claim is about (64 -> 4: four
# images per BatchNorm batch still train; see the committed results).
GRIDS = {
    "paper": (4096, 6),
    "published": (4096, 6),
    "cifar10": (512, 6),
    "cpu": (64, 4),
    "smoke": (32, 2),
}
REDUCTION = 16  # 4096 -> 256: the range over which the paper says BYOL "remains stable"
# What "remains stable" allows: the paper calls BYOL's -0.7 from 4096 to 256 stable and its
# -2.9 at 128 a drop ("only drops for smaller values"); 1.5 points lies between. A 1-point
# margin was tighter than the paper's own evidence: at three seeds its -0.7 clears 1 point
# only where the unprinted spread is under 0.13 (the paper allows up to 0.25).
STABLE = 1.5
# The cpu grid runs the pair its claims read, the base and the 16x reduction, and not the
# halvings between: the claims compare those two rows alone.
CPU_REDUCTIONS = (1, REDUCTION)

QUOTE_STABLE = (
    '§5 "Batch size": "the performance of SimCLR rapidly deteriorates with batch size, likely due to the '
    "decrease in the number of negative examples. In contrast, the performance of BYOL remains stable over a "
    "wide range of batch sizes from 256 to 4096, and only drops for smaller values due to batch normalization "
    'layers in the encoder." (App. F.2: BYOL "stays mostly constant for batch sizes larger than 256".)'
)
QUOTE_BEATS = (
    'Abstract: "While state-of-the art methods rely on negative pairs, BYOL achieves a new state of the art '
    'without them." Under the ablation protocol (300 epochs, §5), Tables 16 and 17 print BYOL 72.5 against 67.9 '
    'for the paper\'s "own reproduction of SimCLR at 300 epochs" (Fig. 3 caption).'
)


def _rows(preset: str, emulate: bool) -> list[Row]:
    base, halvings = GRIDS.get(preset, GRIDS["paper"])
    rows = []
    for k in range(halvings + 1):
        b = base >> k
        if preset == "cpu" and base // b not in CPU_REDUCTIONS:
            continue
        if emulate:
            o = {"train.batch_size": base, "train.accumulate": base // b}
        else:
            o = {"train.batch_size": b, "train.accumulate": 1}
        rows.append(Row(str(b), {"aug": AUG_PRESETS["byol"], **o}))
    return rows


# The smallest batch the paper's claim covers: BatchNorm sees at least this many images.
PAPER_SMALLEST = 4096 // REDUCTION


def _batch_norm_scope(scope: str, images: int) -> str:
    """The paper puts BYOL's fall below 256 on BatchNorm; where the reduced batch gives
    BatchNorm far fewer images than that, a fall may be BatchNorm's, not the claim's."""
    if scope != CAN or images >= PAPER_SMALLEST:
        return scope
    return (
        f"weak: BatchNorm sees {images} images at the {REDUCTION}x smaller batch (the paper: {PAPER_SMALLEST}), "
        "and the paper puts the fall at small batches on BatchNorm, so a fall here may be BatchNorm's, not the batch's"
    )


def claims(summary: pd.DataFrame, scale: Scale) -> list[Verdict]:
    """BYOL §5, Fig. 3a: from the base batch down to base/16, BYOL's top-1 stays within
    STABLE points of its base (non-inferiority), while SimCLR's falls by more than NEAR; and
    at the base batch BYOL beats SimCLR. Rows are paired by reduction, base / b."""
    rows = [r for r in summary.row.unique()]
    base = max(rows, key=float) if rows else None
    target = next((r for r in rows if base and float(base) / float(r) == REDUCTION), None)
    out = []
    for method, side, what in (
        ("byol", "above", f"BYOL's top-1 at a {REDUCTION}x smaller batch stays within {STABLE:g} points of its base"),
        ("simclr", "below", f"SimCLR's top-1 at a {REDUCTION}x smaller batch falls by more than {NEAR:g} point"),
    ):
        if target is None:
            numbers = f"the grid's base is {base}; it has no row at base/{REDUCTION}"
            out.append(Verdict(what, NOT_ENOUGH, numbers, quote=QUOTE_STABLE))
            continue
        margin = STABLE if method == "byol" else NEAR
        scope = _batch_norm_scope(within(scale, margin) if method == "byol" else needs_gap(scale, margin), int(target))
        out.append(
            compare(
                what,
                stat(summary, method, target, METRIC, f"{method} at {target}"),
                stat(summary, method, base, METRIC, f"{method} at {base}"),
                -margin,
                side,
                quote=QUOTE_STABLE,
                scope=scope,
            )
        )
    out.append(
        compare(
            "BYOL beats SimCLR at the base batch",
            stat(summary, "byol", base, METRIC, "BYOL") if base else None,
            stat(summary, "simclr", base, METRIC, "SimCLR") if base else None,
            0.0,
            "above",
            quote=QUOTE_BEATS,
            scope=needs_gap(scale, 0.0),
        )
    )
    return out


@register_ablation
def batch_size() -> Ablation:
    return Ablation(
        name="batch_size",
        title="Batch size (emulated by gradient accumulation, as in the paper; both methods with BYOL's T/T')",
        source=SOURCE,
        methods=("byol", "simclr"),
        rows=lambda preset: _rows(preset, emulate=True),
        paper=PAPER,
        x_label="batch size",
        claims=claims,
        plot="curve",
        pair_by_reduction=True,
    )


@register_ablation
def batch_size_true() -> Ablation:
    return dataclasses.replace(
        batch_size(),
        name="batch_size_true",
        title="Batch size (real small batches, lr scaled with the batch)",
        source=SOURCE + " (the paper emulated small batches; this variant does not)",
        rows=lambda preset: _rows(preset, emulate=False),
    )
