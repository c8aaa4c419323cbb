"""Datasets: whole image sets as uint8 tensors (or files streamed from disk), by name.

The training loop keeps every image on the device and augments in batches, so a loader's
job is only to produce ``uint8 [N, C, H, W]`` tensors plus labels, as fast as possible
and without touching the network. Every failure a user can cause (wrong name, missing
directory, half-downloaded files) is a one-line :class:`DatasetError` a CLI prints as is.

One module per loader family (fashion_mnist, cifar, stl10, imagefolder, synthetic), each
registering its loaders here. Third-party packages add datasets through the entry-point
group ``ssl_bench.datasets`` (a loader ``fn(data_dir, image_size) -> ImageData``), found
on the first lookup that misses; what the configs need to know without loading
(channels, streaming) is `ssl_bench.dataset_info`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import torch

from ssl_bench.data.subsets import balanced_subset
from ssl_bench.dataset_info import DATASET_INFO, DatasetInfo, whole_images_need_files
from ssl_bench.spec import DatasetError  # raised here; defined without torch for the CLI

__all__ = [
    "DatasetError",
    "ImageData",
    "ImageFiles",
    "balanced_subset",
    "download",
    "list_datasets",
    "load_dataset",
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
    # Files found but not decodable, skipped (an unlabelled folder's), for the record.
    skipped_files: tuple[str, ...] = ()
    # Why the encoder cannot be scored (no labelled images), or None when it can.
    no_evaluation: str | None = None

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


Loader = Callable[..., ImageData]  # fn(data_dir, image_size[, stream]) -> ImageData
_REGISTRY: dict[str, Loader] = {}
_plugins_loaded = False


def register_dataset(name: str, info: DatasetInfo | None = None) -> Callable[[Loader], Loader]:
    """Decorator registering ``fn(data_dir, image_size) -> ImageData`` under ``name``;
    `info` (channels, streamable) lets configs see it without loading anything."""

    def decorate(fn: Loader) -> Loader:
        if name in _REGISTRY:
            raise DatasetError(f"dataset '{name}' is already registered")
        _REGISTRY[name] = fn
        if info is not None:
            DATASET_INFO.setdefault(name, info)
        return fn

    return decorate


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group="ssl_bench.datasets"):
        if ep.name not in _REGISTRY:
            _REGISTRY[ep.name] = ep.load()


def _loader(key: str, name: str) -> Loader:
    if key not in _REGISTRY:
        _load_plugins()
    if key not in _REGISTRY:
        raise DatasetError(f"unknown dataset '{name}'; choose one of: {', '.join(list_datasets())}")
    return _REGISTRY[key]


def list_datasets() -> list[str]:
    _load_plugins()
    return sorted(_REGISTRY)


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
    crop_source: str = "stored",
    source_size: int = 0,
    eval_dir: str | None = None,
) -> ImageData:
    """Load a registered dataset, optionally keeping a class-balanced subset.

    ``stream`` (imagefolder only) lists the files instead of decoding them: the images
    are then `ImageFiles`, decoded by DataLoader workers while training.

    ``crop_source="full"`` (image files only): the SSL images become `ViewCrops`, crops cut
    by DataLoader workers from each whole decoded image (its shorter side resized to
    ``source_size``, or kept with 0), and the labelled images are the usual evaluation
    resize-then-centre-crop. See `ssl_bench.data.view_crops`.

    ``train_subset`` draws ``balanced_subset(train_labels, n, seed=0)`` and
    ``test_subset`` ``balanced_subset(test_labels, n, seed=1)``. Where the SSL
    images are the labelled train images (all built-ins except stl10) they get
    the same subset.
    """
    key = name.strip().lower().replace("_", "-")
    loader = _loader(key, name)
    if stream and not DATASET_INFO.get(key, DatasetInfo()).streamable:
        streamable = [n for n, info in DATASET_INFO.items() if info.streamable]
        raise DatasetError(
            f"data.stream=true: {key} is loaded into memory whole; streaming is for {', '.join(streamable)}"
        )
    full = crop_source == "full"
    if full and not DATASET_INFO.get(key, DatasetInfo()).streamable:
        raise DatasetError(whole_images_need_files(key))
    # The loader gets `eval_dir` only when one is given: plugin loaders need not know it.
    kwargs = {"stream": True} if stream or full else {}
    if eval_dir is not None:
        if key != "imagefolder":
            raise DatasetError(f"--eval-dir is for --dataset imagefolder; {key} brings its own labelled splits")
        kwargs["eval_dir"] = eval_dir
    data = loader(data_dir, image_size, **kwargs)
    data = _subsets(key, data, train_subset, test_subset)
    return _whole_image_crops(data, source_size, stream) if full else data


def _whole_image_crops(data: ImageData, source_size: int, stream: bool) -> ImageData:
    """`data` (its images listed as files) with the paper's crops and evaluation images."""
    from ssl_bench.data.imagefolder import eval_resize
    from ssl_bench.data.view_crops import ViewCrops

    if not all(isinstance(getattr(data, k), ImageFiles) for k in ("ssl_images", "train_images", "test_images")):
        raise DatasetError(f"data.crop_source=full: the {data.name} loader did not list its images as files")
    size = data.ssl_images.size

    def evaluation(files: ImageFiles) -> torch.Tensor | ImageFiles:
        files = ImageFiles(files.paths, size, resize=eval_resize(size))
        return files if stream else files.decoded()

    ssl = ViewCrops(data.ssl_images.paths, size, source_size)
    return ImageData(
        **{
            **data.__dict__,
            "ssl_images": ssl,
            "train_images": evaluation(data.train_images),
            "test_images": evaluation(data.test_images),
        }
    )


def _subsets(key: str, data: ImageData, train_subset: int | None, test_subset: int | None) -> ImageData:
    """`data` with its class-balanced train and test subsets (see `load_dataset`)."""
    if data.no_evaluation is not None:
        return data  # no labelled images to draw from

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
        # Smaller subsets are drawn from inside the canonical one, so a run sees the same
        # images whether the full set is installed or only the embedded copy (which holds
        # the 10k train subset and the whole test set, from which the 2k test subset of
        # earlier records is drawn the same way).
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
        skipped_files=data.skipped_files,
        no_evaluation=data.no_evaluation,
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


def download(name: str, data_dir: str) -> Path:
    """Fetch a dataset with torchvision (`ssl-bench download`); loading never downloads."""
    from ssl_bench.data.fetch import download as fetch

    return fetch(name, data_dir)


# The built-in loader families register themselves on import.
from ssl_bench.data import cifar, fashion_mnist, imagefolder, stl10, synthetic  # noqa: E402, F401
from ssl_bench.data.imagefolder import ImageFiles  # noqa: E402  (streamed images stand where a tensor would)
