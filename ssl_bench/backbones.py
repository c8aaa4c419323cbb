"""Encoders by name: a small CPU convnet, torchvision models and timm models.

Each returns a module mapping [B, C, H, W] to [B, feat_dim] (the pooled representation
y of the BYOL paper, before the projector).
"""

from __future__ import annotations

import torch
from torch import nn

from ssl_bench.registry import UnknownNameError
from ssl_bench.spec import SpecError

# Small images (CIFAR, STL at 96 px, Fashion-MNIST) lose most of their resolution to an
# ImageNet stem (7×7 stride-2 conv + max-pool). Peers only matched published CIFAR
# numbers after swapping in a 3×3 stride-1 conv without max-pool (lightly-ai/lightly#1419,
# PatrickHua/SimSiam#3), so ResNets get that stem at or below this size.
CIFAR_STEM_MAX_SIZE = 64

# Vision transformers cut the image into patches. An ImageNet patch (16 px) that does not
# divide the image size loses the border (timm's patch embedding drops it silently), and
# one that does may leave 2×2 tokens at 32 px. CIFAR ViTs use 4 px patches at 32 px (8×8
# tokens), so a patch model gets the largest patch, at most its own, that divides the
# image size and leaves at least this many tokens a side (4 px at 28 and 32 px, 8 at 64,
# its own 16 at 224).
MIN_TOKENS_PER_SIDE = 7


class BackboneSizeError(SpecError):
    """A backbone that cannot take the run's image size; one line for the CLI (exit 2)."""


class ConvNet(nn.Module):
    """4 × [3×3 conv – BN – ReLU], widths 32-64-128-256, max-pool after the first three.

    The CPU default encoder (0.39 M parameters): it trains at ~600 images/s on 28×28
    Fashion-MNIST where a ResNet-18 manages ~20 (measured on 2 cores).
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


def _patchify_size(model: nn.Module) -> int | None:
    """The patch size of a model's patch embedding (a conv with stride = kernel, as timm's
    PatchEmbed), or None for a model without one."""
    for m in model.modules():
        proj = getattr(m, "proj", None)
        if hasattr(m, "patch_size") and isinstance(proj, nn.Conv2d) and proj.stride == proj.kernel_size:
            return proj.stride[0] if proj.stride[0] == proj.stride[1] else None
    return None


def fitting_patch(image_size: int, patch: int) -> int | None:
    """The largest patch size, at most `patch`, that divides `image_size` and leaves at
    least MIN_TOKENS_PER_SIDE tokens a side (else the one that leaves the most tokens);
    None if no size from 2 to `patch` divides `image_size`."""
    if patch <= 1:
        return patch
    divisors = [p for p in range(patch, 1, -1) if image_size % p == 0]
    enough = [p for p in divisors if image_size // p >= MIN_TOKENS_PER_SIDE]
    return (enough or divisors[-1:] or [None])[0]


def _sizes_that_fit(image_size: int, patch: int) -> str:
    below = next((n for n in range(image_size - 1, 1, -1) if fitting_patch(n, patch)), None)
    above = next(n for n in range(image_size + 1, 2 * image_size + 2) if fitting_patch(n, patch))
    return " or ".join(f"{n} px" for n in (below, above) if n is not None)


def _probe(model: nn.Module, in_chans: int, image_size: int, what: str) -> int:
    """Run one image through `model` (eval mode, no grad); its feature dimension, or a
    BackboneSizeError saying why the model cannot take this size."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(torch.zeros(1, in_chans, image_size, image_size))
    except Exception as err:  # any failure at this size: timm models assert, reshape, divide by zero
        raise BackboneSizeError(f"{what}: the forward pass fails ({_one_line(err)})") from err
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 1:
        shape = list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise BackboneSizeError(f"{what}: the model gives {shape}, not one pooled feature vector per image")
    return out.shape[1]


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or "no message"
    return f"{type(err).__name__}: {text[:200]}"


def _timm(name: str, in_chans: int, image_size: int, label: str) -> tuple[nn.Module, int]:
    """`label`: the backbone as the user named it, for messages."""
    import timm
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    made_for = f" (timm's default is {cfg.input_size[-1]} px)" if cfg is not None and cfg.input_size else ""
    what = f"backbone {label!r} cannot take {in_chans}×{image_size}×{image_size} images{made_for}"
    if cfg is None or not cfg.fixed_input_size:
        model = timm.create_model(name, pretrained=False, num_classes=0, in_chans=in_chans)
        if image_size <= CIFAR_STEM_MAX_SIZE and hasattr(model, "conv1") and hasattr(model, "maxpool"):
            # timm's deep stems (resnet*d, resnet10t) are Sequentials; replace only plain convs.
            if isinstance(model.conv1, nn.Conv2d):
                _cifar_stem(model, in_chans)
            else:
                model.maxpool = nn.Identity()
        # The output, not model.num_features: models with a pre-logits head (MobileNetV3) differ.
        return model, _probe(model, in_chans, image_size, what)

    # A fixed input size (ViT, DeiT, Swin, ...): timm's models of this kind take img_size
    # (and build_model_with_cfg would otherwise set it from the pretrained 224 px config).
    def create(**kwargs) -> nn.Module:
        return timm.create_model(name, pretrained=False, num_classes=0, in_chans=in_chans, **kwargs)

    try:
        model = create(img_size=image_size)
    except Exception as err:
        raise BackboneSizeError(f"{what}: it does not build at this size ({_one_line(err)})") from err
    patch = _patchify_size(model)
    if patch is not None:
        fit = fitting_patch(image_size, patch)
        if fit is None:
            raise BackboneSizeError(
                f"{what}: no patch size from 2 to its own {patch} px divides {image_size}; "
                f"sizes that fit: {_sizes_that_fit(image_size, patch)}"
            )
        if fit != patch:
            try:
                model = create(img_size=image_size, patch_size=fit)
            except Exception as err:
                if image_size % patch:
                    fits = " or ".join(
                        f"{n} px" for n in (image_size // patch * patch, image_size // patch * patch + patch) if n
                    )
                    raise BackboneSizeError(
                        f"{what}: its {patch} px patches need a multiple of {patch} ({fits}), and it does not "
                        f"take patch_size={fit} ({_one_line(err)})"
                    ) from err
                # Its own patch divides the size: keep it (fewer tokens, nothing dropped).
    return model, _probe(model, in_chans, image_size, what)


def list_backbones() -> list[str]:
    """A short list for help texts; any timm or torchvision model name is accepted."""
    return ["convnet", "resnet18", "resnet34", "resnet50", "timm/<any timm model>", "torchvision/<model>"]


def _is_timm_model(name: str) -> bool:
    """A timm model name, with a pretrained tag (`vit_small_patch16_224.augreg_in21k`) only
    if timm knows the tag."""
    import timm
    from timm.models import get_pretrained_cfg

    if not timm.is_model(name):
        return False
    try:
        get_pretrained_cfg(name)
    except RuntimeError:  # "Invalid pretrained tag"
        return False
    return True


def _resolve(name: str) -> tuple[str, str]:
    """(library, model name in it) for a backbone name; UnknownNameError if none has it."""
    import torchvision

    tv = torchvision.models.list_models(module=torchvision.models)
    lib, bare = name.split("/", 1) if name.startswith(("timm/", "torchvision/")) else ("", name)
    if lib == "torchvision" or (not lib and bare in tv):
        if bare in tv:
            return "torchvision", bare
    elif _is_timm_model(bare):
        return "timm", bare
    raise UnknownNameError(
        f"unknown backbone {name!r}; choose convnet, a torchvision classification model "
        "(resnet18, resnet50, ...) or a timm model name (see timm.list_models())"
    )


def build_backbone(name: str, in_chans: int, image_size: int) -> tuple[nn.Module, int]:
    """(encoder, feature dimension). Bare ResNet names resolve to torchvision (the paper's
    ResNet-50 v1); prefix `timm/` or `torchvision/` to choose a library explicitly.
    UnknownNameError for a name no library has; BackboneSizeError for a model that cannot
    take `in_chans` × `image_size` px images."""
    if name == "convnet":
        net = ConvNet(in_chans)
        return net, net.num_features
    lib, bare = _resolve(name)
    if lib == "torchvision":
        return _torchvision(bare, in_chans, image_size)
    return _timm(bare, in_chans, image_size, name)


def check_backbone_name(name: str, in_chans: int | None = None, image_size: int | None = None) -> None:
    """Raise UnknownNameError before any data is loaded or model built. Given the input's
    channels and size as well, build the backbone once (on the CPU) and raise
    BackboneSizeError if it cannot take them."""
    if in_chans is not None and image_size is not None:
        build_backbone(name, in_chans, image_size)
    elif name != "convnet":
        _resolve(name)
