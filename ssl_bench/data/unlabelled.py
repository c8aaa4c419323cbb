"""A folder of images without classes, for pretraining on a user's own pictures.

Every image file under the folder, at any depth, is a training image; files that cannot
be decoded (truncated, not an image after all) are skipped and listed, never a crash
mid-run. Grey, palette and RGBA images are converted to RGB like the labelled loader's.
The labelled splits come from a separate class-per-folder tree (`eval_dir`, with
``train/`` and ``val/``); without one the data holds no labelled images and the run says
that its encoder was not evaluated.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ssl_bench.data import DatasetError, ImageData, ImageFiles

NO_EVAL_DIR = "no labelled images: pass --eval-dir DIR (class folders under DIR/train and DIR/val) to score the encoder"


def image_paths(root: Path) -> list[str]:
    """Every file under `root` (any depth) with a common image extension, sorted."""
    from torchvision.datasets.folder import IMG_EXTENSIONS

    suffixes = {e.lower() for e in IMG_EXTENSIONS}
    return sorted(str(p) for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)


def readable(paths: list[str], size: int) -> tuple[torch.Tensor, list[str], list[str]]:
    """The decoded images of the files that decode, their paths, and the paths that do not."""
    from ssl_bench.data.imagefolder import _read_image

    images, kept, skipped = [], [], []
    for path in paths:
        try:
            images.append(_read_image(path, size))
        except DatasetError:
            skipped.append(path)
            continue
        kept.append(path)
    stacked = torch.stack(images) if images else torch.empty((0, 3, size, size), dtype=torch.uint8)
    return stacked, kept, skipped


def load_unlabelled(root: Path, size: int, stream: bool, eval_dir: str | None) -> ImageData:
    """`root`'s images as the SSL set; `eval_dir`'s class folders as the labelled splits."""
    from ssl_bench.data.imagefolder import _labelled_splits

    paths = image_paths(root)
    if not paths:
        raise DatasetError(f"imagefolder: no image files under {root} (looked for .jpg, .png, .webp, ... at any depth)")
    # Decoded once even when streaming: a file that cannot be read is found here, before
    # the run starts, rather than by a DataLoader worker mid-run.
    images, kept, skipped = readable(paths, size)
    if not kept:
        raise DatasetError(f"imagefolder: none of the {len(paths)} image files under {root} could be read")
    ssl = ImageFiles(kept, size) if stream else images
    if eval_dir is not None:
        eval_root = Path(eval_dir).expanduser()
        train_x, train_y, test_x, test_y, num_classes = _labelled_splits(eval_root, size, stream)
        source, no_evaluation = f"imagefolder:{root} (eval: {eval_root})", None
    else:
        train_x = test_x = torch.empty((0, 3, size, size), dtype=torch.uint8)
        train_y = test_y = torch.empty(0, dtype=torch.int64)
        num_classes, source, no_evaluation = 0, f"imagefolder:{root}", NO_EVAL_DIR
    return ImageData(
        name="imagefolder",
        ssl_images=ssl,
        train_images=train_x,
        train_labels=train_y,
        test_images=test_x,
        test_labels=test_y,
        num_classes=num_classes,
        mean=(0.485, 0.456, 0.406),  # ImageNet statistics, as for labelled folders
        std=(0.229, 0.224, 0.225),
        source=source,
        skipped_files=tuple(skipped),
        no_evaluation=no_evaluation,
    )
