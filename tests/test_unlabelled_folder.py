"""Pretraining on a folder of unlabelled images: every image at any depth is trained on,
unreadable files are skipped and listed, grey images become RGB, and the run is scored on
a separate class-per-folder tree (--eval-dir) or says why it was not scored."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ssl_bench.cli import main
from ssl_bench.data import DatasetError, load_dataset

TINY = ["--preset", "smoke", "--set", "data.image_size=16", "--set", "train.batch_size=8", "--set", "train.epochs=1"]


def make_unlabelled(root: Path) -> None:
    """12 colour images at three depths (jpg and png), one grey image, one corrupt file."""
    rng = np.random.default_rng(0)
    for i in range(12):
        d = root / ("" if i < 4 else "a" if i < 8 else "a/b")
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(d / f"c{i}.{'png' if i % 2 else 'jpg'}")
    Image.fromarray(np.full((18, 18), 77, dtype=np.uint8)).save(root / "a" / "grey.png")
    (root / "a" / "broken.jpg").write_bytes(b"not an image")
    (root / "notes.txt").write_text("not an image file, not looked at")


def make_eval(root: Path) -> None:
    rng = np.random.default_rng(1)
    for split, n in (("train", 4), ("val", 2)):
        for c in ("cat", "dog"):
            (root / split / c).mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(root / split / c / f"{i}.png")


@pytest.mark.parametrize("stream", [False, True])
def test_every_readable_image_at_any_depth_corrupt_ones_listed(tmp_path: Path, stream: bool) -> None:
    make_unlabelled(tmp_path)
    data = load_dataset("imagefolder", str(tmp_path), image_size=8, stream=stream)
    assert len(data.ssl_images) == 13 and data.ssl_images.shape[1:] == (3, 8, 8)
    assert data.skipped_files == (str(tmp_path / "a" / "broken.jpg"),)
    assert data.no_evaluation is not None and "--eval-dir" in data.no_evaluation
    assert len(data.train_images) == len(data.test_images) == 0
    images = data.ssl_images.decoded() if stream else data.ssl_images
    grey = images[
        sorted(str(p) for p in tmp_path.rglob("*.*") if p.suffix != ".txt" and p.name != "broken.jpg").index(
            str(tmp_path / "a" / "grey.png")
        )
    ]
    assert (grey == 77).all(), "a grey image is converted to three equal channels"


def test_eval_dir_gives_the_labelled_splits(tmp_path: Path) -> None:
    make_unlabelled(tmp_path / "imgs")
    make_eval(tmp_path / "eval")
    data = load_dataset("imagefolder", str(tmp_path / "imgs"), image_size=8, eval_dir=str(tmp_path / "eval"))
    assert len(data.ssl_images) == 13 and data.no_evaluation is None
    assert (len(data.train_images), len(data.test_images), data.num_classes) == (8, 4, 2)
    assert data.train_labels.tolist() == [0] * 4 + [1] * 4


def test_unreadable_folder_and_eval_dir_for_other_datasets_refused(tmp_path: Path) -> None:
    (tmp_path / "x.jpg").write_bytes(b"junk")
    with pytest.raises(DatasetError, match="none of the 1 image files"):
        load_dataset("imagefolder", str(tmp_path), image_size=8)
    with pytest.raises(DatasetError, match="--eval-dir is for --dataset imagefolder"):
        load_dataset("synthetic", None, eval_dir=str(tmp_path))


def test_run_without_eval_dir_records_why_not_evaluated_then_with_one_scores(tmp_path: Path, capsys) -> None:
    make_unlabelled(tmp_path / "imgs")
    make_eval(tmp_path / "eval")
    base = ["run", "--method", "byol", "--dataset", "imagefolder", "--data-dir", str(tmp_path / "imgs"), *TINY]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert "not evaluated" in capsys.readouterr().out
    (rec_path,) = (tmp_path / "a").glob("*/record.json")
    rec = json.loads(rec_path.read_text())
    assert rec["status"] == "done" and rec["random_init"] is None
    assert rec["evaluation"] == {"run": False, "reason": rec["evaluation"]["reason"]} and rec["evaluation"]["reason"]
    assert rec["data"]["ssl_images"] == 13 and rec["data"]["skipped_files"] == [str(tmp_path / "imgs/a/broken.jpg")]
    assert set(rec["metrics"]) == {"final_loss"} and rec["time_to_accuracy"] == []

    # The same run scored: another --out (this one's id is done, unscored, and says so).
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main([*base, "--eval-dir", str(tmp_path / "eval"), "--out", str(tmp_path / "a")]))
    assert exc.value.code == 2 and "was not evaluated" in capsys.readouterr().err
    assert main([*base, "--eval-dir", str(tmp_path / "eval"), "--out", str(tmp_path / "b")]) == 0
    (scored,) = (tmp_path / "b").glob("*/record.json")
    rec = json.loads(scored.read_text())
    assert "evaluation" not in rec and 0 <= rec["metrics"]["knn_top1"] <= 1 and "linear_top1" in rec["metrics"]
    assert rec["random_init"]["knn_top1"] is not None and rec["data"]["train_images"] == 8


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--eval-dir", "/no/such/dir"], "--eval-dir /no/such/dir: no such directory"),
        (["--eval-dir", ".", "--ablation", "tau"], "--eval-dir is for a single run"),
    ],
)
def test_bad_eval_dir_one_line_exit_2(tmp_path: Path, capsys, extra, message) -> None:
    with pytest.raises(SystemExit) as exc:
        raise SystemExit(main(["run", "--dataset", "imagefolder", "--out", str(tmp_path / "o"), *extra]))
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "o").exists()
