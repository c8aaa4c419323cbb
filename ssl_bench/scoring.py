"""Scoring an encoder: kNN, the projections' spread and the linear probes of a run's
config, for the trained and the random-init encoder alike."""

from __future__ import annotations

import torch
from torch import nn

from ssl_bench.config import RunConfig
from ssl_bench.data import ImageData
from ssl_bench.evaluate import collapse_stats, embed, knn_top1
from ssl_bench.model import Siamese
from ssl_bench.probe import score_probes
from ssl_bench.probe_sgd import paper_probe_metrics


def evaluate_encoder(
    cfg: RunConfig, model: Siamese, data: ImageData, mean: torch.Tensor, std: torch.Tensor, size: int, full: bool
) -> dict:
    """kNN top-1 of the backbone's features; with `full`, also the projections' spread and
    the linear probes the config asks for (all labels, the label fractions, the paper's)."""
    workers = cfg.data.workers
    train_f = embed(model.backbone, data.train_images, mean, std, size, workers=workers)
    test_f = embed(model.backbone, data.test_images, mean, std, size, workers=workers)
    out = _knn(cfg, train_f, data.train_labels, test_f, data.test_labels)
    if not full:
        # The curve's point also follows the projections' spread (SimSiam Fig. 2, middle),
        # from the features just computed: the projector alone, in eval mode.
        out["z_std"] = collapse_stats(_project(model.projector, test_f))["z_std"]
    else:
        z = embed(nn.Sequential(model.backbone, model.projector), data.test_images, mean, std, size, workers=workers)
        out.update(collapse_stats(z))
        out.update(_probes(cfg, train_f, data.train_labels, test_f, data.test_labels))
        if cfg.eval.linear_probe and cfg.eval.probe == "paper":
            out.update(paper_probe_metrics(cfg, model.backbone, data, mean, std, size))
    return out


@torch.no_grad()
def _project(projector: nn.Module, features: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    was_training = projector.training
    projector.eval()
    dtype = next(projector.parameters()).dtype
    z = torch.cat([projector(chunk.to(dtype)).float() for chunk in features.split(batch_size)])
    projector.train(was_training)
    return z


def evaluate_pixels(cfg: RunConfig, data: ImageData, mean: torch.Tensor, std: torch.Tensor, size: int) -> dict:
    """The same kNN and probes on the flattened pixels the encoder is given (normalised, at
    its image size): the floor a learned representation has to clear. Raw uint8 pixels
    would be a different, weaker floor: cosine similarity between all-positive vectors is
    dominated by overall brightness."""
    flat = nn.Flatten()
    train_f = embed(flat, data.train_images, mean, std, size, workers=cfg.data.workers)
    test_f = embed(flat, data.test_images, mean, std, size, workers=cfg.data.workers)
    out = _knn(cfg, train_f, data.train_labels, test_f, data.test_labels)
    out.update(_probes(cfg, train_f, data.train_labels, test_f, data.test_labels))
    return out


def _knn(cfg: RunConfig, train_f, train_y, test_f, test_y) -> dict:
    e = cfg.eval
    out = {"knn_top1": knn_top1(train_f, train_y, test_f, test_y, k=e.knn_k, temperature=e.knn_temperature)}
    for k in e.knn_k_also:
        out[f"knn_top1_k{k}"] = knn_top1(train_f, train_y, test_f, test_y, k=k, temperature=e.knn_temperature)
    return out


def _probes(cfg: RunConfig, train_f, train_y, test_f, test_y) -> dict:
    e = cfg.eval
    if not e.linear_probe:
        return {}
    on_features = "torch" if e.probe == "paper" else e.probe
    return score_probes(
        on_features, e.label_fractions, cfg.seed, train_f, train_y, test_f, test_y, full=e.probe != "paper"
    )
