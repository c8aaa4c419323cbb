"""Dataset registry: whole image datasets loaded into memory as uint8 tensors.

The training loop keeps every image on the device and augments in batches, so a
loader's job is only to produce ``uint8 [N, C, H, W]`` tensors plus labels, as
fast as possible and without touching the network. Every failure a user can
cause (wrong name, missing directory, half-downloaded files) is reported as a
one-line :class:`DatasetError` that a CLI can print as-is.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ssl_bench.spec import DatasetError  # raised here; defined without torch for the CLI

__all__ = [
    "DatasetError",
    "ImageData",
    "ImageFiles",
    "balanced_subset",
    "list_datasets",
    "load_dataset",
    "read_fashion_mnist_idx",
    "register_dataset",
]


@dataclass(frozen=True)
class ImageData:
    name: str
    ssl_images: torch.Tensor  # uint8 [N, C, H, W], images for self-supervised training
    train_images: torch.Tensor  # uint8 [N, C, H, W], labelled train split
    train_labels: torch.Tensor  # int64 [N]
    test_images: torch.Tensor  # uint8 [N, C, H, W]
    test_labels: torch.Tensor  # int64 [N]
    num_classes: int
    mean: tuple[float, ...]  # per channel, in [0, 1] units
    std: tuple[float, ...]
    source: str

    def __post_init__(self) -> None:
        # Cheap shape/dtype checks so that a broken (possibly third-party) loader
        # fails here rather than deep inside a training step on the GPU.
        channels = self.train_images.shape[1] if self.train_images.dim() == 4 else None
        for field in ("ssl_images", "train_images", "test_images"):
            t = getattr(self, field)
            if t.dtype != torch.uint8 or t.dim() != 4 or t.shape[1] != channels:
                got = f"{t.dtype} {list(t.shape)}"
                raise ValueError(f"{self.name}: {field} must be uint8 [N, {channels}, H, W], got {got}")
        for images, field in ((self.train_images, "train_labels"), (self.test_images, "test_labels")):
            t = getattr(self, field)
            if t.dtype != torch.int64 or t.dim() != 1 or len(t) != len(images):
                got = f"{t.dtype} {list(t.shape)}"
                raise ValueError(f"{self.name}: {field} must be int64 [{len(images)}], got {got}")
        if not (len(self.mean) == len(self.std) == channels):
            got = f"{len(self.mean)}/{len(self.std)}"
            raise ValueError(f"{self.name}: mean/std need {channels} values each, got {got}")


Loader = Callable[[str | None, int | None], ImageData]
# Loaders that also take stream=True (a set too large to decode up front).
STREAMABLE = ("imagefolder",)
_REGISTRY: dict[str, Loader] = {}


def register_dataset(name: str) -> Callable[[Loader], Loader]:
    """Decorator registering ``fn(data_dir, image_size) -> ImageData`` under ``name``."""

    def decorate(fn: Loader) -> Loader:
        if name in _REGISTRY:
            raise DatasetError(f"dataset '{name}' is already registered")
        _REGISTRY[name] = fn
        return fn

    return decorate


def list_datasets() -> list[str]:
    return sorted(_REGISTRY)


def balanced_subset(labels: np.ndarray | torch.Tensor, n: int, seed: int) -> np.ndarray:
    """Sorted indices of ``n`` examples, ``n / num_classes`` from each class.

    The draw (RandomState(seed).choice per class, classes in ascending order) is
    part of the on-disk contract: the embedded Fashion-MNIST subset was made with
    it, so changing it breaks bit-identity with the full set.
    """
    labels = labels.cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    classes = np.unique(labels)
    if n <= 0:
        raise DatasetError(f"subset size must be positive, got {n}")
    if n > len(labels):
        raise DatasetError(f"subset of {n} requested but only {len(labels)} examples are available")
    if n % len(classes):
        raise DatasetError(f"subset size {n} is not divisible by the number of classes ({len(classes)})")
    per_class = n // len(classes)
    rng = np.random.RandomState(seed)
    chosen = []
    for c in classes:
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise DatasetError(
                f"subset of {n} needs {per_class} examples per class but class {c} has only {len(members)}"
            )
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


# Datasets whose subsets nest inside a canonical subset: (train, test) sizes.
_CANONICAL_SUBSETS = {"fashion-mnist": (10000, 2000)}


def load_dataset(
    name: str,
    data_dir: str | None = None,
    *,
    train_subset: int | None = None,
    test_subset: int | None = None,
    image_size: int | None = None,
    stream: bool = False,
) -> ImageData:
    """Load a registered dataset, optionally keeping a class-balanced subset.

    ``stream`` (imagefolder only) lists the files instead of decoding them: the images
    are then `ImageFiles`, decoded by DataLoader workers while training.

    ``train_subset`` draws ``balanced_subset(train_labels, n, seed=0)`` and
    ``test_subset`` ``balanced_subset(test_labels, n, seed=1)``. Where the SSL
    images are the labelled train images (all built-ins except stl10) they get
    the same subset.
    """
    key = name.strip().lower().replace("_", "-")
    if key not in _REGISTRY:
        raise DatasetError(f"unknown dataset '{name}'; choose one of: {', '.join(list_datasets())}")
    if stream and key not in STREAMABLE:
        raise DatasetError(
            f"data.stream=true: {key} is loaded into memory whole; streaming is for {', '.join(STREAMABLE)}"
        )
    data = _REGISTRY[key](data_dir, image_size, stream=True) if stream else _REGISTRY[key](data_dir, image_size)

    def hint() -> str:
        # The embedded Fashion-MNIST subset is small on purpose; tell the user
        # how to get the real thing instead of only saying "too large".
        if data.source != "embedded":
            return ""
        return (
            " (only the embedded subset is available; for the full set: apt-get install"
            " dataset-fashion-mnist, or ssl-bench download fashion-mnist --data-dir DIR"
            " and pass --data-dir root)"
        )

    ssl, train_x, train_y = data.ssl_images, data.train_images, data.train_labels
    test_x, test_y = data.test_images, data.test_labels
    canonical = _CANONICAL_SUBSETS.get(key)
    if canonical is not None:
        # Smaller subsets are drawn from inside the canonical (embedded) one, so a run
        # sees the same images whether the full set is installed or not.
        n_train, n_test = canonical
        if train_subset is not None and train_subset <= n_train < len(train_y):
            shared = ssl is train_x
            idx = balanced_subset(train_y, n_train, seed=0)
            train_x, train_y = train_x[idx], train_y[idx]
            ssl = train_x if shared else ssl
        if test_subset is not None and test_subset <= n_test < len(test_y):
            idx = balanced_subset(test_y, n_test, seed=1)
            test_x, test_y = test_x[idx], test_y[idx]
    if train_subset is not None:
        if train_subset > len(train_y):
            raise DatasetError(
                f"{key}: train_subset={train_subset} requested but only {len(train_y)} train images{hint()}"
            )
        idx = balanced_subset(train_y, train_subset, seed=0)
        if len(idx) < len(train_y):  # sorted unique indices of full length are the identity
            shared = ssl is train_x
            train_x, train_y = train_x[idx], train_y[idx]
            ssl = train_x if shared else ssl
    if test_subset is not None:
        if test_subset > len(test_y):
            raise DatasetError(f"{key}: test_subset={test_subset} requested but only {len(test_y)} test images{hint()}")
        idx = balanced_subset(test_y, test_subset, seed=1)
        if len(idx) < len(test_y):
            test_x, test_y = test_x[idx], test_y[idx]
    return ImageData(
        name=data.name,
        ssl_images=ssl,
        train_images=train_x,
        train_labels=train_y,
        test_images=test_x,
        test_labels=test_y,
        num_classes=data.num_classes,
        mean=data.mean,
        std=data.std,
        source=data.source,
    )


def _existing_dir(name: str, data_dir: str | None) -> Path:
    """The data directory of a dataset that cannot work without one."""
    if data_dir is None:
        raise DatasetError(f"{name} needs --data-dir (the directory holding the downloaded dataset)")
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise DatasetError(f"{name}: data directory '{data_dir}' does not exist")
    return path


def _tensors(x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    # Always copy: np.frombuffer views are read-only and npz/pickle arrays may alias file buffers.
    return torch.from_numpy(np.array(x, dtype=np.uint8, order="C")), torch.from_numpy(y.astype(np.int64))


# --------------------------------------------------------------------------- fashion-mnist

FASHION_MNIST_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_EMBEDDED = Path(__file__).resolve().parent / "data_files" / "fashion_mnist_subset.npz"
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


@register_dataset("fashion-mnist")
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


# --------------------------------------------------------------------------- cifar

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


# torchvision classes that can fetch each dataset (used only by `ssl-bench download`).
_TORCHVISION_CLASSES = {"fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10", "cifar100": "CIFAR100", "stl10": "STL10"}


def _download_hint(tv_class: str, data_dir: str) -> str:
    name = {v: k for k, v in _TORCHVISION_CLASSES.items()}[tv_class]
    return f"download once with: ssl-bench download {name} --data-dir {data_dir}"


def downloadable() -> list[str]:
    return sorted(_TORCHVISION_CLASSES)


def download(name: str, data_dir: str) -> Path:
    """Fetch a dataset into `data_dir` with torchvision (needs network access). Loading
    never downloads: this is the one explicit step that does."""
    import torchvision

    if name not in _TORCHVISION_CLASSES:
        raise DatasetError(f"cannot download {name!r}; choose one of: {', '.join(downloadable())}")
    root = Path(data_dir).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    cls = getattr(torchvision.datasets, _TORCHVISION_CLASSES[name])
    try:
        if name == "stl10":
            cls(str(root), split="train+unlabeled", download=True)
            cls(str(root), split="test", download=True)
        else:
            cls(str(root), train=True, download=True)
            cls(str(root), train=False, download=True)
    except Exception as err:  # network errors come in many types
        raise DatasetError(f"downloading {name} into {root} failed: {type(err).__name__}: {err}") from None
    return root


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
        raise DatasetError(f"{name} not found: expected {base}/ ({_download_hint(tv_class, str(root))})")
    missing = [f for f in train_files + test_files if not (base / f).is_file()]
    if missing:
        raise DatasetError(
            f"{name} incomplete: {base}/ lacks {', '.join(missing)} ({_download_hint(tv_class, str(root))})"
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


@register_dataset("cifar10")
def _load_cifar10(data_dir: str | None, image_size: int | None) -> ImageData:
    return _load_cifar("cifar10", data_dir)


@register_dataset("cifar100")
def _load_cifar100(data_dir: str | None, image_size: int | None) -> ImageData:
    return _load_cifar("cifar100", data_dir)


# --------------------------------------------------------------------------- stl10

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


@register_dataset("stl10")
def _load_stl10(data_dir: str | None, image_size: int | None) -> ImageData:
    root = _existing_dir("stl10", data_dir)
    base = root / "stl10_binary"
    hint = _download_hint("STL10", str(root))
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


# --------------------------------------------------------------------------- imagefolder

_IMAGEFOLDER_DEFAULT_SIZE = 64


def _read_image(path: str, size: int) -> torch.Tensor:
    from PIL import Image, UnidentifiedImageError
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    try:
        with Image.open(path) as img:
            # For JPEGs, decode directly at a reduced scale that still covers
            # `size` on both sides: a large speed-up on ImageNet-sized photos.
            img.draft("RGB", (size, size))
            img = img.convert("RGB")
    except (UnidentifiedImageError, OSError) as e:
        raise DatasetError(f"imagefolder: cannot read image {path}: {e}") from e
    # Same semantics as torchvision's Resize(size) + CenterCrop(size).
    img = TF.center_crop(TF.resize(img, size, interpolation=InterpolationMode.BILINEAR), [size, size])
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)


class ImageFiles(torch.utils.data.Dataset):
    """Images decoded from their files on demand, for sets too large to hold in memory.

    It stands where a uint8 [N, 3, size, size] tensor would: `len`, `shape`, `dtype` and
    indexing by an index array (a subset, still lazy) behave alike, and item i decodes
    exactly the pixels the in-memory loader stores, so a streamed run equals a loaded one.
    DataLoader workers call `__getitem__`; `ssl_bench.batches` feeds them.
    """

    dtype = torch.uint8

    def __init__(self, paths: list[str], size: int) -> None:
        self.paths = list(paths)
        self.size = size

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.paths), 3, self.size, self.size)

    def dim(self) -> int:
        return 4

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return _read_image(self.paths[index], self.size)
        if isinstance(index, slice):
            return ImageFiles(self.paths[index], self.size)
        return ImageFiles([self.paths[int(i)] for i in index], self.size)


def _read_split(
    split_dir: Path, class_to_idx: dict[str, int], size: int, stream: bool = False
) -> tuple[torch.Tensor | ImageFiles, torch.Tensor]:
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    try:
        classes, _ = find_classes(str(split_dir))
    except FileNotFoundError as e:
        raise DatasetError(f"imagefolder: {split_dir} has no class folders ({e})") from e
    unknown = sorted(set(classes) - set(class_to_idx))
    if unknown:
        raise DatasetError(f"imagefolder: classes in {split_dir} not in train/: {', '.join(unknown[:5])}")
    # Map the split's own folders with train's indices so that a val/ missing
    # a class still gets the right labels.
    try:
        samples = make_dataset(str(split_dir), {c: class_to_idx[c] for c in classes}, extensions=IMG_EXTENSIONS)
    except FileNotFoundError as e:
        raise DatasetError(f"imagefolder: {split_dir}: {e}") from e
    labels = torch.tensor([label for _, label in samples], dtype=torch.int64)
    if stream:
        return ImageFiles([path for path, _ in samples], size), labels
    images = torch.empty((len(samples), 3, size, size), dtype=torch.uint8)
    for i, (path, _) in enumerate(samples):
        images[i] = _read_image(path, size)
    return images, labels


@register_dataset("imagefolder")
def _load_imagefolder(data_dir: str | None, image_size: int | None, stream: bool = False) -> ImageData:
    from torchvision.datasets.folder import find_classes

    root = _existing_dir("imagefolder", data_dir)
    size = _IMAGEFOLDER_DEFAULT_SIZE if image_size is None else image_size
    if size <= 0:
        raise DatasetError(f"imagefolder: image_size must be positive, got {size}")
    layout = f"expected {root}/train/<class>/*.jpg and {root}/val/<class>/*.jpg (or test/)"
    train_dir = root / "train"
    test_dir = next((root / d for d in ("val", "test") if (root / d).is_dir()), None)
    if not train_dir.is_dir() or test_dir is None:
        raise DatasetError(f"imagefolder: {layout}")
    try:
        classes, class_to_idx = find_classes(str(train_dir))
    except FileNotFoundError as e:
        raise DatasetError(f"imagefolder: {train_dir} has no class folders; {layout}") from e
    train_images, train_labels = _read_split(train_dir, class_to_idx, size, stream)
    test_images, test_labels = _read_split(test_dir, class_to_idx, size, stream)
    return ImageData(
        name="imagefolder",
        ssl_images=train_images,
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
        num_classes=len(classes),
        # ImageNet statistics: the usual choice for natural photos of unknown origin.
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        source=f"imagefolder:{root}",
    )


# --------------------------------------------------------------------------- synthetic


@register_dataset("synthetic")
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
