"""Noise in CIFAR-10's shape: throughput without data."""

from __future__ import annotations

import torch

from ssl_bench.data import DatasetError, ImageData, register_dataset
from ssl_bench.dataset_info import DATASET_INFO


@register_dataset("synthetic", DATASET_INFO["synthetic"])
def _load_synthetic(data_dir: str | None, image_size: int | None) -> ImageData:
    """Uniform-noise uint8 images in CIFAR-10's shape (50,000 + 10,000 images, 3×32×32,
    10 classes), or at `data.image_size`. For throughput on machines without real data:
    a step costs the same on noise as on photos, but its accuracy means nothing."""
    size = image_size or 32
    if size < 1:
        raise DatasetError(f"synthetic: image_size must be positive, got {size}")
    # Large images: fewer of them, so the set stays under ~2 GB of host memory.
    n_train = min(50_000, max(1_000, (2 * 2**30) // (3 * size * size) // 1_000 * 1_000))
    n_test = n_train // 5
    g = torch.Generator().manual_seed(0)
    train = torch.randint(0, 256, (n_train, 3, size, size), generator=g, dtype=torch.uint8)
    test = torch.randint(0, 256, (n_test, 3, size, size), generator=g, dtype=torch.uint8)
    return ImageData(
        name="synthetic",
        ssl_images=train,
        train_images=train,
        train_labels=torch.arange(n_train, dtype=torch.int64) % 10,
        test_images=test,
        test_labels=torch.arange(n_test, dtype=torch.int64) % 10,
        num_classes=10,
        mean=(0.5, 0.5, 0.5),
        std=(0.29, 0.29, 0.29),
        source="synthetic:uniform-noise",
    )
