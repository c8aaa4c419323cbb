"""A run is one frozen RunConfig: method spec, augmentation, backbone, data, schedule, eval.

Everything that can change a result is in RunConfig and therefore in the run id; where
things run (data dir, output dir, device) is not, and neither are the names a run was
reached by (method name, preset): one computation, one id. Ablations and presets are the
same mechanism: a base config plus dotted-key overrides ("method.ema.tau_base": 0.99).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ssl_bench.config_checks import (  # noqa: F401  (the accepted values, named from here too)
    COMPILE_MODES,
    CROP_SOURCES,
    MICRO_BATCHES,
    MIN_IMAGE_SIZE,
    PRECISIONS,
    PROBES,
    validate_run,
)
from ssl_bench.dataset_info import DATASET_INFO
from ssl_bench.overrides import coerce, parse_set_args, set_path
from ssl_bench.presets import PRESETS, default_preset, register_preset
from ssl_bench.records import SCHEMA_VERSION
from ssl_bench.registry import get_method, list_methods
from ssl_bench.spec import MethodSpec, SpecError
from ssl_bench.views import AUG_PRESETS, AugSpec, ViewAug

# A field added after records exist is marked so: at its default it stays out of the run
# id, so existing records keep their ids (the default reproduces the old behaviour).
ADDED_LATER = {"omit_from_id_at_default": True}
# How a run is fed, not what it computes (the result is the same either way): never in the id.
EXECUTION_ONLY = {"not_in_id": True}
# Names a run was reached by, kept in its config for people: never in the id either.
LABEL = {"not_in_id": True}
# Schema 2 (loss and EMA sub-specs, names out of the id); records of schema 1 are upgraded
# by ssl_bench.migrate.
CONFIG_SCHEMA = SCHEMA_VERSION


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "fashion-mnist"
    train_subset: int | None = None  # balanced subset of the labelled train split (None: all)
    test_subset: int | None = None
    image_size: int | None = None  # size of the augmented views; None: the dataset's own
    # Decode images from disk in DataLoader workers (pinned memory) instead of holding the
    # whole set on the device: for image folders too large for memory. Same pixels, same
    # batches, same result.
    stream: bool = field(default=False, metadata=EXECUTION_ONLY)
    workers: int = field(default=8, metadata=EXECUTION_ONLY)  # DataLoader workers when streaming
    # Where the training crops are cut from. "stored": the image as loaded (image folders:
    # shorter side resized to image_size, centre kept). "full": the whole decoded image, in
    # DataLoader workers, resized bicubic (BYOL Table 6); evaluation then uses the usual
    # resize to image_size / 0.875 and centre crop. Image folders only.
    crop_source: str = field(default="stored", metadata=ADDED_LATER)
    # With crop_source=full: the decoded image's shorter side before cropping (256, say,
    # for speed), or 0 to keep each file's own size as the paper does.
    source_size: int = field(default=0, metadata=ADDED_LATER)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 100
    batch_size: int = 256  # images per optimizer update: the paper's "batch size"
    # Micro-batches per update. The BYOL paper emulates a large batch this way with the
    # target updated once per update (App. F); the contrastive term then only sees each
    # micro-batch's negatives, and BatchNorm sees micro-batches.
    accumulate: int = 1
    # auto: bf16 autocast on CUDA, fp32 on the CPU. fp64 trains and augments in float64: slow,
    # for checks that two process layouts train the same model (rounding then sits near 1e-12
    # whatever the CPU's vector width, where fp32 differences depend on it).
    precision: str = "auto"
    # The convolutions' memory layout: none chooses it for the device (`step.uses_channels_last`),
    # true or false is the user's. The same mathematics in either layout, so not in the id.
    channels_last: bool | None = field(default=None, metadata=EXECUTION_ONLY)
    # Processes (one per GPU) for one run, with DistributedDataParallel. batch_size stays
    # the global batch (and sets the lr); each process takes batch_size / devices.
    devices: int = field(default=1, metadata=ADDED_LATER)
    # BatchNorm statistics over the global batch rather than each device's.
    sync_bn: bool = field(default=False, metadata=ADDED_LATER)
    # torch.compile of the network's forward and loss: off, or a torch.compile mode
    # (default, max-autotune, max-autotune-no-cudagraphs). Numerically close to eager, not
    # bit-identical, so it is part of the run's identity.
    compile: str = field(default="off", metadata=ADDED_LATER)
    # How an update of several micro-batches runs: "one_pass" forwards them together, with
    # BatchNorm statistics, negatives and a queue's keys per micro-batch as if run one after
    # another (`ssl_bench.ghost_bn`; equal in float64), or "sequential", one pass each. The
    # same mathematics either way, so not part of the run id.
    micro_batches: str = field(default="one_pass", metadata=EXECUTION_ONLY)


@dataclass(frozen=True)
class EvalConfig:
    knn_k: int = 200
    knn_temperature: float = 0.1
    knn_every: int = 0  # also evaluate kNN every N epochs for the curve (0: only at the end)
    linear_probe: bool = True
    # "sklearn": L-BFGS logistic regression, C = 1, on the CPU in float64 (the small presets);
    # "torch": ssl_bench.probe on the run's device in float32, its L2 penalty chosen on a
    # held-out split of the training set (ImageNet scale). Added after records existed.
    # "paper": the BYOL paper's protocol (App. C.1, ssl_bench.probe_sgd): SGD on augmented
    # images for probe_epochs, its learning rate picked on held-out training images.
    probe: str = field(default="sklearn", metadata={"omit_from_id_at_default": True})
    probe_epochs: int = field(default=80, metadata={"omit_from_id_at_default": True})
    # Also fit frozen linear probes on these class-balanced fractions of the training labels
    # (the label fractions of the paper's semi-supervised protocol, 1 % and 10 %, without its
    # fine-tuning), drawn by the seed. They add metrics and change none,
    # so at the default they stay out of the run id; records before them lack them.
    label_fractions: tuple[float, ...] = field(default=(0.01, 0.1), metadata={"omit_from_id_at_default": True})
    # kNN also at these k (metrics "knn_top1_k<k>"): at small scales k = 200 over 1,000
    # training images a class favours neither side, so a small k is reported beside it.
    knn_k_also: tuple[int, ...] = field(default=(), metadata=ADDED_LATER)
    # Score the normalised pixels the encoder is given with the same kNN and probes (the
    # record's "pixels"): a trained encoder should beat its own input. Off by default: at
    # ImageNet scale a kNN over raw pixels costs more than it tells.
    pixels: bool = field(default=False, metadata=ADDED_LATER)


@dataclass(frozen=True)
class Init:
    """Weights the backbone starts from (`--init`): where they were read from, a label, and
    the digest of their content, which is what the run id names."""

    weights: str = field(metadata=LABEL)  # a file, or timm/<name>, torchvision/<weights> in the local cache
    digest: str = ""  # `ssl_bench.init_weights.digest` of the state dict


@dataclass(frozen=True)
class RunConfig:
    method_name: str = field(metadata=LABEL)
    method: MethodSpec
    aug: AugSpec
    backbone: str = "convnet"
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = 0
    preset: str = field(default="", metadata=LABEL)
    init: Init | None = field(default=None, metadata=ADDED_LATER)  # None: a random initialisation


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


def _identity(obj: Any) -> Any:
    """The config as canonical JSON-able data: equal configs give equal ids, so 1 and 1.0
    (a preset's int, a parsed float) hash alike."""
    if isinstance(obj, float) and obj.is_integer():
        return int(obj)
    if isinstance(obj, (list, tuple)):
        return [_identity(v) for v in obj]
    if not dataclasses.is_dataclass(obj):
        return obj
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.metadata.get("not_in_id") or (f.metadata.get("omit_from_id_at_default") and value == f.default):
            continue
        out[f.name] = _identity(value)
    return out


def run_id(cfg: RunConfig) -> str:
    """Stable id: a hash of the canonical JSON of the whole config (no paths in it)."""
    blob = json.dumps(_identity(cfg), sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def apply_overrides(cfg: RunConfig, overrides: Mapping[str, Any]) -> RunConfig:
    """Dotted keys into the config; an unknown key or a value of the wrong type raises.
    Overrides are applied in order, and the result is validated as a whole."""
    for key, value in overrides.items():
        cfg = set_path(cfg, key.split("."), value, key)
    validate_run(cfg)
    return cfg


def config_from_dict(data: Mapping[str, Any]) -> RunConfig:
    """The RunConfig of a record's or a file's config (schema 2), checked like overrides."""
    cfg = coerce(data, RunConfig, "config")
    validate_run(cfg)
    return cfg


def build_config(
    method: str,
    *,
    preset: str | None = None,
    dataset: str | None = None,
    backbone: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    overrides: Mapping[str, Any] | None = None,
) -> RunConfig:
    """Method preset → scale preset → command-line shorthands → `--set` overrides."""
    spec = get_method(method)
    aug = AUG_PRESETS.get(spec.augmentation)
    if aug is None:
        raise SpecError(
            f"method {method!r} names augmentation {spec.augmentation!r}; choose one of {sorted(AUG_PRESETS)}"
        )
    preset = preset or default_preset(dataset)
    cfg = RunConfig(method_name=method, method=spec, aug=aug, seed=seed, preset=preset)
    cfg = apply_overrides(cfg, PRESETS.get(preset)(spec))
    short: dict[str, Any] = {}
    if dataset is not None:
        short["data.dataset"] = dataset
        if dataset != cfg.data.dataset:
            short["data.train_subset"] = None
            short["data.test_subset"] = None
    if backbone is not None:
        short["backbone"] = backbone
    if epochs is not None:
        short["train.epochs"] = epochs
    if batch_size is not None:
        short["train.batch_size"] = batch_size
    overrides = overrides or {}
    info = DATASET_INFO.get(str(overrides.get("data.dataset", short.get("data.dataset", cfg.data.dataset))))
    if cfg.data.crop_source == "full" and info is not None and not info.streamable:
        if "data.crop_source" not in overrides:
            # A preset's whole-image crops (paper) on data held as arrays: those arrays are
            # the whole images already, so the stored path is the same computation.
            short |= {"data.crop_source": "stored", "data.source_size": 0}
    cfg = apply_overrides(cfg, short)
    return apply_overrides(cfg, overrides)


__all__ = [
    "DataConfig",
    "TrainConfig",
    "EvalConfig",
    "RunConfig",
    "ViewAug",
    "build_config",
    "apply_overrides",
    "config_from_dict",
    "parse_set_args",
    "default_preset",
    "register_preset",
    "run_id",
    "list_methods",
]
