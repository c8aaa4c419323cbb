"""Export: a done run's encoder as model.safetensors + encoder.json; reloaded with
`ssl_bench.load_encoder`, or into the library's own model made with the same stem, it gives
the run's embeddings exactly (convnet, a torchvision ResNet, a timm model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from ssl_bench import load_encoder
from ssl_bench.cli import main

TINY = ["--preset", "smoke", "--set", "data.image_size=16", "--set", "train.batch_size=8", "--set", "train.epochs=1"]
TINY += ["--set", "data.train_subset=40", "--set", "data.test_subset=20", "--set", "eval.knn_every=0"]


def _small_image_stem(model: nn.Module, in_chans: int) -> nn.Module:
    """The json's `small_images` stem on a library ResNet (3×3 stride-1 conv1, no max-pool)."""
    model.conv1 = nn.Conv2d(in_chans, model.conv1.out_channels, 3, stride=1, padding=1, bias=False)
    model.maxpool = nn.Identity()
    return model


def _library_model(backbone: str, in_chans: int) -> nn.Module | None:
    if backbone == "resnet18":
        import torchvision

        model = torchvision.models.resnet18()
        model.fc = nn.Identity()
        return _small_image_stem(model, in_chans)
    if backbone == "timm/resnet18":
        import timm

        return _small_image_stem(timm.create_model("resnet18", num_classes=0, in_chans=in_chans), in_chans)
    return None


@pytest.mark.parametrize("backbone", ["convnet", "resnet18", "timm/resnet18"])
def test_exported_encoder_gives_the_runs_embeddings(tmp_path: Path, capsys, backbone: str) -> None:
    from safetensors.torch import load_file

    from ssl_bench.backbones import build_backbone

    assert main(["run", "--method", "byol", "--backbone", backbone, *TINY, "--out", str(tmp_path / "runs")]) == 0
    (run_dir,) = [p.parent for p in (tmp_path / "runs").glob("*/record.json")]
    assert main(["export", str(run_dir), "--to", str(tmp_path / "enc")]) == 0
    assert "model.safetensors" in capsys.readouterr().out
    info = json.loads((tmp_path / "enc" / "encoder.json").read_text())
    assert info["backbone"] == backbone and info["run_id"] == run_dir.name and info["in_chans"] == 1
    assert (info["image_size"], info["stem"], len(info["mean"]), len(info["std"])) == (16, "small_images", 1, 1)
    assert Path(info["record"]) == (run_dir / "record.json").resolve()

    run_encoder, _ = build_backbone(backbone, 1, 16)
    run_encoder.load_state_dict(torch.load(run_dir / "encoder.pt", weights_only=True))
    x = (torch.rand(4, 1, 16, 16) - info["mean"][0]) / info["std"][0]
    with torch.no_grad():
        expected = run_encoder.eval()(x)
        assert torch.equal(load_encoder(tmp_path / "enc")(x), expected)
        library = _library_model(backbone, 1)
        if library is not None:
            library.load_state_dict(load_file(str(tmp_path / "enc" / "model.safetensors")))
            assert torch.equal(library.eval()(x), expected)
    # The export is the trained encoder, not a fresh one.
    fresh, _ = build_backbone(backbone, 1, 16)
    with torch.no_grad():
        assert not torch.equal(fresh.eval()(x), expected)


def test_export_refuses_a_run_that_is_not_done(tmp_path: Path, capsys) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "record.json").write_text(json.dumps({"status": "failed"}))
    for argv, message in (
        (["export", str(tmp_path / "nope")], "no such directory"),
        (["export", str(tmp_path / "r")], "the run is 'failed'; only a done run's encoder can be exported"),
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "r" / "export").exists()
