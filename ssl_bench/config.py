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

from ssl_bench.dataset_info import DATASET_INFO, whole_images_need_files
from ssl_bench.overrides import coerce, parse_set_args, set_path
from ssl_bench.presets import PRESETS, default_preset, register_preset
from ssl_bench.records import SCHEMA_VERSION
from ssl_bench.registry import get_method, list_methods
from ssl_bench.spec import MethodSpec, SpecError, validate_method
from ssl_bench.views import AUG_PRESETS, AugSpec, ViewAug, validate_view

PROBES = ("sklearn", "torch", "paper")
CROP_SOURCES = ("stored", "full")
PRECISIONS = ("auto", "fp32", "bf16", "fp64")
COMPILE_MODES = ("off", "default", "max-autotune", "max-autotune-no-cudagraphs")
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
MIN_IMAGE_SIZE = 8  # below this a 0.08-area crop is under 3 pixels and blur padding breaks


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


MICRO_BATCHES = ("one_pass", "sequential")


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


def validate_run(cfg: RunConfig) -> None:
    """Whole-config checks, run after every set of overrides (fields may only be
    consistent together, e.g. a new projector width and the predictor's)."""
    validate_method(cfg.method)
    if cfg.method.symmetry == "asymmetric_2x" and cfg.data.crop_source == "full":
        raise SpecError(
            "method.symmetry='asymmetric_2x' draws a second pair of crops on the device, and "
            "data.crop_source='full' cuts one pair per image in the loader; use data.crop_source=stored"
        )
    t = cfg.train
    if t.epochs < 1:
        raise SpecError(f"train.epochs={t.epochs} must be >= 1")
    if t.accumulate < 1 or t.batch_size % t.accumulate:
        raise SpecError(f"train.accumulate={t.accumulate} must be >= 1 and divide train.batch_size={t.batch_size}")
    if t.devices < 1 or t.batch_size % (t.accumulate * t.devices):
        raise SpecError(
            f"train.devices={t.devices} must be >= 1, and devices × accumulate must divide "
            f"train.batch_size={t.batch_size}"
        )
    micro = t.batch_size // (t.accumulate * t.devices)
    if micro < 2:
        # BatchNorm in training mode and the contrastive term both need two images.
        raise SpecError(
            f"batch size per step {micro} must be >= 2 (train.batch_size / train.accumulate / train.devices)"
        )
    if t.precision not in PRECISIONS:
        raise SpecError(f"train.precision={t.precision!r} is not one of: {', '.join(PRECISIONS)}")
    if t.micro_batches not in MICRO_BATCHES:
        raise SpecError(f"train.micro_batches={t.micro_batches!r} is not one of: {', '.join(MICRO_BATCHES)}")
    if t.compile not in COMPILE_MODES:
        raise SpecError(f"train.compile={t.compile!r} is not one of: {', '.join(COMPILE_MODES)}")
    if cfg.data.image_size is not None and cfg.data.image_size < MIN_IMAGE_SIZE:
        raise SpecError(
            f"data.image_size={cfg.data.image_size} is too small for the augmentations (>= {MIN_IMAGE_SIZE})"
        )
    if cfg.data.workers < 0:
        raise SpecError(f"data.workers={cfg.data.workers} must be >= 0")
    _validate_crop_source(cfg.data)
    for n in ("train_subset", "test_subset"):
        v = getattr(cfg.data, n)
        if v is not None and v < 1:
            raise SpecError(f"data.{n}={v} must be >= 1 or none")
    e = cfg.eval
    if any(not 0 < f < 1 for f in e.label_fractions):
        raise SpecError(f"eval.label_fractions={list(e.label_fractions)}: each must be in (0, 1)")
    if e.probe_epochs < 1:
        raise SpecError(f"eval.probe_epochs={e.probe_epochs} must be >= 1")
    if e.probe not in PROBES:
        raise SpecError(f"eval.probe={e.probe!r} is not one of: {', '.join(PROBES)}")
    if any(not isinstance(k, int) or k < 1 for k in e.knn_k_also):
        raise SpecError(f"eval.knn_k_also={list(e.knn_k_also)}: each must be an integer >= 1")
    if e.knn_k < 1 or not e.knn_temperature > 0 or e.knn_every < 0:
        raise SpecError(f"eval: knn_k={e.knn_k} must be >= 1, knn_temperature={e.knn_temperature} > 0, knn_every >= 0")
    if cfg.seed < 0:
        raise SpecError(f"seed={cfg.seed} must be >= 0")
    for name, view in (("aug.view1", cfg.aug.view1), ("aug.view2", cfg.aug.view2)):
        try:
            validate_view(view)
        except ValueError as err:
            raise SpecError(f"{name}: {err}") from None


def _validate_crop_source(d: DataConfig) -> None:
    if d.crop_source not in CROP_SOURCES:
        raise SpecError(f"data.crop_source={d.crop_source!r} is not one of: {', '.join(CROP_SOURCES)}")
    if d.source_size < 0:
        raise SpecError(f"data.source_size={d.source_size} must be >= 0 (0: each file's own size)")
    if d.source_size and d.crop_source != "full":
        raise SpecError(
            f"data.source_size={d.source_size} sizes the whole image crops are cut from: it needs "
            "data.crop_source=full (or 0)"
        )
    if d.source_size and d.image_size is not None and d.source_size < d.image_size:
        raise SpecError(
            f"data.source_size={d.source_size} is below data.image_size={d.image_size}: "
            "use 0 (each file's own size) or at least the view size"
        )
    info = DATASET_INFO.get(d.dataset)
    if d.crop_source == "full" and info is not None and not info.streamable:
        raise SpecError(whole_images_need_files(d.dataset))


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
