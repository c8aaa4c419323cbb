"""The checks a whole RunConfig passes after every set of overrides, and the values its
string fields accept. Fields may only be consistent together (a new projector width and
the predictor's, a batch and its micro-batches), so these run on the config as a whole."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ssl_bench.dataset_info import DATASET_INFO, whole_images_need_files
from ssl_bench.spec import SpecError, validate_method
from ssl_bench.views import validate_view

if TYPE_CHECKING:
    from ssl_bench.config import DataConfig, RunConfig

PROBES = ("sklearn", "torch", "paper")
CROP_SOURCES = ("stored", "full")
PRECISIONS = ("auto", "fp32", "bf16", "fp64")
COMPILE_MODES = ("off", "default", "max-autotune", "max-autotune-no-cudagraphs")
MICRO_BATCHES = ("one_pass", "sequential")
MIN_IMAGE_SIZE = 8  # below this a 0.08-area crop is under 3 pixels and blur padding breaks


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
