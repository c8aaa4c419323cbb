"""Emulated small batches in one pass train what the micro-batches run one after another
train: BatchNorm statistics per micro-batch (ghost batch norm), negatives within each, a
queue filled between them, the target updated once. Compared in float64, where the two
paths differ only by rounding."""

import pytest
import torch
import torch.nn.functional as F
from helpers import smoke
from torch import nn

from ssl_bench.config import run_id
from ssl_bench.data import load_dataset
from ssl_bench.ghost_bn import ghost_batch_norm
from ssl_bench.step import build_step

GROUPS = 4


@pytest.mark.parametrize("channels_last", [False, True])
def test_a_batch_norm_in_groups_is_the_batch_norm_of_each_group_in_turn(channels_last):
    torch.manual_seed(0)
    x = torch.randn(GROUPS * 5, 3, 6, 6, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    grouped, sequential = (nn.BatchNorm2d(3, momentum=0.3).double() for _ in range(2))
    with torch.no_grad():
        for bn in (grouped, sequential):
            bn.weight.copy_(torch.tensor([1.5, 0.5, 2.0]))
            bn.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
            bn.running_mean.fill_(0.4)
    with ghost_batch_norm(grouped, GROUPS):
        y = grouped(x)
    ys = torch.cat([sequential(part) for part in x.chunk(GROUPS)])
    assert torch.allclose(y, ys, rtol=0, atol=1e-12)
    assert y.is_contiguous(memory_format=torch.channels_last) == channels_last
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        assert torch.allclose(getattr(grouped, name).double(), getattr(sequential, name).double(), atol=1e-12), name
    assert "forward" not in vars(grouped)  # outside the block the module is itself again


def test_a_batch_norm_1d_without_affine_groups_the_same_way():
    x = torch.randn(GROUPS * 3, 7, dtype=torch.float64)
    grouped, sequential = (nn.BatchNorm1d(7, affine=False).double() for _ in range(2))
    with ghost_batch_norm(grouped, GROUPS):
        y = grouped(x)
    ys = torch.cat([F.batch_norm(p, None, None, training=True) for p in x.chunk(GROUPS)])
    assert torch.allclose(y, ys, atol=1e-12)
    for part in x.chunk(GROUPS):
        sequential(part)
    assert torch.allclose(grouped.running_var, sequential.running_var, atol=1e-12)


def _step(method: str, path: str):
    cfg = smoke(method, **{"train.precision": "fp64", "train.accumulate": GROUPS, "train.micro_batches": path})
    data = load_dataset("fashion-mnist", None, train_subset=cfg.data.train_subset)
    mean, std = torch.tensor(data.mean).view(1, -1, 1, 1), torch.tensor(data.std).view(1, -1, 1, 1)
    torch.manual_seed(0)
    return build_step(cfg, 1, mean, std, 28), data.ssl_images[: cfg.train.batch_size * 3], cfg


@pytest.mark.parametrize("method", ["byol", "simclr", "simsiam", "moco_v2"])
def test_one_pass_trains_what_the_micro_batches_one_after_another_train(method):
    (fast, images, cfg), (slow, _, slow_cfg) = _step(method, "one_pass"), _step(method, "sequential")
    assert run_id(cfg) == run_id(slow_cfg)  # how it runs is not what it computes
    assert fast.one_pass and not slow.one_pass
    calls = []
    fast.net.register_forward_hook(lambda *a: calls.append(1))
    tau = 0.99 if fast.model.target is not None else None
    for update in images.split(cfg.train.batch_size):
        micro = list(update.chunk(GROUPS))
        a, b = fast(micro, 1e-3, tau), slow(micro, 1e-3, tau)
        assert float(a) == pytest.approx(float(b), rel=1e-10)
    assert len(calls) == 3  # one forward per update
    mine, theirs = fast.model.state_dict(), slow.model.state_dict()
    assert mine.keys() == theirs.keys()
    worst = max((mine[k].double() - theirs[k].double()).abs().max().item() for k in mine)
    assert worst < 1e-9, f"largest difference {worst:.1e}"
    if method == "moco_v2":
        assert torch.equal(fast.model.queue_ptr, slow.model.queue_ptr)


@pytest.mark.parametrize(
    "channels, overrides",
    [
        (1, {}),
        (3, {}),  # colour jitter, grayscale, blur and solarisation on RGB images
        (3, {"method.symmetry": "asymmetric_2x"}),  # a second pair per image, drawn after the first
    ],
)
def test_an_updates_views_in_one_call_are_each_micro_batchs_views_in_turn(channels, overrides):
    """The augmentation of an update draws each micro-batch's parameters in the order
    `views` on each in turn draws them, and applies them in one batched call per view.
    Compared in float64, so the check holds whatever the CPU's kernels sum in."""
    cfg = smoke("simsiam", **{"train.precision": "fp64", "train.accumulate": GROUPS, **overrides})
    mean = torch.full((1, channels, 1, 1), 0.5, dtype=torch.float64)
    std = torch.full((1, channels, 1, 1), 0.25, dtype=torch.float64)
    one_call, in_turn = (build_step(cfg, channels, mean, std, 28) for _ in range(2))
    images = torch.randint(0, 256, (cfg.train.batch_size, channels, 28, 28), dtype=torch.uint8)
    micro = list(images.chunk(GROUPS))
    together, apart = one_call.update_views(micro), [in_turn.views(x) for x in micro]
    assert len(together) == GROUPS
    for (a1, a2), (b1, b2) in zip(together, apart, strict=True):
        assert a1.shape == b1.shape == (cfg.train.batch_size // GROUPS * (2 if overrides else 1), channels, 28, 28)
        assert torch.allclose(a1, b1, rtol=0, atol=1e-12) and torch.allclose(a2, b2, rtol=0, atol=1e-12)
    # Both consumed the same stream: the next draws agree too.
    assert torch.equal(one_call.aug_gen.get_state(), in_turn.aug_gen.get_state())


@pytest.mark.parametrize("grouped", [True, False])
def test_a_run_says_when_its_micro_batches_cannot_go_in_one_pass(grouped, tmp_path, monkeypatch):
    """One pass needs one process, no torch.compile and groupable BatchNorms; elsewhere the
    micro-batches run one after another (the same results), and the run's log says so
    rather than silently running another path than `train.micro_batches` names."""
    from ssl_bench.step import Step
    from ssl_bench.train import RunEnv, run

    if not grouped:  # as on several devices, under torch.compile or with SyncBatchNorm
        monkeypatch.setattr(Step, "one_pass", property(lambda self: False))
    lines = []
    cfg = smoke("byol", **{"train.accumulate": 2, "train.epochs": 1})
    run(cfg, RunEnv(out_dir=tmp_path, progress=False, log=lines.append))
    said = [line for line in lines if "run one after another" in line]
    assert len(said) == (0 if grouped else 1)
    assert not said or "train.micro_batches=sequential" in said[0]
