"""Every registered method builds and takes a training step (parametrized over the
registry, so a newly added method is covered with no new test code)."""

import dataclasses

import pytest
import torch

from ssl_bench.config import build_config
from ssl_bench.distributed import SINGLE
from ssl_bench.objective import objective
from ssl_bench.registry import get_method, list_methods
from ssl_bench.schedules import ema_update
from ssl_bench.spec import EMA, MLP, BarlowTwins, InfoNCE, SpecError, VICReg, validate_method
from ssl_bench.step import build_model, build_optimizer


def test_builtin_presets_are_registered():
    assert {"byol", "simclr", "simsiam", "moco_v2", "barlow_twins", "vicreg"} <= set(list_methods())


def test_presets_are_points_of_one_space():
    byol, simclr, simsiam = get_method("byol"), get_method("simclr"), get_method("simsiam")
    assert (byol.target, byol.loss.beta, byol.predictor is not None, byol.ema.tau_base) == ("ema", 0.0, True, 0.996)
    assert (simclr.target, simclr.loss.beta, simclr.predictor) == ("online", 1.0, None)
    assert (simsiam.target, simsiam.loss.beta, simsiam.projector.bn_out) == ("stopgrad", 0.0, True)
    moco = get_method("moco_v2")
    assert (moco.target, moco.ema, moco.loss.beta, moco.loss.queue) == ("ema", EMA(0.999, cosine=False), 1.0, 65536)
    assert not (moco.loss.same_view_negatives or moco.loss.other_view_negatives) and moco.predictor is None
    assert get_method("barlow_twins").loss == BarlowTwins(0.0051) and get_method("vicreg").loss == VICReg(25, 25, 1)
    assert byol.projector == MLP((4096,), 256) and byol.predictor == MLP((4096,), 256)
    assert simsiam.projector == MLP((2048, 2048), 2048, bn_out=True) and simsiam.predictor == MLP((512,), 2048)
    assert byol.optim.name == "lars" and simsiam.optim.name == "sgd"


@pytest.mark.parametrize("name", list_methods())
def test_method_builds_and_takes_a_step(name):
    cfg = build_config(name, preset="smoke")
    model = build_model(cfg, in_chans=1, image_size=28)
    opt = build_optimizer(cfg, model)
    for g in opt.param_groups:
        g["lr"] = 1e-2
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x1, x2 = torch.randn(8, 1, 28, 28), torch.randn(8, 1, 28, 28)
    branches = model(x1, x2)
    loss = objective(cfg.method, branches, SINGLE, model.queue)
    assert torch.isfinite(loss) and branches.target[0].shape == (8, cfg.method.projector.out)
    loss.backward()
    opt.step()
    after = model.state_dict()
    changed = [k for k in before if not k.startswith("target.") and not torch.equal(before[k], after[k])]
    assert any("backbone" in k for k in changed) and any("projector" in k for k in changed)
    if cfg.method.predictor is not None:
        assert any("predictor" in k for k in changed)
    if cfg.method.target == "ema":
        # The target did not move with the optimizer; the EMA moves it part of the way.
        for name, p in model.target.named_parameters():
            assert torch.equal(p, before[f"target.{name}"])
        target, online = model.ema_pairs()
        ema_update(target, online, 0.5)
        assert not torch.equal(target[0], before["target.0.features.0.weight"])
    else:
        assert model.target is None


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("ema", EMA(1.5), "outside"),
        ("ema", EMA(-0.1), "outside"),
        ("ema", None, "method.ema is required"),
        ("loss", InfoNCE(beta=-1.0), ">= 0"),
        ("loss", InfoNCE(beta=1.0, temperature=0.0), "> 0"),
        ("loss", InfoNCE(beta=1.0, queue=-1), "must be >= 0"),
        ("loss", InfoNCE(beta=1.0, scale="half"), "not one of: eq8, infonce"),
        ("loss", BarlowTwins(lambd=-1.0), "lambd=-1.0 must be >= 0"),
        ("loss", VICReg(var=-1.0), "var=-1.0 must be >= 0"),
        ("target", "mirror", "not one of"),
    ],
)
def test_out_of_range_method_fields(field, value, match):
    spec = dataclasses.replace(get_method("byol"), **{field: value})
    with pytest.raises(SpecError, match=match):
        validate_method(spec)


def test_tau_without_ema_is_an_error_not_ignored():
    spec = dataclasses.replace(get_method("simsiam"), ema=EMA(0.99))
    with pytest.raises(SpecError, match="does not apply"):
        validate_method(spec)


def test_predictor_must_match_projector_width():
    spec = dataclasses.replace(get_method("byol"), predictor=MLP((64,), 32))
    with pytest.raises(SpecError, match="must equal"):
        validate_method(spec)


def test_lars_excludes_biases_and_batchnorm():
    cfg = build_config("byol", preset="smoke", overrides={"method.optim.name": "lars"})
    model = build_model(cfg, in_chans=1, image_size=28)
    opt = build_optimizer(cfg, model)
    decay, no_decay = (
        [g for g in opt.param_groups if g["weight_decay"] > 0],
        [g for g in opt.param_groups if g["weight_decay"] == 0],
    )
    assert all(p.ndim > 1 for g in decay for p in g["params"])
    assert all(p.ndim <= 1 for g in no_decay for p in g["params"])
    n_online = len(model.online_parameters())
    assert sum(len(g["params"]) for g in opt.param_groups) == n_online  # the target is not optimised


def test_external_method_plugs_in_through_the_registry():
    from ssl_bench.registry import METHODS

    def my_method():
        return dataclasses.replace(get_method("byol"), loss=InfoNCE(beta=0.5))

    METHODS.add("test-beta-half", my_method)
    try:
        cfg = build_config("test-beta-half", preset="smoke")
        assert cfg.method.loss.beta == 0.5
        with pytest.raises(KeyError, match="already registered"):
            METHODS.add("test-beta-half", my_method)
    finally:
        METHODS._factories.pop("test-beta-half")
        METHODS._origin.pop("test-beta-half")


def test_method_from_another_package_via_entry_point(tmp_path, monkeypatch):
    """A user's own package registers a method under the `ssl_bench.methods` entry-point
    group and every command sees it, with no change to ssl-bench."""
    from ssl_bench.registry import METHODS

    (tmp_path / "my_ssl_plugin.py").write_text(
        "import dataclasses\n"
        "from ssl_bench.registry import get_method\n"
        "from ssl_bench.spec import InfoNCE\n"
        "def byol_beta_tenth():\n"
        "    return dataclasses.replace(get_method('byol'), loss=InfoNCE(beta=0.1, temperature=0.3))\n"
    )
    dist = tmp_path / "my_ssl_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-ssl-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[ssl_bench.methods]\nbyol-beta-tenth = my_ssl_plugin:byol_beta_tenth\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(METHODS, "_plugins_loaded", False)
    try:
        assert "byol-beta-tenth" in list_methods()
        cfg = build_config("byol-beta-tenth", preset="smoke")
        assert (cfg.method.loss.beta, cfg.method.loss.temperature, cfg.method.target) == (0.1, 0.3, "ema")
    finally:
        METHODS._factories.pop("byol-beta-tenth", None)
        METHODS._origin.pop("byol-beta-tenth", None)


def _moco_model_and_optimizer(lr: float, weight_decay: float):
    """MoCo v2 at the smoke preset's widths, in float64, with plain SGD at (lr, wd)."""
    cfg = build_config("moco_v2", preset="smoke", overrides={"method.optim": get_method("moco_v2").optim})
    model = build_model(cfg, in_chans=1, image_size=28).double()
    opt = torch.optim.SGD(model.online_parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    return cfg, model, opt


def test_moco_v2_trains_with_mocos_own_sgd_update():
    """The symmetrised loss sums two directions; the spec's lr ÷ 2 and wd × 2 make its SGD
    update MoCo's one-direction update (lr 0.03, wd 1e-4) wherever the two directions are
    the same, as they are when both views are the same images."""
    moco = get_method("moco_v2").optim
    assert (moco.base_lr, moco.weight_decay) == (0.03 / 2, 1e-4 * 2)
    cfg, ours, ours_opt = _moco_model_and_optimizer(0.03 / 2, 1e-4 * 2)
    _, theirs, their_opt = _moco_model_and_optimizer(0.03, 1e-4)
    theirs.load_state_dict(ours.state_dict())
    start = {k: v.clone() for k, v in ours.state_dict().items()}
    g = torch.Generator().manual_seed(0)
    for _ in range(3):
        x = torch.randn(8, 1, 28, 28, generator=g, dtype=torch.float64)
        ours_opt.zero_grad()
        objective(cfg.method, ours(x, x), SINGLE, ours.queue).backward()
        ours_opt.step()
        # MoCo's code (Algorithm 1): logits [q·k₊, q·queue] / T, cross-entropy against 0.
        their_opt.zero_grad()
        b = theirs(x, x)
        q = torch.nn.functional.normalize(b.online[0], dim=1)
        k = torch.nn.functional.normalize(b.target[1], dim=1).detach()
        queue = torch.nn.functional.normalize(theirs.queue, dim=1)  # keys, ℓ2-normalised
        logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.T], dim=1) / 0.2
        torch.nn.functional.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long)).backward()
        their_opt.step()
    mine, ref = ours.state_dict(), theirs.state_dict()
    assert all(torch.allclose(mine[k], ref[k], rtol=1e-10, atol=1e-13) for k in mine)
    assert any(not torch.equal(mine[k], start[k]) for k in mine if k.startswith("backbone")), "nothing moved"


@pytest.mark.parametrize("preset", ["cpu", "smoke", "cifar10", "paper", "published"])
@pytest.mark.parametrize("name", list_methods())
def test_a_scale_preset_changes_sizes_never_the_method(name, preset):
    """A preset may cap head widths, τ's base and the queue's length, and choose the
    optimizer; a head's BatchNorm and depth, the target and the loss stay the method's."""
    spec = get_method(name)
    got = build_config(name, preset=preset).method
    for part in ("projector", "predictor"):
        mine, theirs = getattr(got, part), getattr(spec, part)
        assert (mine is None) == (theirs is None), part
        if theirs is not None:
            assert (mine.bn, mine.bn_out, len(mine.hidden)) == (theirs.bn, theirs.bn_out, len(theirs.hidden)), part
            assert mine.out <= theirs.out and all(a <= b for a, b in zip(mine.hidden, theirs.hidden, strict=True))
    assert got.target == spec.target and got.augmentation == spec.augmentation
    if isinstance(spec.loss, InfoNCE):
        assert dataclasses.replace(got.loss, queue=spec.loss.queue) == spec.loss and got.loss.queue <= spec.loss.queue
    else:
        assert got.loss == spec.loss
    assert (got.ema is None) == (spec.ema is None)
    if spec.ema is not None:
        assert got.ema.cosine == spec.ema.cosine
