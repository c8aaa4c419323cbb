"""Tests for ssl_bench.data's imagefolder dataset (train/<class>/ and val/ or test/): class
order and labels, grey and RGBA images to RGB, resize then centre crop, and the one-line
errors for a wrong layout, an unknown class or an unreadable image."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import one_line_error
from PIL import Image

from ssl_bench.data import DatasetError, load_dataset

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
