"""Tests for ssl_bench.data's CIFAR-10/100 and STL-10 readers, on tiny files in each
dataset's real binary format: pixels, labels, subsets and the one-line errors for missing,
incomplete or corrupt files; that a --data-dir is required and must exist; and the
synthetic data set."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import one_line_error

from ssl_bench.data import DatasetError, load_dataset
from ssl_bench.data import stl10 as STL

# --------------------------------------------------------------------------- cifar


def pattern_images(n: int, seed: int) -> np.ndarray:
    """[n, 3072] rows; each image has a unique marker at channel 1, row 2, column 5."""
    rows = np.random.default_rng(seed).integers(0, 200, (n, 3072), dtype=np.uint8)
    rows[:, 1 * 1024 + 2 * 32 + 5] = 250
    return rows


def write_pickle(path: Path, obj: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f)


def make_cifar10(root: Path, per_batch: int = 4) -> tuple[np.ndarray, list[int], np.ndarray, list[int]]:
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True)
    train_rows, train_labels = [], []
    for b in range(1, 6):
        rows, labels = pattern_images(per_batch, b), [(b + i) % 10 for i in range(per_batch)]
        write_pickle(base / f"data_batch_{b}", {b"batch_label": b"x", b"data": rows, b"labels": labels})
        train_rows.append(rows)
        train_labels += labels
    test_rows, test_labels = pattern_images(6, 99), [9, 8, 7, 6, 5, 4]
    write_pickle(base / "test_batch", {b"data": test_rows, b"labels": test_labels})
    return np.concatenate(train_rows), train_labels, test_rows, test_labels


def test_cifar10(tmp_path: Path) -> None:
    train_rows, train_labels, test_rows, test_labels = make_cifar10(tmp_path)
    ds = load_dataset("cifar10", str(tmp_path))
    assert ds.train_images.shape == (20, 3, 32, 32) and ds.test_images.shape == (6, 3, 32, 32)
    assert ds.train_images.dtype == torch.uint8 and ds.train_labels.dtype == torch.int64
    assert ds.train_labels.tolist() == train_labels and ds.test_labels.tolist() == test_labels
    assert ds.num_classes == 10 and len(ds.mean) == len(ds.std) == 3
    assert ds.ssl_images is ds.train_images
    assert ds.source == f"torchvision:{tmp_path}"
    # Rows are R plane, G plane, B plane, each row-major 32x32.
    assert (ds.train_images[:, 1, 2, 5] == 250).all() and (ds.train_images[:, 1, 5, 2] < 200).all()
    assert ds.train_images[7, 0, 31, 0].item() == train_rows[7, 31 * 32]
    assert ds.test_images[3, 2, 0, 31].item() == test_rows[3, 2 * 1024 + 31]
    np.testing.assert_array_equal(ds.train_images.reshape(20, -1).numpy(), train_rows)


def test_cifar10_subset(tmp_path: Path) -> None:
    make_cifar10(tmp_path, per_batch=10)  # 50 train images, 5 per class
    ds = load_dataset("cifar10", str(tmp_path), train_subset=20, test_subset=6)
    assert torch.bincount(ds.train_labels).tolist() == [2] * 10
    assert ds.ssl_images is ds.train_images and len(ds.test_labels) == 6
    with pytest.raises(DatasetError) as excinfo:
        load_dataset("cifar10", str(tmp_path), train_subset=60)
    message = one_line_error(excinfo)
    assert "60" in message and "50" in message
    with pytest.raises(DatasetError, match="not divisible"):
        load_dataset("cifar10", str(tmp_path), train_subset=15)


def test_cifar100(tmp_path: Path) -> None:
    base = tmp_path / "cifar-100-python"
    base.mkdir()
    train_rows, test_rows = pattern_images(5, 1), pattern_images(3, 2)
    write_pickle(base / "train", {b"data": train_rows, b"fine_labels": [99, 0, 42, 7, 3], b"coarse_labels": [0] * 5})
    write_pickle(base / "test", {b"data": test_rows, b"fine_labels": [1, 2, 3], b"coarse_labels": [0] * 3})
    ds = load_dataset("cifar100", str(tmp_path))
    assert ds.num_classes == 100
    assert ds.train_labels.tolist() == [99, 0, 42, 7, 3] and ds.test_labels.tolist() == [1, 2, 3]
    assert ds.train_images.shape == (5, 3, 32, 32) and ds.test_images.shape == (3, 3, 32, 32)
    np.testing.assert_array_equal(ds.test_images.reshape(3, -1).numpy(), test_rows)
    assert ds.mean == (0.5071, 0.4865, 0.4409) and ds.std == (0.2673, 0.2564, 0.2762)


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "stl10", "imagefolder"])
def test_data_dir_required_and_must_exist(name: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as excinfo:
        load_dataset(name)
    assert "--data-dir" in one_line_error(excinfo)
    missing = tmp_path / "nope"
    with pytest.raises(DatasetError) as excinfo:
        load_dataset(name, str(missing))
    assert str(missing) in one_line_error(excinfo) and "does not exist" in str(excinfo.value)


@pytest.mark.parametrize(
    ("name", "folder", "tv"),
    [("cifar10", "cifar-10-batches-py", "CIFAR10"), ("cifar100", "cifar-100-python", "CIFAR100")],
)
def test_cifar_not_found(tmp_path: Path, name: str, folder: str, tv: str) -> None:
    with pytest.raises(DatasetError) as excinfo:
        load_dataset(name, str(tmp_path))
    assert one_line_error(excinfo) == (
        f"{name} not found: expected {tmp_path}/{folder}/ (download once with: ssl-bench download {name} "
        f"--data-dir {tmp_path})"
    )


def test_cifar_incomplete(tmp_path: Path) -> None:
    make_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetError, match="lacks data_batch_3") as excinfo:
        load_dataset("cifar10", str(tmp_path))
    assert "ssl-bench download cifar10" in one_line_error(excinfo)


def test_cifar_corrupt_batch(tmp_path: Path) -> None:
    make_cifar10(tmp_path)
    write_pickle(
        tmp_path / "cifar-10-batches-py" / "test_batch",
        {b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]},
    )
    with pytest.raises(DatasetError, match="expected data") as excinfo:
        load_dataset("cifar10", str(tmp_path))
    one_line_error(excinfo)


# --------------------------------------------------------------------------- stl10


def write_stl(path: Path, images: np.ndarray) -> None:
    # The binary files are column-major: W and H swapped relative to [C, H, W].
    path.write_bytes(np.ascontiguousarray(images.transpose(0, 1, 3, 2)).tobytes())


def make_stl(root: Path, unlabeled: int | None) -> dict[str, np.ndarray]:
    base = root / "stl10_binary"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = {
        "train": rng.integers(0, 200, (20, 3, 96, 96), dtype=np.uint8),
        "test": rng.integers(0, 200, (10, 3, 96, 96), dtype=np.uint8),
        "train_y": np.arange(20) % 10,
        "test_y": np.arange(10)[::-1].copy(),
    }
    arrays["train"][:, 2, 10, 70] = 255  # asymmetric marker: row 10, column 70
    write_stl(base / "train_X.bin", arrays["train"])
    write_stl(base / "test_X.bin", arrays["test"])
    (base / "train_y.bin").write_bytes((arrays["train_y"] + 1).astype(np.uint8).tobytes())
    (base / "test_y.bin").write_bytes((arrays["test_y"] + 1).astype(np.uint8).tobytes())
    if unlabeled is not None:
        arrays["unlabeled"] = rng.integers(0, 256, (unlabeled, 3, 96, 96), dtype=np.uint8)
        write_stl(base / "unlabeled_X.bin", arrays["unlabeled"])
    return arrays


def test_stl10_with_unlabeled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(STL, "_STL_CHUNK", 3)  # exercise the chunked reader on a tiny file
    arrays = make_stl(tmp_path, unlabeled=7)
    ds = load_dataset("stl10", str(tmp_path))
    assert ds.source == f"torchvision:{tmp_path}"
    assert ds.ssl_images.shape == (27, 3, 96, 96) and ds.train_images.shape == (20, 3, 96, 96)
    assert ds.test_images.shape == (10, 3, 96, 96) and ds.num_classes == 10
    assert torch.equal(ds.ssl_images[:7], torch.from_numpy(arrays["unlabeled"]))
    assert torch.equal(ds.ssl_images[7:], ds.train_images)
    assert torch.equal(ds.train_images, torch.from_numpy(arrays["train"]))
    assert torch.equal(ds.test_images, torch.from_numpy(arrays["test"]))
    assert (ds.train_images[:, 2, 10, 70] == 255).all()
    assert ds.train_labels.tolist() == arrays["train_y"].tolist()
    assert ds.test_labels.tolist() == arrays["test_y"].tolist()
    assert ds.train_labels.dtype == torch.int64

    # Subsets apply to the labelled splits only; SSL keeps unlabeled + train.
    sub = load_dataset("stl10", str(tmp_path), train_subset=10, test_subset=10)
    assert len(sub.train_labels) == 10 and torch.bincount(sub.train_labels).tolist() == [1] * 10
    assert sub.ssl_images.shape[0] == 27


def test_stl10_without_unlabeled(tmp_path: Path) -> None:
    arrays = make_stl(tmp_path, unlabeled=None)
    ds = load_dataset("stl10", str(tmp_path))
    assert "no unlabeled_X.bin" in ds.source
    assert torch.equal(ds.ssl_images, torch.from_numpy(arrays["train"]))


def test_stl10_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as excinfo:
        load_dataset("stl10", str(tmp_path))
    message = one_line_error(excinfo)
    assert f"{tmp_path}/stl10_binary/" in message and "train_X.bin" in message
    assert "ssl-bench download stl10" in message

    make_stl(tmp_path, unlabeled=None)
    (tmp_path / "stl10_binary" / "test_y.bin").unlink()
    with pytest.raises(DatasetError, match="lacks test_y.bin"):
        load_dataset("stl10", str(tmp_path))
    (tmp_path / "stl10_binary" / "test_y.bin").write_bytes(bytes(3))
    with pytest.raises(DatasetError, match="3 labels for 10 images"):
        load_dataset("stl10", str(tmp_path))
    (tmp_path / "stl10_binary" / "test_X.bin").write_bytes(bytes(100))
    with pytest.raises(DatasetError, match="not a multiple"):
        load_dataset("stl10", str(tmp_path))


# --------------------------------------------------------------------------- synthetic


def test_synthetic_data_has_cifar_shape_and_is_the_same_every_time() -> None:
    a = load_dataset("synthetic")
    assert tuple(a.ssl_images.shape) == (50_000, 3, 32, 32) and len(a.test_images) == 10_000
    assert a.source == "synthetic:uniform-noise" and a.num_classes == 10
    b = load_dataset("synthetic", image_size=16, test_subset=100)
    assert tuple(b.train_images.shape[1:]) == (3, 16, 16) and len(b.test_labels) == 100
    assert torch.equal(load_dataset("synthetic").ssl_images[:8], a.ssl_images[:8])
