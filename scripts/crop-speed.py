"""How fast one DataLoader worker feeds the `paper` preset: images per second per worker
for the stored square (`data.crop_source=stored`) and for crops cut from the whole image
(`full`, as the paper does, with and without `data.source_size=256`), measured side by
side in one run on synthetic JPEGs of ImageNet's typical size (500 x 375, quality 90).

    python scripts/crop-speed.py [--images 200] [--size 224]

Divide a GPU's images/s in training by a row's figure for the workers it needs per GPU.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ssl_bench.data.imagefolder import ImageFiles
from ssl_bench.data.view_crops import ViewCrops
from ssl_bench.views import AUG_PRESETS


def photos(root: Path, n: int) -> list[str]:
    """Smooth random colour fields (JPEG-compressible like photos), 500 x 375."""
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        small = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((500, 375), Image.BICUBIC)
        path = root / f"{i:05d}.jpg"
        img.save(path, quality=90)
        paths.append(str(path))
    return paths


def per_second(dataset, n: int) -> float:
    dataset[0]  # imports and first-call costs stay out of the timing
    start = time.perf_counter()
    for i in range(n):
        dataset[i]
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    views = (AUG_PRESETS["byol"].view1, AUG_PRESETS["byol"].view2)
    with tempfile.TemporaryDirectory() as tmp:
        paths = photos(Path(tmp), args.images)
        cases = [
            ("stored (one square, then crops on the device)", ImageFiles(paths, args.size)),
            ("full, each file's own size (two crops)", ViewCrops(paths, args.size).with_views(views, 0)),
            ("full, source_size=256 (two crops)", ViewCrops(paths, args.size, 256).with_views(views, 0)),
        ]
        rates = [(label, per_second(ds, args.images)) for label, ds in cases]
    print(f"one worker, {args.images} JPEGs of 500x375, views of {args.size} px:")
    for label, rate in rates:
        print(f"  {label:<48} {rate:7.0f} images/s  ({rate / rates[0][1]:.2f}x stored)")


if __name__ == "__main__":
    main()
