"""The convolutions' memory layout is chosen for the device unless the user sets it, and is
never part of a run's identity: the same computation in either layout is one run."""

import dataclasses

import pytest
import torch
from helpers import smoke

from ssl_bench.backbones import build_backbone
from ssl_bench.config import run_id
from ssl_bench.step import uses_channels_last

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def layout(cfg, backbone: str, device: torch.device, size: int = 28) -> bool:
    model, _ = build_backbone(backbone, 1, size)
    return uses_channels_last(cfg, model, device)


def with_train(cfg, **change):
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **change))


def test_a_convolutional_network_on_the_cpu_runs_channels_last_by_default():
    cfg = smoke("byol")
    assert cfg.train.channels_last is None
    assert layout(cfg, "convnet", CPU) and layout(cfg, "resnet18", CPU, 32)


def test_a_vit_keeps_the_default_layout():
    # One patch-embedding convolution: nothing for the layout to speed up.
    assert not layout(smoke("byol"), "timm/vit_tiny_patch16_224", CPU)


@pytest.mark.parametrize(("precision", "expected"), [("fp32", False), ("bf16", True), ("auto", True)])
def test_on_cuda_the_layout_follows_bf16(precision, expected):
    assert layout(with_train(smoke("byol"), precision=precision), "convnet", CUDA) is expected


@pytest.mark.parametrize("choice", [True, False])
def test_the_users_choice_is_kept(choice):
    cfg = with_train(smoke("byol"), channels_last=choice)
    assert layout(cfg, "convnet", CPU) is choice and layout(cfg, "timm/vit_tiny_patch16_224", CPU) is choice


def test_the_layout_is_not_part_of_the_run_id():
    cfg = smoke("simclr")
    assert {run_id(with_train(cfg, channels_last=c)) for c in (None, True, False)} == {run_id(cfg)}
