"""Backbones by name (CIFAR stem for small images) and the evaluation functions."""

import pytest
import torch
from torch import nn

from ssl_bench.backbones import build_backbone
from ssl_bench.config import build_config
from ssl_bench.evaluate import collapse_stats, knn_top1, linear_probe
from ssl_bench.registry import UnknownNameError
from ssl_bench.train import RunEnv, run


@pytest.mark.parametrize("name", ["resnet18", "torchvision/resnet18", "timm/resnet18"])
def test_resnet_gets_the_cifar_stem_on_small_images(name):
    net, dim = build_backbone(name, in_chans=3, image_size=32)
    assert dim == 512
    assert net.conv1.kernel_size == (3, 3) and net.conv1.stride == (1, 1) and isinstance(net.maxpool, nn.Identity)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 512)


def test_imagenet_sized_resnet_keeps_its_stem_and_grey_input_works():
    net, dim = build_backbone("resnet18", in_chans=3, image_size=224)
    assert net.conv1.kernel_size == (7, 7) and not isinstance(net.maxpool, nn.Identity)
    grey, _ = build_backbone("resnet18", in_chans=1, image_size=28)
    assert grey(torch.randn(2, 1, 28, 28)).shape == (2, 512)


def test_convnet_default():
    net, dim = build_backbone("convnet", in_chans=1, image_size=28)
    assert dim == 256 and sum(p.numel() for p in net.parameters()) < 500_000


def test_unknown_backbone():
    with pytest.raises(UnknownNameError, match="unknown backbone 'resnet999'"):
        build_backbone("resnet999", 3, 32)


def test_knn_separates_clusters_and_weights_votes():
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 16, generator=g) * 5
    train_y = torch.arange(3).repeat_interleave(20)
    train = centers[train_y] + torch.randn(60, 16, generator=g)
    test_y = torch.arange(3).repeat_interleave(5)
    test = centers[test_y] + torch.randn(15, 16, generator=g)
    assert knn_top1(train, train_y, test, test_y, k=10) == 1.0
    shuffled = train_y[torch.randperm(60, generator=g)]
    assert knn_top1(train, shuffled, test, test_y, k=10) < 0.8


def test_linear_probe_top1_and_top5():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(6).repeat(30)
    x = torch.nn.functional.one_hot(y, 6).float() * 3 + torch.randn(180, 6, generator=g) * 0.3
    out = linear_probe(x[:120], y[:120], x[120:], y[120:])
    assert out["top1"] == 1.0 and out["top5"] == 1.0


def test_collapse_stats_tell_collapsed_from_spread():
    spread = collapse_stats(torch.randn(4000, 64))
    assert spread["z_std"] == pytest.approx(64**-0.5, rel=0.05) and spread["effective_rank"] > 50
    collapsed = collapse_stats(torch.ones(100, 64) + 1e-4 * torch.randn(100, 64))
    assert collapsed["z_std"] < 0.01 * spread["z_std"] * 10


def test_bf16_autocast_runs_on_the_cpu(tmp_path):
    cfg = build_config(
        "byol", preset="smoke", overrides={"train.precision": "bf16", "train.epochs": 1, "eval.linear_probe": False}
    )
    rec = run(cfg, RunEnv(out_dir=tmp_path, progress=False, log=lambda m: None))
    assert rec["status"] == "done" and rec["config"]["train"]["precision"] == "bf16"
