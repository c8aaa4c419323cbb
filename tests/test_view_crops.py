"""`data.crop_source=full`: training crops cut from the whole decoded image in DataLoader
workers (BYOL Table 6), evaluation on resize-then-centre-crop; the config's refusals."""

import pytest
import torch
from helpers import QUIET, smoke
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from ssl_bench.augment import sample_params
from ssl_bench.batches import epoch_batches, training_images
from ssl_bench.config import apply_overrides, run_id, validate_run
from ssl_bench.data import ImageFiles, load_dataset
from ssl_bench.data.view_crops import ViewCrops, crop_seed
from ssl_bench.distributed import SINGLE
from ssl_bench.spec import SpecError
from ssl_bench.train import Preempted, RunEnv, run
from ssl_bench.views import AUG_PRESETS, ViewAug

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def wide_stripes(width: int = 90, height: int = 30) -> Image.Image:
    """Red | green | blue thirds from left to right."""
    img = Image.new("RGB", (width, height), GREEN)
    img.paste(RED, (0, 0, width // 3, height))
    img.paste(BLUE, (2 * width // 3, 0, width, height))
    return img


def stripe_folder(root, n: int = 8):
    for split in ("train", "val"):
        for i in range(n):
            d = root / split / f"c{i % 2}"
            d.mkdir(parents=True, exist_ok=True)
            wide_stripes(90 + 6 * i, 30).save(d / f"{i}.png")
    return str(root)


def folder_cfg(**extra):
    return smoke(
        "byol",
        **{
            "data.dataset": "imagefolder",
            "data.image_size": 16,
            "data.train_subset": None,
            "data.test_subset": None,
            "data.crop_source": "full",
            "data.workers": 0,
            "train.batch_size": 4,
            "train.epochs": 2,
            "eval.linear_probe": False,
            **extra,
        },
    )


def test_a_crop_is_the_drawn_box_of_the_whole_image_resized_bicubic(tmp_path):
    root = stripe_folder(tmp_path)
    data = load_dataset("imagefolder", root, image_size=16, crop_source="full")
    views = (AUG_PRESETS["byol"].view1, AUG_PRESETS["byol"].view2)
    crops = data.ssl_images.with_views(views, seed=3).at_epoch(5)
    assert isinstance(crops, ViewCrops) and crops.shape == (8, 3, 16, 16)
    pair = crops[2]
    assert pair.shape == (2, 3, 16, 16) and pair.dtype == torch.uint8
    # The same draw, by hand: the box against the image's own 102 x 30 pixels.
    img = Image.open(crops.paths[2]).convert("RGB")
    g = torch.Generator().manual_seed(crop_seed(3, 5, 2))
    for v, view in enumerate(views):
        top, left, h, w = (int(x) for x in sample_params(view, 1, (30, img.width), 16, g)["boxes"][0])
        expected = TF.pil_to_tensor(TF.resized_crop(img, top, left, h, w, [16, 16], InterpolationMode.BICUBIC))
        assert torch.equal(pair[v], expected)
    assert torch.equal(crops[2], pair) and not torch.equal(crops.at_epoch(6)[2], pair)


def test_crops_reach_the_borders_the_stored_square_never_shows(tmp_path):
    root = stripe_folder(tmp_path)
    stored = load_dataset("imagefolder", root, image_size=16)
    assert stored.ssl_images[:, 0].max() < 50  # the stored square is the green middle third
    whole = ViewCrops(stored_paths(root), 16).with_views([ViewAug(crop_scale=(1.0, 1.0), crop_ratio=(3.0, 3.0))], 0)
    for i in range(len(whole)):  # the whole 3:1 image, squeezed: red left, blue right
        crop = whole[i][0]
        assert (crop[0, :, :3] > 200).all() and (crop[2, :, -3:] > 200).all()


def stored_paths(root):
    return load_dataset("imagefolder", root, image_size=16, stream=True).train_images.paths


def test_source_size_resizes_the_shorter_side_before_cropping(tmp_path):
    root = stripe_folder(tmp_path, n=2)
    crops = load_dataset("imagefolder", root, image_size=16, crop_source="full", source_size=20).ssl_images
    assert crops.source(1).size == (64, 20)  # 96 x 30 → 64 x 20
    assert load_dataset("imagefolder", root, image_size=16, crop_source="full").ssl_images.source(1).size == (96, 30)


def test_evaluation_images_are_resized_then_centre_cropped(tmp_path):
    root = stripe_folder(tmp_path, n=2)
    for stream in (False, True):
        data = load_dataset("imagefolder", root, image_size=16, crop_source="full", stream=stream)
        assert isinstance(data.test_images, ImageFiles) == stream
        img = Image.open(stored_paths(root)[0]).convert("RGB")
        resized = TF.resize(img, 18, interpolation=InterpolationMode.BICUBIC)  # round(16 / 0.875)
        expected = TF.pil_to_tensor(TF.center_crop(resized, [16, 16]))
        assert torch.equal(data.train_images[0], expected)


def test_batches_are_pairs_of_crops_the_same_with_any_worker_count(tmp_path):
    root = stripe_folder(tmp_path)
    cfg = folder_cfg()
    data = load_dataset("imagefolder", root, image_size=16, crop_source="full")
    images = training_images(data.ssl_images, cfg, torch.device("cpu"))
    order = torch.randperm(8, generator=torch.Generator().manual_seed(0))
    inline = list(epoch_batches(images, order, 0, 2, cfg, SINGLE, epoch=1))
    workers = apply_overrides(cfg, {"data.workers": 2})
    pooled = list(epoch_batches(images, order, 0, 2, workers, SINGLE, epoch=1))
    assert inline[0][0].shape == (4, 2, 3, 16, 16)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(inline, pooled, strict=True))


def test_a_whole_image_run_resumes_to_the_same_result_and_has_its_own_id(tmp_path):
    root = stripe_folder(tmp_path)
    cfg = folder_cfg()
    assert run_id(cfg) != run_id(apply_overrides(cfg, {"data.crop_source": "stored"}))
    assert run_id(cfg) != run_id(apply_overrides(cfg, {"data.source_size": 20}))
    ref = run(cfg, RunEnv(out_dir=tmp_path / "a", data_dir=root, **QUIET))
    calls = {"n": 0}

    def stop_in_second_epoch():
        calls["n"] += 1
        return calls["n"] >= 3  # 2 updates per epoch

    with pytest.raises(Preempted):
        run(cfg, RunEnv(out_dir=tmp_path / "b", data_dir=root, should_stop=stop_in_second_epoch, **QUIET))
    resumed = run(cfg, RunEnv(out_dir=tmp_path / "b", data_dir=root, **QUIET))
    assert resumed["resumes"] and resumed["curves"] == ref["curves"] and resumed["metrics"] == ref["metrics"]


def test_the_default_keeps_old_ids():
    cfg = smoke("byol")
    same = apply_overrides(cfg, {"data.crop_source": "stored", "data.source_size": 0})
    assert run_id(same) == run_id(cfg)


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"data.crop_source": "whole"}, ["data.crop_source='whole'", "stored, full"]),
        ({"data.source_size": 256}, ["data.source_size=256", "crop_source=full"]),
        ({"data.crop_source": "full", "data.source_size": -1}, ["data.source_size=-1"]),
        (
            {"data.dataset": "imagefolder", "data.image_size": 224, "data.crop_source": "full"}
            | {"data.source_size": 128},
            ["data.source_size=128", "data.image_size=224"],
        ),
        ({"data.crop_source": "full"}, ["data.crop_source=full", "fashion-mnist", "imagefolder"]),
    ],
)
def test_bad_crop_settings_are_refused_in_one_line(overrides, words):
    with pytest.raises(SpecError) as err:
        validate_run(apply_overrides(smoke("byol"), overrides))
    message = str(err.value)
    assert "\n" not in message and all(w in message for w in words), message


def test_the_cli_refuses_a_bad_crop_source_with_exit_2(tmp_path, capsys):
    from ssl_bench.cli import main

    out = tmp_path / "out"
    assert main(["run", "--preset", "smoke", "--set", "data.crop_source=whole", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "data.crop_source='whole'" in err and "Traceback" not in err and not out.exists()


def test_the_paper_preset_crops_whole_images():
    from ssl_bench.config import build_config

    assert build_config("byol", preset="paper").data.crop_source == "full"


def test_two_processes_cut_the_crops_one_process_cuts(tmp_path):
    """Crops are keyed by (seed, epoch, image), so a 2-process run trains on what one trains on."""
    root = stripe_folder(tmp_path)
    one = folder_cfg(**{"train.sync_bn": True, "train.precision": "fp64"})  # float64: no CPU-dependent tolerance
    two = apply_overrides(one, {"train.devices": 2})
    a = run(one, RunEnv(out_dir=tmp_path / "runs", data_dir=root, device="cpu", **QUIET))
    b = run(two, RunEnv(out_dir=tmp_path / "runs", data_dir=root, device="cpu", **QUIET))
    assert b["cost"]["devices"] == 2 and b["cost"]["ranks_agree"]
    assert [p["loss"] for p in a["curves"]] == pytest.approx([p["loss"] for p in b["curves"]], rel=1e-6)


def test_the_paper_preset_on_array_data_keeps_the_stored_images_which_are_whole():
    from ssl_bench.config import build_config

    assert build_config("byol", preset="paper", dataset="cifar10").data.crop_source == "stored"
    assert build_config("byol", preset="paper", overrides={"data.dataset": "cifar10"}).data.crop_source == "stored"
    with pytest.raises(SpecError, match="data.crop_source=full: cifar10"):
        validate_run(
            build_config("byol", preset="smoke", overrides={"data.crop_source": "full", "data.dataset": "cifar10"})
        )
