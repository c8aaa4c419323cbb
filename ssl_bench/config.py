"""A run is one frozen RunConfig: method spec, augmentation, backbone, data, schedule, eval.

Everything that can change a result is in RunConfig and therefore in the run id;
where things run (data dir, output dir, device) is not. Ablations and presets are
the same mechanism: a base config plus dotted-key overrides ("method.tau_base": 0.99).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ssl_bench.registry import Registry, get_method, list_methods
from ssl_bench.spec import MLP, MethodSpec, Optim, SpecError, validate_method
from ssl_bench.views import AUG_PRESETS, AugSpec, ViewAug, validate_view

PROBES = ("sklearn", "torch", "paper")
PRECISIONS = ("auto", "fp32", "bf16")
COMPILE_MODES = ("off", "default", "max-autotune", "max-autotune-no-cudagraphs")
# A field added after records exist is marked so: at its default it stays out of the run
# id, so existing records keep their ids (the default reproduces the old behaviour).
ADDED_LATER = {"omit_from_id_at_default": True}
# How a run is fed, not what it computes (the result is the same either way): never in the id.
EXECUTION_ONLY = {"not_in_id": True}
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


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 100
    batch_size: int = 256  # images per optimizer update: the paper's "batch size"
    # Micro-batches per update. The BYOL paper emulates a large batch this way with the
    # target updated once per update (App. F); the contrastive term then only sees each
    # micro-batch's negatives, and BatchNorm sees micro-batches.
    accumulate: int = 1
    precision: str = "auto"  # auto: bf16 autocast on CUDA, fp32 on the CPU
    channels_last: bool = False
    # Processes (one per GPU) for one run, with DistributedDataParallel. batch_size stays
    # the global batch (and sets the lr); each process takes batch_size / devices.
    devices: int = field(default=1, metadata=ADDED_LATER)
    # BatchNorm statistics over the global batch rather than each device's.
    sync_bn: bool = field(default=False, metadata=ADDED_LATER)
    # torch.compile of the network's forward and loss: off, or a torch.compile mode
    # (default, max-autotune, max-autotune-no-cudagraphs). Numerically close to eager, not
    # bit-identical, so it is part of the run's identity like channels_last.
    compile: str = field(default="off", metadata=ADDED_LATER)


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
    # Also probe on these class-balanced fractions of the training labels (the paper's
    # semi-supervised 1 % and 10 %), drawn by the seed. They add metrics and change none,
    # so at the default they stay out of the run id; records before them lack them.
    label_fractions: tuple[float, ...] = field(default=(0.01, 0.1), metadata={"omit_from_id_at_default": True})


@dataclass(frozen=True)
class RunConfig:
    method_name: str
    method: MethodSpec
    aug: AugSpec
    backbone: str = "convnet"
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    seed: int = 0
    preset: str = ""


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


# ----------------------------------------------------------------------------- overrides


def _parse_scalar(text: str, typ: Any, key: str) -> Any:
    if typ is bool:
        low = text.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise SpecError(f"{key}={text!r}: expected true or false")
    if typ in (int, float):
        try:
            return typ(text)
        except ValueError:
            raise SpecError(f"{key}={text!r}: expected {'an int' if typ is int else 'a number'}") from None
    if typ is str:
        return text
    raise SpecError(f"{key}: cannot parse {text!r} as {typ}")


def _coerce(value: Any, typ: Any, key: str) -> Any:
    """Check (and, for CLI strings, parse) `value` against the field's annotation."""
    origin = typing.get_origin(typ)
    args = typing.get_args(typ)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        non_none = [a for a in args if a is not type(None)]
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
            raise SpecError(f"{key} cannot be none")
        return _coerce(value, non_none[0], key)
    if origin is tuple:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [v for v in text.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise SpecError(f"{key}={value!r}: expected a list such as 1,2")
        elem = args[0]
        if len(args) == 2 and args[1] is not Ellipsis:
            if len(value) != 2:
                raise SpecError(f"{key}={value!r}: expected 2 values")
        return tuple(_coerce(v, elem, key) for v in value)
    if dataclasses.is_dataclass(typ):
        if isinstance(value, typ):
            return value
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise SpecError(f"{key}={value!r}: expected a JSON object of {typ.__name__} fields") from None
        if not isinstance(value, Mapping):
            raise SpecError(f"{key}={value!r}: expected a {typ.__name__}")
        hints = typing.get_type_hints(typ)
        unknown = set(value) - set(hints)
        if unknown:
            raise SpecError(f"{key}: unknown field(s) {sorted(unknown)}; valid: {', '.join(hints)}")
        return typ(**{k: _coerce(v, hints[k], f"{key}.{k}") for k, v in value.items()})
    if isinstance(value, str) and typ is not str:
        return _parse_scalar(value, typ, key)
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ in (int, float, str, bool) and not (isinstance(value, typ) and not (typ is int and isinstance(value, bool))):
        raise SpecError(f"{key}={value!r}: expected {typ.__name__}")
    return value


def _set(obj: Any, path: list[str], value: Any, full_key: str) -> Any:
    hints = typing.get_type_hints(type(obj))
    name = path[0]
    if name not in hints:
        prefix = full_key[: len(full_key) - len(".".join(path))]
        raise SpecError(f"unknown config key {full_key!r}; valid keys under {prefix or 'the top'}: {', '.join(hints)}")
    if len(path) == 1:
        new = _coerce(value, hints[name], full_key)
    else:
        child = getattr(obj, name)
        if child is None:
            raise SpecError(
                f"{full_key}: {'.'.join(full_key.split('.')[: -len(path) + 1])} is none; set it whole first"
            )
        new = _set(child, path[1:], value, full_key)
    return dataclasses.replace(obj, **{name: new})


def apply_overrides(cfg: RunConfig, overrides: Mapping[str, Any]) -> RunConfig:
    """Dotted keys into the config; an unknown key or a value of the wrong type raises.
    Overrides are applied in order, and the result is validated as a whole."""
    for key, value in overrides.items():
        cfg = _set(cfg, key.split("."), value, key)
    validate_run(cfg)
    return cfg


def parse_set_args(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SpecError(f"--set {item!r}: expected key=value, e.g. method.tau_base=0.99")
        out[key.strip()] = value.strip()
    return out


def validate_run(cfg: RunConfig) -> None:
    """Whole-config checks, run after every set of overrides (fields may only be
    consistent together, e.g. a new projector width and the predictor's)."""
    validate_method(cfg.method)
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
    if t.compile not in COMPILE_MODES:
        raise SpecError(f"train.compile={t.compile!r} is not one of: {', '.join(COMPILE_MODES)}")
    if cfg.data.image_size is not None and cfg.data.image_size < MIN_IMAGE_SIZE:
        raise SpecError(
            f"data.image_size={cfg.data.image_size} is too small for the augmentations (>= {MIN_IMAGE_SIZE})"
        )
    if cfg.data.workers < 0:
        raise SpecError(f"data.workers={cfg.data.workers} must be >= 0")
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
    if e.knn_k < 1 or not e.knn_temperature > 0 or e.knn_every < 0:
        raise SpecError(f"eval: knn_k={e.knn_k} must be >= 1, knn_temperature={e.knn_temperature} > 0, knn_every >= 0")
    if cfg.seed < 0:
        raise SpecError(f"seed={cfg.seed} must be >= 0")
    for name, view in (("aug.view1", cfg.aug.view1), ("aug.view2", cfg.aug.view2)):
        try:
            validate_view(view)
        except ValueError as err:
            raise SpecError(f"{name}: {err}") from None


# ----------------------------------------------------------------------------- presets
# A preset is a function of the method spec returning overrides, so it can scale each
# method's own widths rather than impose one architecture on all of them.

PRESETS: Registry = Registry("preset", "ssl_bench.presets")
register_preset = PRESETS.register


def _cap_widths(spec: MethodSpec, cap: int, prefix: str = "method") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in ("projector", "predictor"):
        mlp: MLP | None = getattr(spec, part)
        if mlp is not None:
            out[f"{prefix}.{part}"] = MLP(tuple(min(h, cap) for h in mlp.hidden), min(mlp.out, cap), mlp.bn_out)
    return out


@register_preset
def cpu() -> Callable[[MethodSpec], dict]:
    """The embedded default: Fashion-MNIST (a fixed balanced 10k/2k subset shipped in the
    package), the small convnet, 28 px, minutes on 2 CPU cores. Settings follow
    shared/notes/cpu-default-experiment.md: small batches and AdamW are what let BYOL beat
    a random encoder within minutes there; LARS at batch 64 is not the paper's regime."""

    def overrides(spec: MethodSpec) -> dict:
        o = {
            "data.dataset": "fashion-mnist",
            "data.train_subset": 10000,
            "data.test_subset": 2000,
            "backbone": "convnet",
            "train.epochs": 20,
            "train.batch_size": 64,
            "method.optim": Optim(name="adamw", base_lr=4e-3, weight_decay=1e-4, momentum=0.9, warmup_epochs=1),
            "eval.knn_every": 5,
            **_cap_widths(spec, 1024),
        }
        if spec.target == "ema":
            o["method.tau_base"] = 0.99
        return o

    return overrides


@register_preset
def smoke() -> Callable[[MethodSpec], dict]:
    """Seconds per run on a CPU: what the tests use. Shows that things run, not results."""

    def overrides(spec: MethodSpec) -> dict:
        return {
            "data.dataset": "fashion-mnist",
            "data.train_subset": 200,
            "data.test_subset": 100,
            "backbone": "convnet",
            "train.epochs": 2,
            "train.batch_size": 32,
            "method.optim": Optim(name="adamw", base_lr=4e-3, weight_decay=1e-4, momentum=0.9, warmup_epochs=0),
            "eval.knn_k": 20,
            **_cap_widths(spec, 64),
        }

    return overrides


@register_preset
def cifar10() -> Callable[[MethodSpec], dict]:
    """ResNet-18 with the CIFAR stem on CIFAR-10, one GPU per run (the peers' protocol:
    lightly and solo-learn report kNN/linear top-1 at 200–1000 epochs, batch 256–512)."""

    def overrides(spec: MethodSpec) -> dict:
        return {
            "data.dataset": "cifar10",
            "backbone": "resnet18",
            "train.epochs": 200,
            "train.batch_size": 512,
            "train.channels_last": True,  # with bf16 on CUDA: convolutions in the tensor-core layout
            "eval.knn_every": 10,  # the kNN-against-minutes curve (time to accuracy)
        }

    return overrides


@register_preset
def paper() -> Callable[[MethodSpec], dict]:
    """The BYOL paper's ablation protocol (§5, App. F): ImageNet (imagefolder), ResNet-50,
    224 px, 300 epochs, batch 4096, LARS base LR 0.3, wd 1e-6, τ_base 0.99."""

    def overrides(spec: MethodSpec) -> dict:
        o = {
            "data.dataset": "imagefolder",
            "data.image_size": 224,
            "backbone": "resnet50",
            "train.epochs": 300,
            "train.batch_size": 4096,
            "method.optim": Optim(name="lars", base_lr=0.3, weight_decay=1e-6, momentum=0.9, warmup_epochs=10),
            "eval.probe": "torch",  # scikit-learn would need ~21 GB and hours for 1.28 M × 2048
        }
        if spec.target == "ema":
            o["method.tau_base"] = 0.99
        return o

    return overrides


@register_preset
def published() -> Callable[[MethodSpec], dict]:
    """The method's own published defaults with no scale changes."""
    return lambda spec: {}


def default_preset(dataset: str | None) -> str:
    if dataset in (None, "fashion-mnist"):
        return "cpu"
    if dataset in ("cifar10", "cifar100"):
        return "cifar10"
    return "published"


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
    cfg = apply_overrides(cfg, short)
    return apply_overrides(cfg, overrides or {})


__all__ = [
    "DataConfig",
    "TrainConfig",
    "EvalConfig",
    "RunConfig",
    "ViewAug",
    "build_config",
    "apply_overrides",
    "run_id",
    "list_methods",
]
