"""CIFAR-10 and CIFAR-100 from torchvision's file layout (the authors' pickled batches)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ssl_bench.data import DatasetError, ImageData, _existing_dir, _tensors, register_dataset
from ssl_bench.data.fetch import download_hint
from ssl_bench.dataset_info import DATASET_INFO

_CIFAR = {
    # name: (folder, train files, test files, label key, classes, mean, std)
    # Statistics are the per-pixel mean/std of each train set.
    "cifar10": (
        "cifar-10-batches-py",
        [f"data_batch_{i}" for i in range(1, 6)],
        ["test_batch"],
        "labels",
        10,
        (0.4914, 0.4822, 0.4465),
        (0.2470, 0.2435, 0.2616),
    ),
    "cifar100": (
        "cifar-100-python",
        ["train"],
        ["test"],
        "fine_labels",
        100,
        (0.5071, 0.4865, 0.4409),
        (0.2673, 0.2564, 0.2762),
    ),
}


def _read_cifar_batches(name: str, files: list[Path], label_key: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for path in files:
        # The batches are pickles (as distributed by the CIFAR authors); like
        # torchvision we trust the user's data directory. Python 2 pickles give
        # bytes keys with encoding="bytes"; accept str keys too.
        with open(path, "rb") as f:
            entry = pickle.load(f, encoding="bytes")
        entry = {k.decode() if isinstance(k, bytes) else k: v for k, v in entry.items()}
        if "data" not in entry or label_key not in entry:
            raise DatasetError(f"{name}: {path} has no '{label_key}' or 'data' entry")
        data = np.asarray(entry["data"], dtype=np.uint8)
        y = np.asarray(entry[label_key], dtype=np.int64)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(y):
            got = f"data {list(data.shape)} and {len(y)} labels"
            raise DatasetError(f"{name}: {path} has {got}, expected data [N, 3072] and N labels")
        images.append(data.reshape(-1, 3, 32, 32))  # rows are channel-major planes of 32x32
        labels.append(y)
    return np.concatenate(images), np.concatenate(labels)


def _load_cifar(name: str, data_dir: str | None) -> ImageData:
    folder, train_files, test_files, label_key, num_classes, mean, std = _CIFAR[name]
    root = _existing_dir(name, data_dir)
    base = root / folder
    tv_class = name.upper()
    if not base.is_dir():
        raise DatasetError(f"{name} not found: expected {base}/ ({download_hint(tv_class, str(root))})")
    missing = [f for f in train_files + test_files if not (base / f).is_file()]
    if missing:
        raise DatasetError(
            f"{name} incomplete: {base}/ lacks {', '.join(missing)} ({download_hint(tv_class, str(root))})"
        )
    train_x, train_y = _read_cifar_batches(name, [base / f for f in train_files], label_key)
    test_x, test_y = _read_cifar_batches(name, [base / f for f in test_files], label_key)
    train_images, train_labels = _tensors(train_x, train_y)
    test_images, test_labels = _tensors(test_x, test_y)
    return ImageData(
        name=name,
        ssl_images=train_images,
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
        num_classes=num_classes,
        mean=mean,
        std=std,
        source=f"torchvision:{root}",
    )


@register_dataset("cifar10", DATASET_INFO["cifar10"])
def _load_cifar10(data_dir: str | None, image_size: int | None) -> ImageData:
    return _load_cifar("cifar10", data_dir)


@register_dataset("cifar100", DATASET_INFO["cifar100"])
def _load_cifar100(data_dir: str | None, image_size: int | None) -> ImageData:
    return _load_cifar("cifar100", data_dir)
