"""Streamed data (data.stream=true: an image folder's images decoded from disk in DataLoader
workers instead of held in memory): a streamed run equals a loaded one, also when resumed
mid-epoch; the streamed pixels are the loaded ones; asking to stream a data set that is not
an image folder is refused; the throughput benchmark streams when asked."""

import json

import pytest
import torch
from helpers import QUIET

from ssl_bench.config import build_config, run_id
from ssl_bench.data import load_dataset
from ssl_bench.train import RunEnv, run


def photo_folder(root, n_train=64, n_val=16, size=20):
    """An image folder of noise PNGs in 4 classes, enough for a few updates."""
    from PIL import Image

    g = torch.Generator().manual_seed(0)
    for split, n in (("train", n_train), ("val", n_val)):
        for i in range(n):
            d = root / split / f"class{i % 4}"
            d.mkdir(parents=True, exist_ok=True)
            pixels = torch.randint(0, 256, (size, size, 3), generator=g, dtype=torch.uint8).numpy()
            Image.fromarray(pixels).save(d / f"{i:03d}.png")
    return root


def folder_config(**extra):
    overrides = {
        "data.dataset": "imagefolder",
        "data.image_size": 16,
        "data.train_subset": None,
        "data.test_subset": None,
        "train.batch_size": 16,
        "train.epochs": 2,
        "eval.linear_probe": False,
        **extra,
    }
    return build_config("byol", preset="smoke", overrides=overrides)


def test_a_streamed_run_equals_a_loaded_one_also_when_resumed(tmp_path):
    from ssl_bench.train import Preempted

    root = str(photo_folder(tmp_path / "photos"))
    loaded = run(folder_config(), RunEnv(out_dir=tmp_path / "a", data_dir=root, **QUIET))
    cfg = folder_config(**{"data.stream": True, "data.workers": 2})
    assert run_id(cfg) == loaded["run_id"]  # how the images arrive is not what the run is
    calls = {"n": 0}

    def stop_mid_epoch():
        calls["n"] += 1
        return calls["n"] >= 6  # 4 updates per epoch: stops in the second

    with pytest.raises(Preempted):
        run(cfg, RunEnv(out_dir=tmp_path / "b", data_dir=root, should_stop=stop_mid_epoch, **QUIET))
    streamed = run(cfg, RunEnv(out_dir=tmp_path / "b", data_dir=root, **QUIET))
    assert streamed["resumes"] and streamed["curves"] == loaded["curves"]
    assert streamed["metrics"] == loaded["metrics"]


def test_streamed_images_are_the_loaded_pixels(tmp_path):
    from ssl_bench.batches import in_chunks
    from ssl_bench.data import ImageFiles

    root = str(photo_folder(tmp_path, n_train=12, n_val=4))
    loaded = load_dataset("imagefolder", root, image_size=8, train_subset=8)
    streamed = load_dataset("imagefolder", root, image_size=8, train_subset=8, stream=True)
    assert isinstance(streamed.ssl_images, ImageFiles) and streamed.ssl_images.shape == (8, 3, 8, 8)
    assert torch.equal(streamed.train_labels, loaded.train_labels)
    chunks = list(in_chunks(streamed.train_images, 3, torch.device("cpu"), workers=1))
    assert [len(c) for c in chunks] == [3, 3, 2]
    assert torch.equal(torch.cat(chunks), loaded.train_images)


def test_streaming_what_is_held_in_memory_is_refused(capsys):
    from ssl_bench.cli import main

    assert main(["run", "--preset", "smoke", "--set", "data.stream=true", "--out", "unused"]) == 2
    err = capsys.readouterr().err
    assert "data.stream=true" in err and "imagefolder" in err and "Traceback" not in err


def test_bench_streams_when_asked(tmp_path, capsys):
    from ssl_bench.cli import main

    root = str(photo_folder(tmp_path / "photos", n_train=32, n_val=4))
    argv = ["bench", "--preset", "smoke", "--dataset", "imagefolder", "--data-dir", root, "--batch-size", "8"]
    argv += ["--set", "data.image_size=16", "--set", "data.train_subset=none", "--set", "data.test_subset=none"]
    argv += ["--set", "data.stream=true", "--set", "data.workers=1", "--steps", "2", "--warmup", "1"]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 0
    (path,) = (tmp_path / "out" / "bench").glob("*.json")
    assert json.loads(path.read_text())["config"]["data"]["stream"] is True
