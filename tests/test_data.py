"""Tests for ssl_bench.data: the dataset registry, balanced subsets and Fashion-MNIST
(embedded, Debian's copy, a --data-dir of IDX files), with tiny on-disk fixtures in the real
format. CIFAR, STL-10 and synthetic data are tested in tests/test_data_formats.py, image
folders in tests/test_data_imagefolder.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import one_line_error

from ssl_bench import data as D
from ssl_bench.data import DatasetError, balanced_subset, list_datasets, load_dataset
from ssl_bench.data import fashion_mnist as FM

BUILTINS = ["cifar10", "cifar100", "fashion-mnist", "imagefolder", "stl10", "synthetic"]
DEBIAN_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]
debian_installed = all((FM.FASHION_MNIST_DEBIAN_DIR / f).is_file() for f in DEBIAN_FILES)


# --------------------------------------------------------------------------- registry / balanced_subset


def test_list_datasets() -> None:
    assert list_datasets() == BUILTINS


def test_unknown_dataset_lists_choices() -> None:
    with pytest.raises(DatasetError) as excinfo:
        load_dataset("foo")
    assert one_line_error(excinfo) == (
        "unknown dataset 'foo'; choose one of: cifar10, cifar100, fashion-mnist, imagefolder, stl10, synthetic"
    )


def test_register_duplicate_raises() -> None:
    with pytest.raises(DatasetError, match="already registered"):
        D.register_dataset("cifar10")(lambda data_dir, image_size: None)  # type: ignore[arg-type,return-value]


def test_balanced_subset() -> None:
    labels = np.repeat(np.arange(4), [10, 7, 5, 12])
    idx = balanced_subset(labels, 12, seed=3)
    assert idx.dtype == np.int64
    assert np.all(np.diff(idx) > 0)  # sorted and unique
    assert np.bincount(labels[idx]).tolist() == [3, 3, 3, 3]
    np.testing.assert_array_equal(idx, balanced_subset(torch.from_numpy(labels), 12, seed=3))
    assert not np.array_equal(idx, balanced_subset(labels, 12, seed=4))


def test_balanced_subset_matches_documented_draw() -> None:
    # The embedded Fashion-MNIST file depends on this exact procedure.
    labels = np.array([1, 0, 1, 0, 1, 0, 2, 2, 2])
    rng = np.random.RandomState(7)
    expected = np.sort(np.concatenate([rng.choice(np.flatnonzero(labels == c), 2, replace=False) for c in range(3)]))
    np.testing.assert_array_equal(balanced_subset(labels, 6, seed=7), expected)


@pytest.mark.parametrize(
    ("n", "match"),
    [(10, "not divisible"), (0, "positive"), (40, "only 32"), (24, "class 2 has only 5")],
)
def test_balanced_subset_errors(n: int, match: str) -> None:
    labels = np.repeat(np.arange(4), [10, 7, 5, 10])
    with pytest.raises(DatasetError, match=match) as excinfo:
        balanced_subset(labels, n, seed=0)
    one_line_error(excinfo)


# --------------------------------------------------------------------------- fashion-mnist


@pytest.fixture
def no_debian(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(FM, "FASHION_MNIST_DEBIAN_DIR", tmp_path / "no-such-dir")


def test_fashion_mnist_embedded(no_debian: None) -> None:
    ds = load_dataset("fashion-mnist")
    assert ds.source == "embedded"
    assert ds.name == "fashion-mnist" and ds.num_classes == 10
    # The 10k train subset and the whole 10k test set.
    assert ds.train_images.shape == (10000, 1, 28, 28) and ds.test_images.shape == (10000, 1, 28, 28)
    assert ds.train_images.dtype == torch.uint8 and ds.train_labels.dtype == torch.int64
    assert torch.bincount(ds.train_labels).tolist() == [1000] * 10
    assert torch.bincount(ds.test_labels).tolist() == [1000] * 10
    assert ds.ssl_images is ds.train_images
    assert ds.mean == (0.2860,) and ds.std == (0.3530,)
    assert abs(ds.train_images.float().mean().item() / 255 - 0.2860) < 0.01

    # The canonical subset sizes: the embedded train images as they are, and the 2k test
    # subset drawn from the whole test set as from Debian's copy.
    same = load_dataset("fashion-mnist", train_subset=10000, test_subset=2000)
    assert torch.equal(same.train_images, ds.train_images)
    assert torch.equal(same.test_labels, ds.test_labels[balanced_subset(ds.test_labels, 2000, seed=1)])

    small = load_dataset("fashion-mnist", train_subset=100, test_subset=50)
    assert torch.bincount(small.train_labels).tolist() == [10] * 10
    assert small.ssl_images is small.train_images and len(small.test_labels) == 50


def test_fashion_mnist_embedded_too_large(no_debian: None) -> None:
    with pytest.raises(DatasetError) as excinfo:
        load_dataset("fashion-mnist", train_subset=20000)
    message = one_line_error(excinfo)
    assert "20000" in message and "10000" in message
    assert "apt-get install dataset-fashion-mnist" in message and "ssl-bench download fashion-mnist" in message
    with pytest.raises(DatasetError, match="only 10000 test images"):
        load_dataset("fashion-mnist", test_subset=20000)


def test_fashion_mnist_embedded_indices() -> None:
    with np.load(FM.FASHION_MNIST_EMBEDDED) as npz:
        assert sorted(npz.files) == sorted(
            ["train_images", "train_labels", "train_index", "test_images", "test_labels", "test_index"]
        )
        assert npz["train_images"].dtype == np.uint8 and npz["train_labels"].dtype == np.int64
        assert npz["train_index"].shape == (10000,) and npz["test_index"].shape == (10000,)
        assert np.all(np.diff(npz["train_index"]) > 0) and npz["train_index"].max() < 60000
        np.testing.assert_array_equal(npz["test_index"], np.arange(10000))  # the whole test set


@pytest.mark.skipif(not debian_installed, reason="Debian package dataset-fashion-mnist not installed")
def test_fashion_mnist_debian_matches_embedded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    full = load_dataset("fashion-mnist")
    assert full.source.startswith("debian:")
    assert full.train_images.shape == (60000, 1, 28, 28) and full.test_images.shape == (10000, 1, 28, 28)

    subsets = (
        {"train_subset": 10000},
        {"train_subset": 10000, "test_subset": 2000},
        {"train_subset": 100, "test_subset": 50},
    )
    sub = [load_dataset("fashion-mnist", **s) for s in subsets]
    monkeypatch.setattr(FM, "FASHION_MNIST_DEBIAN_DIR", tmp_path / "no-such-dir")
    emb = [load_dataset("fashion-mnist", **s) for s in subsets]
    assert all(e.source == "embedded" for e in emb)
    for a, b in zip(sub, emb, strict=True):
        for field in ("ssl_images", "train_images", "train_labels", "test_images", "test_labels"):
            assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert torch.equal(sub[0].test_images, full.test_images)  # the whole test set, embedded
    with np.load(FM.FASHION_MNIST_EMBEDDED) as npz:
        np.testing.assert_array_equal(npz["train_index"], balanced_subset(full.train_labels, 10000, seed=0))
        np.testing.assert_array_equal(npz["test_images"][:, 0], full.test_images[:, 0].numpy())


def write_idx(path: Path, array: np.ndarray) -> None:
    import gzip

    header = bytes((0, 0, 8, array.ndim)) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("layout", ["flat", "torchvision"])
def test_fashion_mnist_data_dir(no_debian: None, tmp_path: Path, layout: str) -> None:
    raw = tmp_path / "data" if layout == "flat" else tmp_path / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    train_x = rng.integers(0, 256, (20, 28, 28), dtype=np.uint8)
    test_x = rng.integers(0, 256, (10, 28, 28), dtype=np.uint8)
    write_idx(raw / DEBIAN_FILES[0], train_x)
    write_idx(raw / DEBIAN_FILES[1], np.arange(20) % 10)
    write_idx(raw / DEBIAN_FILES[2], test_x)
    write_idx(raw / DEBIAN_FILES[3], np.arange(10))
    ds = load_dataset("fashion-mnist", str(tmp_path / "data"))
    assert ds.source == ("dir:" if layout == "flat" else "torchvision:") + str(raw)
    assert torch.equal(ds.train_images[:, 0], torch.from_numpy(train_x))
    assert torch.equal(ds.test_images[:, 0], torch.from_numpy(test_x))
    assert ds.train_labels.tolist() == [i % 10 for i in range(20)]


def test_idx_files_are_decoded_once_and_again_when_they_change(tmp_path: Path) -> None:
    path = tmp_path / DEBIAN_FILES[1]
    write_idx(path, np.arange(20) % 10)
    first = FM._read_idx(path, 1)
    assert FM._read_idx(path, 1) is first, "the same unchanged file is decoded once"
    assert not first.flags.writeable, "a shared array no caller can change"
    write_idx(path, np.arange(30) % 7)  # rewritten: another size (and mtime)
    assert FM._read_idx(path, 1).tolist() == (np.arange(30) % 7).tolist()


def test_fashion_mnist_data_dir_without_files_falls_back(no_debian: None, tmp_path: Path) -> None:
    assert load_dataset("fashion-mnist", str(tmp_path)).source == "embedded"


def test_fashion_mnist_partial_data_dir(no_debian: None, tmp_path: Path) -> None:
    write_idx(tmp_path / DEBIAN_FILES[0], np.zeros((2, 28, 28)))
    with pytest.raises(DatasetError, match="only some of the four IDX files") as excinfo:
        load_dataset("fashion-mnist", str(tmp_path))
    one_line_error(excinfo)


@pytest.mark.skipif(
    not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists(),
    reason="Debian's dataset-fashion-mnist is not installed",
)
def test_small_fashion_mnist_subsets_are_the_same_with_or_without_the_full_set(monkeypatch):
    full = D.load_dataset("fashion-mnist", train_subset=200, test_subset=100)
    monkeypatch.setattr(FM, "FASHION_MNIST_DEBIAN_DIR", "/nonexistent")
    embedded = D.load_dataset("fashion-mnist", train_subset=200, test_subset=100)
    assert embedded.source == "embedded" and full.source.startswith("debian")
    assert torch.equal(full.train_images, embedded.train_images)
    assert torch.equal(full.test_labels, embedded.test_labels)
