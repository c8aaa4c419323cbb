"""Class-per-folder image trees (ImageNet, ImageNet-100, ...): decoded into memory, or
streamed from disk by DataLoader workers (`ImageFiles`).

Two ways to make an image square: `stored` (the default) resizes the shorter side to the
view size and keeps the centre, and the training crops are cut from that square; the
BYOL paper's way (`data.crop_source=full`, `ssl_bench.data.view_crops`) cuts the training
crops from the whole decoded image and evaluates on the usual resize-then-centre-crop
(shorter side to size / 0.875, 256 for 224).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ssl_bench.data import DatasetError, ImageData, _existing_dir, register_dataset
from ssl_bench.dataset_info import DATASET_INFO

_IMAGEFOLDER_DEFAULT_SIZE = 64
EVAL_CROP_FRACTION = 0.875  # the centre crop's share of the shorter side at evaluation (224 of 256)


def decode(path: str, at_least: int | None = None):
    """The file's image as RGB PIL. `at_least`: JPEGs may be decoded at a reduced scale that
    still covers it on both sides (a large speed-up on ImageNet-sized photos)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if at_least:
                img.draft("RGB", (at_least, at_least))
            return img.convert("RGB")
    except (UnidentifiedImageError, OSError) as e:
        raise DatasetError(f"imagefolder: cannot read image {path}: {e}") from e


def to_tensor(img) -> torch.Tensor:
    """RGB PIL image → uint8 [3, H, W]."""
    return torch.from_numpy(np.asarray(img, dtype=np.uint8).copy()).permute(2, 0, 1)


def eval_resize(size: int) -> int:
    """Shorter side before the evaluation centre crop (256 for 224)."""
    return round(size / EVAL_CROP_FRACTION)


def _read_image(path: str, size: int, resize: int | None = None) -> torch.Tensor:
    """Resize(shorter side) + CenterCrop(size): to `size` itself, bilinear (`stored`), or to
    `resize`, bicubic as the paper's crops (the evaluation images of `crop_source=full`)."""
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    img = decode(path, resize or size)
    mode = InterpolationMode.BICUBIC if resize else InterpolationMode.BILINEAR
    img = TF.center_crop(TF.resize(img, resize or size, interpolation=mode), [size, size])
    return to_tensor(img)


class ImageFiles(torch.utils.data.Dataset):
    """Images decoded from their files on demand, for sets too large to hold in memory.

    It stands where a uint8 [N, 3, size, size] tensor would: `len`, `shape`, `dtype` and
    indexing by an index array (a subset, still lazy) behave alike, and item i decodes
    exactly the pixels the in-memory loader stores, so a streamed run equals a loaded one.
    DataLoader workers call `__getitem__`; `ssl_bench.batches` feeds them.
    """

    dtype = torch.uint8

    def __init__(self, paths: list[str], size: int, resize: int | None = None) -> None:
        self.paths = list(paths)
        self.size = size
        self.resize = resize  # shorter side before the centre crop; None: `size`

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.paths), 3, self.size, self.size)

    def dim(self) -> int:
        return 4

    def with_paths(self, paths: list[str]) -> ImageFiles:
        """The same kind of images for other files (a subset)."""
        return ImageFiles(paths, self.size, self.resize)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return _read_image(self.paths[index], self.size, self.resize)
        if isinstance(index, slice):
            return self.with_paths(self.paths[index])
        return self.with_paths([self.paths[int(i)] for i in index])

    def decoded(self) -> torch.Tensor:
        """All the images, decoded into one uint8 tensor."""
        images = torch.empty(self.shape, dtype=torch.uint8)
        for i in range(len(self)):
            images[i] = self[i]
        return images


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
    files = ImageFiles([path for path, _ in samples], size)
    return (files if stream else files.decoded()), labels


def _labelled_splits(root: Path, size: int, stream: bool = False):
    """`root`/train and `root`/val (or test) as (train x, y, test x, y, number of classes)."""
    from torchvision.datasets.folder import find_classes

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
    return train_images, train_labels, test_images, test_labels, len(classes)


@register_dataset("imagefolder", DATASET_INFO["imagefolder"])
def _load_imagefolder(
    data_dir: str | None, image_size: int | None, stream: bool = False, eval_dir: str | None = None
) -> ImageData:
    """A class-per-folder tree (train/ and val/), or, when `data_dir` has no train/ folder
    or `eval_dir` is given, a folder of unlabelled images (`ssl_bench.data.unlabelled`)."""
    from ssl_bench.data.unlabelled import load_unlabelled

    root = _existing_dir("imagefolder", data_dir)
    size = _IMAGEFOLDER_DEFAULT_SIZE if image_size is None else image_size
    if size <= 0:
        raise DatasetError(f"imagefolder: image_size must be positive, got {size}")
    if eval_dir is not None or not (root / "train").is_dir():
        return load_unlabelled(root, size, stream, eval_dir)
    train_images, train_labels, test_images, test_labels, num_classes = _labelled_splits(root, size, stream)
    return ImageData(
        name="imagefolder",
        ssl_images=train_images,
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
        num_classes=num_classes,
        # ImageNet statistics: the usual choice for natural photos of unknown origin.
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        source=f"imagefolder:{root}",
    )
