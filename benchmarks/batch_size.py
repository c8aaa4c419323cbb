"""Batch size: BYOL Fig. 3a / Table 16 (arXiv 2006.07733 v3, 300 epochs, ImageNet linear top-1).

Two registered variants:
  batch_size       (default) smaller batches emulated as the paper did: every row keeps the
                   base batch per optimizer update and its learning rate, and splits it into
                   base/b micro-batches of b images whose gradients are averaged; the target
                   is updated once per update. What changes with b is what a forward pass
                   sees: the contrastive term's negatives and BatchNorm's batch statistics.
  batch_size_true  real small batches: b images per update, lr = base_lr × b / 256, b/base
                   times more updates (BatchNorm and the optimizer both see the small batch).
"""

import dataclasses

from ssl_bench.ablation import Ablation, PaperValue, Row, register_ablation
from ssl_bench.report import Verdict, greater, stat

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
# of 64, and 3 halvings keep the whole sweep for one method within about 15 minutes.
GRIDS = {
    "paper": (4096, 6),
    "published": (4096, 6),
    "cifar10": (512, 6),
    "cpu": (64, 3),
    "smoke": (32, 2),
}


def _rows(preset: str, emulate: bool) -> list[Row]:
    base, halvings = GRIDS.get(preset, GRIDS["paper"])
    rows = []
    for k in range(halvings + 1):
        b = base >> k
        if emulate:
            o = {"train.batch_size": base, "train.accumulate": base // b}
        else:
            o = {"train.batch_size": b, "train.accumulate": 1}
        rows.append(Row(str(b), o))
    return rows


def claims(summary, chance) -> list[Verdict]:
    """BYOL §5: "the performance of SimCLR rapidly deteriorates with batch size ... BYOL
    remains stable", so at the smallest batch both ran, BYOL's drop is the smaller one."""
    claim = "BYOL's drop at the smallest batch is smaller than SimCLR's"
    ran = [r for r in summary.row.unique() if stat(summary, "byol", r) or stat(summary, "simclr", r)]
    if len(ran) < 2:
        return [Verdict(claim, "not enough runs", "needs two batch sizes or more")]
    smallest = min(ran, key=float)
    return [
        greater(
            claim,
            stat(summary, "byol", smallest, "drop", f"BYOL drop at {smallest}"),
            stat(summary, "simclr", smallest, "drop", f"SimCLR drop at {smallest}"),
        )
    ]


@register_ablation
def batch_size() -> Ablation:
    return Ablation(
        name="batch_size",
        title="Batch size (emulated by gradient accumulation, as in the paper)",
        source=SOURCE,
        methods=("byol", "simclr"),
        rows=lambda preset: _rows(preset, emulate=True),
        paper=PAPER,
        x_label="batch size",
        claims=claims,
        plot="curve",
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
