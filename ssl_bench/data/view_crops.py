"""Training crops cut from the whole decoded image, as the BYOL paper cuts them
(`data.crop_source=full`; Table 6: "random patch of the image ... resized to 224 × 224
using a bicubic interpolation").

Images of their own sizes cannot sit in one tensor on the device, so the crop is the one
augmentation done in the DataLoader workers: each worker decodes the file (its shorter
side resized to `data.source_size` first, or left as it is), cuts both views' crops with
boxes drawn against that image's own height and width, and resizes them bicubic to the
view size. The rest of each view (flip, colour, blur, solarisation) is drawn and applied
on the device as usual, from the pair of crops (`ssl_bench.step`).

A crop's box depends only on (seed, epoch, image index), not on the worker, the process
layout or where a resumed run restarted, so every layout and every resume trains on the
same crops.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ssl_bench.data.imagefolder import ImageFiles, decode, to_tensor
from ssl_bench.draws import crop_box
from ssl_bench.views import ViewAug


def crop_seed(seed: int, epoch: int, index: int) -> int:
    """The seed of one image's crops in one epoch: well mixed, so nearby keys share nothing."""
    return int(np.random.SeedSequence([seed, epoch, index]).generate_state(1, np.uint64)[0])


class ViewCrops(ImageFiles):
    """Item i: uint8 [2, 3, size, size], image i's two views' crops for this epoch.

    `with_views(views, seed)` and `at_epoch(epoch)` return copies set for a run and an epoch
    (DataLoader workers get their own copy of the dataset, so it is never changed in place).
    Indexing by an array or a slice gives a subset, as for `ImageFiles`.
    """

    def __init__(
        self,
        paths: list[str],
        size: int,
        source_size: int = 0,
        views: Sequence[ViewAug] = (),
        seed: int = 0,
        epoch: int = 0,
    ) -> None:
        super().__init__(paths, size)
        self.source_size = source_size  # shorter side of the decoded image; 0: as stored
        self.views = tuple(views)
        self.seed = seed
        self.epoch = epoch

    def with_paths(self, paths: list[str]) -> ViewCrops:
        return ViewCrops(paths, self.size, self.source_size, self.views, self.seed, self.epoch)

    def with_views(self, views: Sequence[ViewAug], seed: int) -> ViewCrops:
        return ViewCrops(self.paths, self.size, self.source_size, views, seed, self.epoch)

    def at_epoch(self, epoch: int) -> ViewCrops:
        return ViewCrops(self.paths, self.size, self.source_size, self.views, self.seed, epoch)

    def source(self, index: int):
        """Image `index` as the crops see it (PIL RGB): decoded, shorter side at source_size."""
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as TF

        img = decode(self.paths[index], self.source_size or None)
        if self.source_size and min(img.size) != self.source_size:
            img = TF.resize(img, self.source_size, interpolation=InterpolationMode.BICUBIC)
        return img

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)):
            return super().__getitem__(index)
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as TF

        if not self.views:
            raise RuntimeError("ViewCrops.with_views(...) must be called before reading crops")
        img = self.source(int(index))
        g = torch.Generator().manual_seed(crop_seed(self.seed, self.epoch, int(index)))
        crops = []
        for view in self.views:
            # The same draw as the on-device crop, against this image's own size.
            top, left, height, width = crop_box(view, (img.height, img.width), g)
            size = [self.size, self.size]
            crops.append(to_tensor(TF.resized_crop(img, top, left, height, width, size, InterpolationMode.BICUBIC)))
        return torch.stack(crops)
