"""Fashion-MNIST: the user's IDX files, Debian's package, or the subset shipped inside ssl-
bench (offline first, never downloaded here).
"""

from __future__ import annotations

import functools
import gzip
import struct
from pathlib import Path

import numpy as np

from ssl_bench.data import DatasetError, ImageData, _tensors, register_dataset
from ssl_bench.dataset_info import DATASET_INFO

FASHION_MNIST_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_EMBEDDED = Path(__file__).resolve().parent.parent / "data_files" / "fashion_mnist_subset.npz"
_FASHION_MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
# Published statistics of the 60k train images (kept fixed so that the embedded
# subset and the full set normalise identically).
_FASHION_MNIST_MEAN, _FASHION_MNIST_STD = (0.2860,), (0.3530,)


def _idx_file(directory: Path, stem: str) -> Path | None:
    # torchvision keeps both the .gz and the extracted file; either will do.
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    return None


def _read_idx(path: Path, ndim: int) -> np.ndarray:
    """The file's array, read-only. Decoded once per process while the file is unchanged: a
    local sweep loads its data once a run, and gunzipping 60,000 images is about half a
    second each time on a 2-core CPU, more than a smoke run's training."""
    stat = path.stat()
    return _read_idx_once(str(path.resolve()), ndim, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)  # the four files of one copy of the dataset, twice over
def _read_idx_once(path_name: str, ndim: int, size: int, mtime_ns: int) -> np.ndarray:
    path = Path(path_name)
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    header = 4 + 4 * ndim  # magic (0x00 0x00 dtype=0x08 ndim) then one big-endian uint32 per dimension
    if len(raw) < header or raw[:4] != bytes((0, 0, 8, ndim)):
        raise DatasetError(f"{path} is not a uint8 IDX file with {ndim} dimension(s)")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    data = np.frombuffer(raw, np.uint8, offset=header)
    if data.size != int(np.prod(shape)):
        raise DatasetError(f"{path} is truncated: header says {shape}, found {data.size} bytes of data")
    return data.reshape(shape)


def read_fashion_mnist_idx(directory: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x [60000,1,28,28], train_y, test_x [10000,1,28,28], test_y) from the four IDX files."""
    paths = [_idx_file(directory, stem) for stem in _FASHION_MNIST_FILES]
    missing = [stem for stem, p in zip(_FASHION_MNIST_FILES, paths, strict=True) if p is None]
    if missing:
        raise DatasetError(f"fashion-mnist: {directory} lacks {', '.join(m + '.gz' for m in missing)}")
    train_x, train_y, test_x, test_y = (
        _read_idx(p, nd) for p, nd in zip(paths, (3, 1, 3, 1), strict=True) if p is not None
    )
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise DatasetError(f"fashion-mnist: image and label counts differ in {directory}")
    return train_x[:, None], train_y, test_x[:, None], test_y


def _fashion_mnist_dir_in(data_dir: str) -> Path | None:
    """Where under ``data_dir`` the IDX files are, if anywhere."""
    root = Path(data_dir).expanduser()
    for candidate in (root, root / "FashionMNIST" / "raw"):
        found = [_idx_file(candidate, stem) is not None for stem in _FASHION_MNIST_FILES]
        if all(found):
            return candidate
        if any(found):
            # Half a download is almost certainly a mistake worth stopping for,
            # unlike a --data-dir that simply holds other datasets.
            raise DatasetError(f"fashion-mnist: {candidate} holds only some of the four IDX files")
    return None


def _fashion_mnist_image_data(
    train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, source: str
) -> ImageData:
    train_images, train_labels = _tensors(train_x, train_y)
    test_images, test_labels = _tensors(test_x, test_y)
    return ImageData(
        name="fashion-mnist",
        ssl_images=train_images,
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
        num_classes=10,
        mean=_FASHION_MNIST_MEAN,
        std=_FASHION_MNIST_STD,
        source=source,
    )


@register_dataset("fashion-mnist", DATASET_INFO["fashion-mnist"])
def _load_fashion_mnist(data_dir: str | None, image_size: int | None) -> ImageData:
    # Offline-first: the user's directory, then Debian's package, then the
    # subset shipped inside this package. Never download from here.
    if data_dir is not None:
        found = _fashion_mnist_dir_in(data_dir)
        if found is not None:
            kind = "torchvision" if found.name == "raw" else "dir"
            return _fashion_mnist_image_data(*read_fashion_mnist_idx(found), source=f"{kind}:{found}")
    debian = Path(FASHION_MNIST_DEBIAN_DIR)
    if all(_idx_file(debian, stem) is not None for stem in _FASHION_MNIST_FILES):
        return _fashion_mnist_image_data(*read_fashion_mnist_idx(debian), source=f"debian:{debian}")
    embedded = Path(FASHION_MNIST_EMBEDDED)
    if not embedded.is_file():
        raise DatasetError(
            f"fashion-mnist: embedded subset {embedded} is missing (broken install?); "
            f"apt-get install dataset-fashion-mnist, or pass --data-dir with the IDX files"
        )
    with np.load(embedded) as npz:
        arrays = [npz[k] for k in ("train_images", "train_labels", "test_images", "test_labels")]
    return _fashion_mnist_image_data(*arrays, source="embedded")
