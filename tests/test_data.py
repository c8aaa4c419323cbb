"""Tests for ssl_bench.data: tiny on-disk fixtures in each dataset's real format."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ssl_bench import data as D
from ssl_bench.data import DatasetError, balanced_subset, list_datasets, load_dataset
from ssl_bench.data import fashion_mnist as FM
from ssl_bench.data import stl10 as STL

BUILTINS = ["cifar10", "cifar100", "fashion-mnist", "imagefolder", "stl10", "synthetic"]
DEBIAN_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]
debian_installed = all((FM.FASHION_MNIST_DEBIAN_DIR / f).is_file() for f in DEBIAN_FILES)


def one_line_error(excinfo: pytest.ExceptionInfo[DatasetError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


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


# --------------------------------------------------------------------------- imagefolder

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def stripes(width: int, height: int) -> Image.Image:
    """Red | green | blue thirds along the longer side."""
    img = Image.new("RGB", (width, height), GREEN)
    pixels = img.load()
    for x in range(width):
        for y in range(height):
            along = x / width if width >= height else y / height
            if along < 1 / 3:
                pixels[x, y] = RED
            elif along >= 2 / 3:
                pixels[x, y] = BLUE
    return img


def make_imagefolder(root: Path, test_split: str = "val") -> None:
    for split, cls, name, img in [
        ("train", "dog", "a.png", stripes(60, 20)),
        ("train", "dog", "b.jpeg", Image.new("RGB", (30, 30), (10, 20, 30))),
        ("train", "cat", "c.png", stripes(16, 48).convert("RGBA")),
        ("train", "ant", "d.png", Image.new("L", (9, 13), 77)),
        (test_split, "dog", "e.png", stripes(45, 15)),
        (test_split, "ant", "f.png", Image.new("RGB", (8, 8), BLUE)),
    ]:
        (root / split / cls).mkdir(parents=True, exist_ok=True)
        img.save(root / split / cls / name)
    (root / "train" / "dog" / "notes.txt").write_text("not an image")


def test_imagefolder(tmp_path: Path) -> None:
    make_imagefolder(tmp_path)
    ds = load_dataset("imagefolder", str(tmp_path), image_size=8)
    assert ds.num_classes == 3  # ant, cat, dog
    assert ds.train_images.shape == (4, 3, 8, 8) and ds.test_images.shape == (2, 3, 8, 8)
    assert ds.train_images.dtype == torch.uint8 and ds.ssl_images is ds.train_images
    # Sorted class folders (ant=0, cat=1, dog=2), files sorted within a class.
    assert ds.train_labels.tolist() == [0, 1, 2, 2]
    assert ds.test_labels.tolist() == [0, 2]  # val/ lacks cat: labels still follow train/
    assert ds.mean == (0.485, 0.456, 0.406) and ds.source == f"imagefolder:{tmp_path}"
    # Grayscale becomes RGB.
    assert (ds.train_images[0] == 77).all()
    # Resize the shorter side to 8, then center-crop: only the green middle third survives.
    for img in (ds.train_images[1], ds.train_images[2], ds.test_images[1]):
        assert (img[1] > 200).all() and (img[0] < 50).all() and (img[2] < 50).all()
    assert (ds.test_images[0, 2] == 255).all()
    jpeg = ds.train_images[3].float()
    assert torch.allclose(jpeg.mean(dim=(1, 2)), torch.tensor([10.0, 20.0, 30.0]), atol=3)


def test_imagefolder_default_size_and_test_dir(tmp_path: Path) -> None:
    make_imagefolder(tmp_path, test_split="test")
    ds = load_dataset("imagefolder", str(tmp_path))
    assert ds.train_images.shape == (4, 3, 64, 64) and ds.test_images.shape == (2, 3, 64, 64)
    sub = load_dataset("imagefolder", str(tmp_path), test_subset=2, image_size=4)
    assert sub.test_images.shape == (2, 3, 4, 4)


def test_imagefolder_errors(tmp_path: Path) -> None:
    (tmp_path / "train" / "a").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "train" / "a" / "x.png")
    with pytest.raises(DatasetError) as excinfo:
        load_dataset("imagefolder", str(tmp_path))
    message = one_line_error(excinfo)
    assert "train/<class>/" in message and "val/<class>/" in message

    (tmp_path / "val" / "zebra").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "val" / "zebra" / "y.png")
    with pytest.raises(DatasetError, match="not in train/: zebra"):
        load_dataset("imagefolder", str(tmp_path))

    (tmp_path / "val" / "zebra").rename(tmp_path / "val" / "a")
    (tmp_path / "val" / "a" / "y.png").write_bytes(b"not a png")
    with pytest.raises(DatasetError, match="cannot read image") as excinfo:
        load_dataset("imagefolder", str(tmp_path))
    one_line_error(excinfo)

    (tmp_path / "val" / "a" / "y.png").unlink()
    with pytest.raises(DatasetError, match="imagefolder:") as excinfo:  # empty class folder
        load_dataset("imagefolder", str(tmp_path))
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


def test_synthetic_data_has_cifar_shape_and_is_the_same_every_time() -> None:
    a = load_dataset("synthetic")
    assert tuple(a.ssl_images.shape) == (50_000, 3, 32, 32) and len(a.test_images) == 10_000
    assert a.source == "synthetic:uniform-noise" and a.num_classes == 10
    b = load_dataset("synthetic", image_size=16, test_subset=100)
    assert tuple(b.train_images.shape[1:]) == (3, 16, 16) and len(b.test_labels) == 100
    assert torch.equal(load_dataset("synthetic").ssl_images[:8], a.ssl_images[:8])
