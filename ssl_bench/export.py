"""A finished run's encoder as a standalone file: `model.safetensors` plus `encoder.json`
(backbone, stem, input channels, image size, normalisation, run id, record path), and
`load_encoder` to build the module back from them.

The weights are the backbone's own state dict, so a torchvision or timm backbone loads
into the library's model made the same way: ``torchvision.models.<name>()`` with
``fc = nn.Identity()``, or ``timm.create_model(<name>, num_classes=0, in_chans=...)``,
each with the `stem` the json names (``small_images``: conv1 a 3×3 stride-1 conv and
no max-pool, as `ssl_bench.backbones` builds ResNets for images of at most 64 px).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ssl_bench.backbones import CIFAR_STEM_MAX_SIZE, build_backbone
from ssl_bench.records import ENCODER_NAME, RECORD_NAME, atomic_write, write_json_atomic
from ssl_bench.spec import SpecError

if TYPE_CHECKING:
    from ssl_bench.config import RunConfig

ENCODER_INFO = "encoder_info.json"  # written beside encoder.pt when a run finishes
WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "encoder.json"


def encoder_info(
    cfg: RunConfig,
    in_chans: int,
    image_size: int,
    mean: torch.Tensor | Sequence[float],
    std: torch.Tensor | Sequence[float],
    run_id: str,
    record: Path,
) -> dict:
    """What it takes to rebuild and feed a run's encoder, without its config or data."""
    small = image_size <= CIFAR_STEM_MAX_SIZE
    return {
        "backbone": cfg.backbone,
        # ResNet-style backbones only; the convnet and patch models have a single stem.
        "stem": "small_images" if small else "imagenet",
        "in_chans": in_chans,
        "image_size": image_size,
        "mean": [float(v) for v in torch.as_tensor(mean).flatten()],
        "std": [float(v) for v in torch.as_tensor(std).flatten()],
        "run_id": run_id,
        "record": str(record),
    }


def write_encoder_info(run_dir: Path, info: dict) -> None:
    write_json_atomic(Path(run_dir) / ENCODER_INFO, info)


def export_run(run_dir: str | Path, to: str | Path | None = None) -> Path:
    """Write `model.safetensors` and `encoder.json` for the done run in `run_dir` into `to`
    (default: `run_dir/export`); return that folder. SpecError (one line) when the run is
    not done or has no saved encoder."""
    from safetensors.torch import save

    run_dir = Path(run_dir)
    rec_path = run_dir / RECORD_NAME
    try:
        status = json.loads(rec_path.read_text()).get("status")
    except (OSError, ValueError) as err:
        raise SpecError(f"export {run_dir}: no readable record.json there ({type(err).__name__})") from err
    if status != "done":
        raise SpecError(f"export {run_dir}: the run is {status!r}; only a done run's encoder can be exported")
    info_path, weights_path = run_dir / ENCODER_INFO, run_dir / ENCODER_NAME
    if not info_path.is_file() or not weights_path.is_file():
        raise SpecError(
            f"export {run_dir}: no {ENCODER_INFO} and encoder.pt there (runs finished before export was added "
            "lack the first; re-run into a new --out)"
        )
    info = json.loads(info_path.read_text())
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    out = Path(to) if to is not None else run_dir / "export"
    # safetensors refuses tensors that share storage or are views: store plain copies.
    blob = save({k: v.detach().contiguous().clone() for k, v in state.items()}, metadata={"run_id": info["run_id"]})
    atomic_write(out / WEIGHTS_NAME, lambda f: f.write(blob), mode="wb")
    write_json_atomic(out / CONFIG_NAME, {**info, "record": str(rec_path.resolve())})
    return out


def load_encoder(path: str | Path) -> torch.nn.Module:
    """The exported encoder in `path` (a folder from `export_run`), in eval mode: images
    in, features out, after normalising with the json's mean and std."""
    from safetensors.torch import load_file

    path = Path(path)
    info = json.loads((path / CONFIG_NAME).read_text())
    model, _ = build_backbone(info["backbone"], info["in_chans"], info["image_size"])
    model.load_state_dict(load_file(str(path / WEIGHTS_NAME)))
    return model.eval()
