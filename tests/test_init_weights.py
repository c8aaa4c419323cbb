"""Continued pretraining: --init starts the backbone from weights (a file, or a timm or
torchvision name already cached), names them in the run id by content, scores the encoder
against them, and refuses weights that do not fit in one line."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from ssl_bench.backbones import build_backbone
from ssl_bench.cli import main
from ssl_bench.config import Init
from ssl_bench.init_weights import digest, load_init, read_weights
from ssl_bench.records import RECORD_NAME
from ssl_bench.spec import SpecError

SMOKE = ["run", "--method", "byol", "--preset", "smoke"]


def record(out: Path) -> dict:
    (path,) = out.glob(f"*/{RECORD_NAME}")
    return json.loads(path.read_text())


def run_id_of(argv: list[str], capsys) -> str:
    assert main([*argv, "--print-config"]) == 0
    return json.loads(capsys.readouterr().out)["run_id"]


def test_a_run_continues_from_an_exported_encoder_and_is_scored_against_it(tmp_path, capsys):
    assert main([*SMOKE, "--out", str(tmp_path / "a")]) == 0
    first = record(tmp_path / "a")
    run_dir = tmp_path / "a" / first["run_id"]
    assert main(["export", str(run_dir), "--to", str(tmp_path / "export")]) == 0
    weights = tmp_path / "export" / "model.safetensors"
    assert main([*SMOKE, "--init", str(weights), "--out", str(tmp_path / "b")]) == 0
    second = record(tmp_path / "b")
    # It started where the first run ended: its initialisation scores what the first run's encoder scored.
    assert second["initialisation"]["knn_top1"] == first["metrics"]["knn_top1"]
    assert second["random_init"] == first["random_init"]  # the random twin is still there
    assert second["config"]["init"]["weights"] == str(weights) and second["run_id"] != first["run_id"]
    assert "over its init" in capsys.readouterr().out
    # The id names the weights, not the file: encoder.pt (a torch state dict) holds the same ones.
    capsys.readouterr()
    same = run_id_of([*SMOKE, "--init", str(run_dir / "encoder.pt")], capsys)
    assert same == second["run_id"] != run_id_of(SMOKE, capsys)


def test_weights_that_do_not_fit_are_one_line_and_nothing_is_written(tmp_path, capsys):
    net, _ = build_backbone("convnet", 1, 28)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    first = next(iter(state))
    state[first] = torch.zeros(3, *state[first].shape[1:])
    save_file(state, str(tmp_path / "bad.safetensors"))
    assert main([*SMOKE, "--init", str(tmp_path / "bad.safetensors"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        f"ssl-bench: error: --init {tmp_path / 'bad.safetensors'} does not fit the backbone: shape {first}"
    )
    assert "\n" not in err and not any((tmp_path / "out").glob("*/record.json"))


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b"not weights"), "cannot read weights"),
        (lambda p: torch.save([1, 2], p), "holds no state dict of tensors"),
    ],
)
def test_a_missing_or_unreadable_weights_file_is_one_line(tmp_path, capsys, make, expected):
    path = tmp_path / "w.pt"
    make(path)
    assert main([*SMOKE, "--init", str(path), "--out", str(tmp_path / "out")]) == 2
    assert expected in capsys.readouterr().err and not (tmp_path / "out").exists()


def test_init_is_refused_with_an_ablation(capsys):
    assert main(["run", "--ablation", "tau", "--init", "x.pt"]) == 2
    assert "--init is for single runs" in capsys.readouterr().err


def test_torchvision_weights_come_from_the_local_cache_only(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    name = "torchvision/ResNet18_Weights.IMAGENET1K_V1"
    with pytest.raises(SpecError, match="not in the torch hub cache"):
        read_weights(name)
    import torchvision

    cached = torchvision.models.resnet18().state_dict()  # a classifier's state dict, as the cache holds
    (tmp_path / "torch" / "hub" / "checkpoints").mkdir(parents=True)
    torch.save(cached, tmp_path / "torch" / "hub" / "checkpoints" / "resnet18-f37072fd.pth")
    state = read_weights(name)
    backbone, _ = build_backbone("resnet18", 3, 224)
    dropped = load_init(backbone, Init(name, digest(state)))
    assert sorted(dropped) == ["fc.bias", "fc.weight"]  # the classifier's head: an encoder has none
    assert torch.equal(backbone.state_dict()["conv1.weight"], cached["conv1.weight"])


def test_timm_weights_come_from_the_local_hugging_face_cache_only(tmp_path, monkeypatch):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, filename: None)
    with pytest.raises(SpecError, match="not in the local Hugging Face cache"):
        read_weights("timm/resnet18")
    net, _ = build_backbone("timm/resnet18", 3, 64)
    save_file(net.state_dict(), str(tmp_path / "model.safetensors"))
    asked = []

    def cached(repo, filename):
        asked.append((repo, filename))
        return str(tmp_path / "model.safetensors") if filename == "model.safetensors" else None

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", cached)
    assert digest(read_weights("timm/resnet18")) == digest(net.state_dict())
    assert asked[-1] == ("timm/resnet18.a1_in1k", "model.safetensors")


def test_weights_changed_since_the_run_was_named_are_refused(tmp_path):
    net, _ = build_backbone("convnet", 1, 28)
    save_file(net.state_dict(), str(tmp_path / "w.safetensors"))
    with pytest.raises(SpecError, match="changed since this run was named"):
        load_init(net, Init(str(tmp_path / "w.safetensors"), "0" * 16))
