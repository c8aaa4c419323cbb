"""STL-10 from its binary files, the 100,000 unlabelled images (when present) for self-
supervised training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ssl_bench.data import DatasetError, ImageData, _existing_dir, register_dataset
from ssl_bench.data.fetch import download_hint
from ssl_bench.dataset_info import DATASET_INFO

_STL_SHAPE = (3, 96, 96)
_STL_BYTES = 3 * 96 * 96
# Chunked reading keeps peak memory near the final tensor for the 2.8 GB unlabeled file.
_STL_CHUNK = 4096


def _read_stl_images(path: Path, out: torch.Tensor | None = None) -> torch.Tensor:
    size = path.stat().st_size
    if size % _STL_BYTES:
        raise DatasetError(f"stl10: {path} has {size} bytes, not a multiple of {_STL_BYTES} (3x96x96)")
    n = size // _STL_BYTES
    if out is None:
        out = torch.empty((n, *_STL_SHAPE), dtype=torch.uint8)
    with open(path, "rb") as f:
        for start in range(0, n, _STL_CHUNK):
            count = min(_STL_CHUNK, n - start)
            chunk = np.fromfile(f, np.uint8, count=count * _STL_BYTES).reshape(count, 3, 96, 96)
            # Files are column-major (MATLAB heritage): swap H and W while copying.
            out[start : start + count] = torch.from_numpy(chunk.transpose(0, 1, 3, 2))
    return out


def _read_stl_labels(path: Path, n: int) -> torch.Tensor:
    y = np.fromfile(path, np.uint8).astype(np.int64) - 1  # stored as 1..10
    if len(y) != n:
        raise DatasetError(f"stl10: {path} has {len(y)} labels for {n} images")
    return torch.from_numpy(y)


@register_dataset("stl10", DATASET_INFO["stl10"])
def _load_stl10(data_dir: str | None, image_size: int | None) -> ImageData:
    root = _existing_dir("stl10", data_dir)
    base = root / "stl10_binary"
    hint = download_hint("STL10", str(root))
    required = ["train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin"]
    if not base.is_dir():
        raise DatasetError(
            f"stl10 not found: expected {base}/ with {', '.join(required)} and optionally unlabeled_X.bin ({hint})"
        )
    missing = [f for f in required if not (base / f).is_file()]
    if missing:
        raise DatasetError(f"stl10 incomplete: {base}/ lacks {', '.join(missing)} ({hint})")

    train_images = _read_stl_images(base / "train_X.bin")
    train_labels = _read_stl_labels(base / "train_y.bin", len(train_images))
    test_images = _read_stl_images(base / "test_X.bin")
    test_labels = _read_stl_labels(base / "test_y.bin", len(test_images))

    unlabeled = base / "unlabeled_X.bin"
    source = f"torchvision:{root}"
    if unlabeled.is_file():
        n_unlabeled = unlabeled.stat().st_size // _STL_BYTES
        # Allocate unlabeled + train once and read straight into it, instead of
        # torch.cat doubling 2.8 GB.
        ssl_images = torch.empty((n_unlabeled + len(train_images), *_STL_SHAPE), dtype=torch.uint8)
        _read_stl_images(unlabeled, ssl_images[:n_unlabeled])
        ssl_images[n_unlabeled:] = train_images
    else:
        ssl_images = train_images.clone()
        source += " (no unlabeled_X.bin: ssl_images = train split only)"
    return ImageData(
        name="stl10",
        ssl_images=ssl_images,
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
        num_classes=10,
        mean=(0.4467, 0.4398, 0.4066),
        std=(0.2603, 0.2566, 0.2713),
        source=source,
    )
