"""Encoders by name: a small CPU convnet, torchvision models and timm models.

Each returns a module mapping [B, C, H, W] to [B, feat_dim] (the pooled representation
y of the BYOL paper, before the projector).
"""

from __future__ import annotations

import torch
from torch import nn

from ssl_bench.registry import UnknownNameError

# Small images (CIFAR, STL at 96 px, Fashion-MNIST) lose most of their resolution to an
# ImageNet stem (7×7 stride-2 conv + max-pool). Peers only matched published CIFAR
# numbers after swapping in a 3×3 stride-1 conv without max-pool (lightly-ai/lightly#1419,
# PatrickHua/SimSiam#3), so ResNets get that stem at or below this size.
CIFAR_STEM_MAX_SIZE = 64


class ConvNet(nn.Module):
    """4 × [3×3 conv – BN – ReLU], widths 32-64-128-256, max-pool after the first three.

    The CPU default encoder (0.39 M parameters): on 2 cores it trains at ~600 images/s
    on 28×28 Fashion-MNIST, where a ResNet-18 manages ~20 (shared/notes/python-stack.md).
    """

    def __init__(self, in_chans: int, widths: tuple[int, ...] = (32, 64, 128, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = in_chans
        for k, w in enumerate(widths):
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            if k < len(widths) - 1:
                layers.append(nn.MaxPool2d(2))
            c = w
        self.features = nn.Sequential(*layers)
        self.num_features = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).mean(dim=(2, 3))


def _cifar_stem(model: nn.Module, in_chans: int) -> None:
    conv = model.conv1
    model.conv1 = nn.Conv2d(in_chans, conv.out_channels, 3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()


def _torchvision(name: str, in_chans: int, image_size: int) -> tuple[nn.Module, int]:
    import torchvision

    model = torchvision.models.get_model(name, weights=None)
    if not hasattr(model, "fc"):
        raise UnknownNameError(f"backbone {name!r}: only torchvision ResNet-style models (with .fc) are supported")
    feat_dim = model.fc.in_features
    model.fc = nn.Identity()
    if image_size <= CIFAR_STEM_MAX_SIZE or in_chans != 3:
        if not hasattr(model, "conv1"):
            raise UnknownNameError(f"backbone {name!r} has no conv1 stem to adapt to {in_chans}×{image_size}px")
        if image_size <= CIFAR_STEM_MAX_SIZE:
            _cifar_stem(model, in_chans)
        else:
            c = model.conv1
            model.conv1 = nn.Conv2d(in_chans, c.out_channels, c.kernel_size, c.stride, c.padding, bias=False)
    return model, feat_dim


def _timm(name: str, in_chans: int, image_size: int) -> tuple[nn.Module, int]:
    import timm

    model = timm.create_model(name, pretrained=False, num_classes=0, in_chans=in_chans)
    if image_size <= CIFAR_STEM_MAX_SIZE and hasattr(model, "conv1") and hasattr(model, "maxpool"):
        # timm's deep stems (resnet*d, resnet10t) are Sequentials; replace only plain convs.
        if isinstance(model.conv1, nn.Conv2d):
            _cifar_stem(model, in_chans)
        else:
            model.maxpool = nn.Identity()
    return model, model.num_features


def list_backbones() -> list[str]:
    """A short list for help texts; any timm or torchvision model name is accepted."""
    return ["convnet", "resnet18", "resnet34", "resnet50", "timm/<any timm model>", "torchvision/<model>"]


def build_backbone(name: str, in_chans: int, image_size: int) -> tuple[nn.Module, int]:
    """(encoder, feature dimension). Bare ResNet names resolve to torchvision (the paper's
    ResNet-50 v1); prefix `timm/` or `torchvision/` to choose a library explicitly."""
    if name == "convnet":
        net = ConvNet(in_chans)
        return net, net.num_features
    if name.startswith("timm/"):
        return _timm(name.removeprefix("timm/"), in_chans, image_size)
    if name.startswith("torchvision/"):
        return _torchvision(name.removeprefix("torchvision/"), in_chans, image_size)
    import torchvision

    if name in torchvision.models.list_models(module=torchvision.models):
        return _torchvision(name, in_chans, image_size)
    import timm

    if timm.is_model(name):
        return _timm(name, in_chans, image_size)
    raise UnknownNameError(
        f"unknown backbone {name!r}; choose convnet, a torchvision classification model "
        "(resnet18, resnet50, ...) or a timm model name (see timm.list_models())"
    )


def check_backbone_name(name: str) -> None:
    """Raise UnknownNameError before any data is loaded or model built."""
    if name == "convnet":
        return
    import timm
    import torchvision

    bare = name.split("/", 1)[-1]
    if name.startswith("timm/"):
        ok = timm.is_model(bare)
    elif name.startswith("torchvision/"):
        ok = bare in torchvision.models.list_models(module=torchvision.models)
    else:
        ok = bare in torchvision.models.list_models(module=torchvision.models) or timm.is_model(bare)
    if not ok:
        build_backbone(name, 3, 32)  # raises the same message as at build time
