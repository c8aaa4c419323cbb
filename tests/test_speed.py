"""The fast path on the CPU: the shared step, deferred loss reads, torch.compile, the
throughput benchmark and its lightly comparison, time to accuracy. (The figures
themselves are GPU measurements: benchmarks print them, tests do not time anything.)"""

import json
import shutil

import pytest
import torch
from helpers import QUIET, smoke

from ssl_bench.config import run_id
from ssl_bench.data import load_dataset
from ssl_bench.records import RECORD_NAME
from ssl_bench.step import build_step
from ssl_bench.train import NonFiniteLoss, RunEnv, run


def small_step(cfg):
    data = load_dataset("fashion-mnist", None, train_subset=cfg.data.train_subset, test_subset=cfg.data.test_subset)
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    return build_step(cfg, 1, mean, std, data.ssl_images.shape[-1]), data.ssl_images


@pytest.mark.parametrize("method", ["byol", "simclr"])
def test_step_parts_are_the_step(method):
    """The benchmark times the parts one by one; they must be exactly the loop's step."""
    cfg = smoke(method, **{"train.accumulate": 2})
    (whole, images), (parts, _) = small_step(cfg), small_step(cfg)
    idx = [images[:16], images[16:32]]
    tau = 0.9 if cfg.method.target == "ema" else None
    loss = whole(idx, 0.1, tau)
    views = [parts.views(i) for i in idx]
    mean = parts.forward_backward_all(views)
    parts.optimizer_step(0.1)
    if tau is not None:
        parts.ema(tau)
    assert torch.equal(loss, mean)
    for (name, a), b in zip(whole.model.state_dict().items(), parts.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_ema_moves_target_parameters_and_copies_buffers():
    step, _ = small_step(smoke())
    online = torch.nn.Sequential(step.model.backbone, step.model.projector)
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
        for b in online.buffers():
            if b.dtype.is_floating_point:
                b.add_(2.0)
    before = [p.clone() for p in step.model.target.parameters()]
    step.ema(0.75)
    for t, o, b in zip(step.model.target.parameters(), online.parameters(), before, strict=True):
        torch.testing.assert_close(t, 0.75 * b + 0.25 * o)
    for t, o in zip(step.model.target.buffers(), online.buffers(), strict=True):
        assert torch.equal(t, o)


def test_reading_losses_every_few_steps_changes_nothing(tmp_path):
    cfg = smoke()
    every_step = run(cfg, RunEnv(out_dir=tmp_path / "a", read_every=1, **QUIET))
    deferred = run(cfg, RunEnv(out_dir=tmp_path / "b", read_every=5, **QUIET))
    assert deferred["curves"] == every_step["curves"]
    assert deferred["metrics"] == every_step["metrics"]


def test_a_deferred_read_still_names_the_first_non_finite_step(tmp_path):
    cfg = smoke(**{"method.optim.name": "sgd", "method.optim.base_lr": 1e30, "method.optim.warmup_epochs": 0})
    with pytest.raises(NonFiniteLoss) as every_step:
        run(cfg, RunEnv(out_dir=tmp_path / "a", read_every=1, **QUIET))
    with pytest.raises(NonFiniteLoss) as deferred:
        run(cfg, RunEnv(out_dir=tmp_path / "b", read_every=5, **QUIET))
    first = str(every_step.value).split(" at step ")[1].split()[0]
    assert str(deferred.value).split(" at step ")[1].split()[0] == first
    rec = json.loads((tmp_path / "b" / run_id(cfg) / RECORD_NAME).read_text())
    assert rec["status"] == "failed" and f"at step {first}" in rec["error"]


@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("cc") is None, reason="inductor needs a C++ compiler")
def test_a_compiled_run_trains_like_the_eager_one(tmp_path):
    # In float64: compiled kernels sum in another order than eager ones, which bf16 (CUDA's
    # default) or fp32 on another CPU amplifies past any fixed tolerance over a few steps.
    exact = {"train.epochs": 1, "eval.linear_probe": False, "train.precision": "fp64"}
    device = "cuda" if torch.cuda.is_available() else "cpu"
    eager = run(smoke(**exact), RunEnv(out_dir=tmp_path, device=device, **QUIET))
    cfg = smoke(**exact, **{"train.compile": "default"})
    compiled = run(cfg, RunEnv(out_dir=tmp_path, device=device, **QUIET))
    assert run_id(cfg) != eager["run_id"]
    # Same math, other kernels: equal up to float64 rounding over a few steps.
    assert compiled["curves"][0]["loss"] == pytest.approx(eager["curves"][0]["loss"], rel=1e-6)
    saved = torch.load(tmp_path / run_id(cfg) / "encoder.pt")
    assert not any(k.startswith("_orig_mod") for k in saved)


def test_bad_compile_mode_is_refused(capsys):
    from ssl_bench.cli import main

    assert main(["run", "--preset", "smoke", "--set", "train.compile=fast", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert "train.compile='fast'" in err and "max-autotune" in err and "Traceback" not in err


def test_time_to_accuracy_is_recorded_against_training_minutes(tmp_path):
    rec = run(smoke(**{"eval.knn_every": 1, "eval.linear_probe": False}), RunEnv(out_dir=tmp_path, **QUIET))
    points = rec["time_to_accuracy"]
    assert [p["epoch"] for p in points] == [1, 2]
    assert 0 < points[0]["train_min"] < points[1]["train_min"]
    assert points[0]["knn_top1"] == rec["curves"][0]["knn_top1"]
    assert points[-1]["knn_top1"] == rec["metrics"]["knn_top1"]
    # Training time leaves out the curve's evaluations.
    assert rec["cost"]["curve_eval_s"] > 0
    assert points[-1]["train_min"] * 60 == pytest.approx(rec["cost"]["train_wall_s"])


def bench_argv(tmp_path, *extra):
    return ["bench", "--preset", "smoke", "--steps", "2", "--warmup", "1", "--out", str(tmp_path), *extra]


def test_bench_writes_steady_state_and_split_records(tmp_path, capsys):
    from ssl_bench.cli import main

    assert main(bench_argv(tmp_path, "--method", "simclr", "--each-switch")) == 0
    out = capsys.readouterr().out
    # The convnet on the CPU runs channels_last unless told otherwise: the flip turns it off.
    for label in ("as configured", "precision=bf16", "channels_last=false", "compile=default"):
        assert label in out
    (path,) = (tmp_path / "bench").glob("*.json")
    rec = json.loads(path.read_text())
    assert rec["kind"] == "bench" and rec["steps"] == 2 and rec["images_per_s"] > 0
    assert set(rec["split_ms"]) == {"data_aug", "forward_backward", "optimizer", "ema", "total"}
    assert rec["images_per_s"] == pytest.approx(rec["config"]["train"]["batch_size"] / rec["step_ms"] * 1000)
    assert [v["label"] for v in rec["variants"]][1:] == ["precision=bf16", "channels_last=false", "compile=default"]
    assert rec["switches"]["channels_last"] is True and rec["variants"][2]["switches"]["channels_last"] is False
    assert rec["variants"][1]["switches"]["precision"] == "bf16" and rec["switches"]["precision"] == "fp32"
    # Efficiency: torch's count of one update's FLOPs, the rate it gives, the matmul rates measured.
    assert rec["flops_per_update"] > 0 and set(rec["matmul_peak_gflops"]) == {"fp32", "bf16"}
    assert rec["achieved_gflops"] == pytest.approx(rec["flops_per_update"] / (rec["step_ms"] / 1000) / 1e9)
    assert "GFLOP per update (torch.utils.flop_counter)" in out and "% of this machine's fp32 matmul rate" in out
    assert rec["page_faults_per_update"] >= 0 and "page faults an update" in out


def test_an_updates_flops_are_torchs_count_of_its_products_and_convolutions():
    """The count is FlopCounterMode's over the whole update: the augmentation's blur
    convolutions, then the forward and backward (between 2× and 3× the forward: the first
    layer's input needs no gradient); the optimizer and EMA add none it counts."""
    from torch.utils.flop_counter import FlopCounterMode

    from ssl_bench.bench import update_flops

    cfg = smoke("simclr")
    step, images = small_step(cfg)
    batch = [images[:16]]
    with FlopCounterMode(display=False) as views:
        v1, v2 = step.views(batch[0])
    with FlopCounterMode(display=False) as forward:
        with torch.no_grad():
            step.model(v1, v2)
    with FlopCounterMode(display=False) as both:
        step.forward_backward(v1, v2)
    total = update_flops(step, batch, 0.0, None)
    assert total == views.get_total_flops() + both.get_total_flops()
    assert 2 * forward.get_total_flops() < both.get_total_flops() <= 3 * forward.get_total_flops()


def test_bench_compares_with_lightly_in_the_same_call(tmp_path, capsys):
    pytest.importorskip("lightly")
    from ssl_bench.cli import main

    assert main(bench_argv(tmp_path, "--method", "byol", "--compare", "lightly", "--workers", "0")) == 0
    out = capsys.readouterr().out
    (path,) = (tmp_path / "bench").glob("*.json")
    rec = json.loads(path.read_text())
    theirs = rec["compare"]
    assert theirs["library"] == "lightly" and theirs["images_per_s"] > 0
    assert theirs["ratio"] == pytest.approx(rec["images_per_s"] / theirs["images_per_s"])
    assert f"ssl-bench / lightly = {theirs['ratio']:.2f}x" in out


@pytest.mark.parametrize("method", ["byol", "simclr", "simsiam"])
def test_lightly_model_matches_ours_in_size_and_trains(method):
    pytest.importorskip("lightly")
    from ssl_bench.backbones import build_backbone
    from ssl_bench.compare_lightly import LightlyModel, PILViews, lightly_transform

    cfg = smoke(method)
    ours = small_step(cfg)[0].model
    backbone, feat = build_backbone(cfg.backbone, 1, 28)
    theirs = LightlyModel(cfg, backbone, feat)

    def trainable(m):
        return sum(p.numel() for p in m.parameters() if p.requires_grad)

    # The same widths; the heads differ only in where biases sit.
    assert trainable(theirs) == pytest.approx(trainable(ours), rel=0.01)
    data = load_dataset("fashion-mnist", None, train_subset=100, test_subset=10)
    views = PILViews(data.ssl_images[:4], lightly_transform(cfg, 28, data.mean, data.std))
    batch = torch.utils.data.default_collate([views[i] for i in range(4)])
    assert [tuple(v.shape) for v in batch] == [(4, 1, 28, 28)] * 2
    loss = theirs.loss(*batch)
    loss.backward()
    assert torch.isfinite(loss)


def test_compare_refuses_what_lightly_cannot_match(tmp_path, capsys):
    from ssl_bench.cli import main

    assert main(bench_argv(tmp_path, "--compare", "lightly", "--set", "train.accumulate=2")) == 2
    err = capsys.readouterr().err
    assert "train.accumulate=2" in err and "Traceback" not in err
    assert not (tmp_path / "bench").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("method", ["byol", "simclr", "simsiam"])
def test_the_step_never_waits_for_the_device(method):
    """No host synchronisation inside an update (torch raises on one in "error" mode)."""
    cfg = smoke(method, **{"train.precision": "bf16", "train.channels_last": True})
    data = load_dataset("fashion-mnist", None, train_subset=cfg.data.train_subset)
    images = data.ssl_images.cuda()
    mean = torch.tensor(data.mean, device="cuda").view(1, -1, 1, 1)
    std = torch.tensor(data.std, device="cuda").view(1, -1, 1, 1)
    step = build_step(cfg, 1, mean, std, images.shape[-1])
    idx = [images[:32]]
    tau = 0.99 if cfg.method.target == "ema" else None
    step(idx, 0.1, tau)  # first call: lazy initialisation may sync
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        loss = step(idx, 0.1, tau)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert torch.isfinite(loss)


# What makes a CUDA host wait for the device inside a step: a read of a device value on the
# host, a host tensor copied to the device, or an op whose output size depends on the data.
_HOST_WAITS = {
    "item", "tolist", "numpy", "cpu", "__bool__", "__int__", "__float__", "__index__",
    "tensor", "as_tensor", "nonzero", "argwhere", "masked_select", "unique",
}  # fmt: skip


@pytest.mark.parametrize("method", ["byol", "simclr", "simsiam", "moco_v2"])
def test_a_step_makes_no_call_that_waits_for_the_device(method, monkeypatch):
    """The CPU-side guard of the CUDA no-sync test: no call in the augmentation, the forward
    and backward, the loss or the EMA that would make a CUDA host wait (found on a GPU:
    tensors built from Python lists inside the augmentation's draw). The optimizer is
    torch's own and is left out; the colour jitter takes its GPU path (the CPU's grouped
    path reads group sizes back by design)."""
    from functools import partial

    from torch.overrides import TorchFunctionMode

    import ssl_bench.augment
    from ssl_bench.color import color_jitter

    monkeypatch.setattr(ssl_bench.augment, "color_jitter", partial(color_jitter, grouped=False))
    cfg = smoke(method)
    data = load_dataset("fashion-mnist", None, train_subset=cfg.data.train_subset)
    mean = torch.tensor(data.mean).view(1, -1, 1, 1)
    std = torch.tensor(data.std).view(1, -1, 1, 1)
    step = build_step(cfg, 1, mean, std, data.ssl_images.shape[-1])
    tau = 0.99 if cfg.method.target == "ema" else None
    batch = [data.ssl_images[:32]]
    step(batch, 0.1, tau)  # the first call may initialise lazily
    calls: list[str] = []

    class Watch(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", str(func))
            masks = [a for a in (args[1:2] if name == "__getitem__" else ()) if _bool_index(a)]
            if name in _HOST_WAITS or masks:
                calls.append(name)
            return func(*args, **(kwargs or {}))

    with Watch():
        v1, v2 = step.views(batch[0])
        step.forward_backward(v1, v2)
        if tau is not None:
            step.ema(tau)
    assert not calls, f"calls that make a CUDA host wait: {calls}"


def _bool_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in items)
