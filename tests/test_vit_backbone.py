"""Vision transformers at the presets' sizes: timm's ViT-family models take the run's
image size (img_size) and a patch size that fits it; a backbone that cannot take the size
is refused with one line naming it, the size and the sizes it takes."""

import pytest
import torch
from helpers import QUIET, smoke

from ssl_bench.backbones import BackboneSizeError, build_backbone, check_backbone_name, fitting_patch
from ssl_bench.cli import main
from ssl_bench.registry import UnknownNameError
from ssl_bench.spec import SpecError
from ssl_bench.train import RunEnv, run

VIT = "timm/vit_tiny_patch16_224"


def patch_embed(net):
    return net.patch_embed.proj


@pytest.mark.parametrize(
    ("in_chans", "size"),
    [(1, 28), (3, 32)],  # the cpu preset (Fashion-MNIST) and the cifar10 preset
)
def test_vit_builds_at_the_preset_size_with_a_fitting_patch_and_trains(in_chans, size):
    net, dim = build_backbone(VIT, in_chans=in_chans, image_size=size)
    assert dim == 192 == net.num_features
    # 16 px patches would leave 1×1 (28 px, border dropped) or 2×2 tokens: 4 px as CIFAR ViTs use.
    assert patch_embed(net).kernel_size == (4, 4) and patch_embed(net).in_channels == in_chans
    assert tuple(net.patch_embed.img_size) == (size, size)
    assert net.pos_embed.shape[1] == (size // 4) ** 2 + 1  # the grid plus the class token
    x = torch.randn(2, in_chans, size, size)
    y = net(x)
    assert y.shape == (2, dim)
    y.square().mean().backward()
    assert patch_embed(net).weight.grad is not None and torch.isfinite(patch_embed(net).weight.grad).all()


def test_vit_keeps_its_own_patch_where_it_fits():
    net, dim = build_backbone(VIT, in_chans=3, image_size=224)
    assert patch_embed(net).kernel_size == (16, 16) and dim == 192


@pytest.mark.parametrize(
    ("size", "patch", "fit"),
    [(28, 16, 4), (32, 16, 4), (64, 16, 8), (96, 16, 12), (224, 16, 16), (224, 14, 14), (28, 4, 4), (12, 16, 2)],
)
def test_fitting_patch(size, patch, fit):
    assert fitting_patch(size, patch) == fit


def test_fitting_patch_none_where_nothing_divides():
    assert fitting_patch(29, 16) is None


def test_swin_takes_small_images():
    net, dim = build_backbone("timm/swin_tiny_patch4_window7_224", in_chans=1, image_size=28)
    assert net(torch.randn(2, 1, 28, 28)).shape == (2, dim)


def test_feature_dim_is_what_the_model_outputs():
    # MobileNetV3's pooled output (head_hidden_size 1024) is not its num_features (576).
    net, dim = build_backbone("timm/mobilenetv3_small_100", in_chans=3, image_size=32)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, dim) and dim == 1024


@pytest.mark.parametrize(
    ("name", "size", "says"),
    [
        (VIT, 29, "sizes that fit: 28 px or 30 px"),
        ("timm/mixer_s16_224", 28, "its 16 px patches need a multiple of 16 (16 px or 32 px)"),
        ("timm/levit_128s", 28, "the forward pass fails"),
    ],
)
def test_a_size_the_backbone_cannot_take_is_one_line_naming_both(name, size, says):
    with pytest.raises(BackboneSizeError) as err:
        build_backbone(name, in_chans=1, image_size=size)
    msg = str(err.value)
    assert "\n" not in msg and isinstance(err.value, SpecError)
    assert msg.startswith(f"backbone {name!r} cannot take 1×{size}×{size} images (timm's default is 224 px): ")
    assert says in msg


def test_check_backbone_name_checks_the_size_when_given():
    check_backbone_name(VIT)  # the name alone: no model built
    check_backbone_name(VIT, 1, 28)
    with pytest.raises(BackboneSizeError, match="cannot take 3×29×29"):
        check_backbone_name(VIT, 3, 29)
    for bad in ("timm/no_such_model", "torchvision/no_such_model", "vit_tiny_patch16_224.no_such_tag"):
        with pytest.raises(UnknownNameError, match=f"unknown backbone {bad!r}"):
            check_backbone_name(bad)


def test_one_training_step_with_a_vit_at_the_cpu_preset_shape(tmp_path):
    # Fashion-MNIST at 28 px, 1 channel (the cpu preset's data) for one update of 10 images.
    cfg = smoke(
        **{
            "backbone": VIT,
            "train.epochs": 1,
            "train.batch_size": 10,
            "data.train_subset": 10,
            "data.test_subset": 10,
            "eval.linear_probe": False,
            "eval.knn_k": 5,
        }
    )
    rec = run(cfg, RunEnv(out_dir=tmp_path, **QUIET))
    assert rec["status"] == "done" and rec["cost"]["steps"] == 1
    assert torch.isfinite(torch.tensor(rec["curves"][-1]["loss"]))


def test_cli_refuses_an_unknown_timm_name_in_one_line(capsys):
    assert main(["run", "--backbone", "timm/no_such_model", "--print-config"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ssl-bench: error: unknown backbone 'timm/no_such_model'")


def test_cli_refuses_a_backbone_that_cannot_take_the_size_in_one_line(tmp_path, capsys):
    out = tmp_path / "runs"
    code = main(["run", "--backbone", "timm/mixer_s16_224", "--preset", "smoke", "--epochs", "1", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists(), "refused after the run's directory was written"
    assert err.startswith("ssl-bench: error: backbone 'timm/mixer_s16_224' cannot take 1×28×28 images")
