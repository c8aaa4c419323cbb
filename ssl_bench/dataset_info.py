"""What configs and ablations need to know about a dataset without loading it (or torch):
its channels and whether it can be streamed from disk.

The augmentation ablation drops its colour-only rows for grey data by this table, not by
a preset's name. A third-party dataset registers its info with `register_dataset(name,
info)`; one without is taken as colour, not streamable.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DatasetInfo:
    channels: int = 3
    streamable: bool = False  # loads with data.stream=true (files decoded while training)


DATASET_INFO: dict[str, DatasetInfo] = {
    "fashion-mnist": DatasetInfo(channels=1),
    "cifar10": DatasetInfo(),
    "cifar100": DatasetInfo(),
    "stl10": DatasetInfo(),
    "imagefolder": DatasetInfo(streamable=True),
    "synthetic": DatasetInfo(),
}


def channels_of(dataset: str) -> int:
    """The dataset's channel count (3 for a dataset without registered info)."""
    return DATASET_INFO.get(dataset, DatasetInfo()).channels


def whole_images_need_files(dataset: str) -> str:
    """The one-line refusal of data.crop_source=full for a dataset held as arrays."""
    files = ", ".join(n for n, info in DATASET_INFO.items() if info.streamable)
    return (
        f"data.crop_source=full: {dataset} is stored as arrays of one size; crops from whole "
        f"decoded images need image files ({files})"
    )
