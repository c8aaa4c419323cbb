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
    out = {
        "knn_top1": knn_top1(
            train_f, data.train_labels, test_f, data.test_labels, k=cfg.eval.knn_k, temperature=cfg.eval.knn_temperature
        )
    }
    if full:
        z = embed(nn.Sequential(model.backbone, model.projector), data.test_images, mean, std, size, workers=workers)
        out.update(collapse_stats(z))
        if cfg.eval.linear_probe:
            e = cfg.eval
            on_features = "torch" if e.probe == "paper" else e.probe
            labels = data.train_labels, test_f, data.test_labels
            full = e.probe != "paper"
            out.update(score_probes(on_features, e.label_fractions, cfg.seed, train_f, *labels, full=full))
            if e.probe == "paper":
                out.update(paper_probe_metrics(cfg, model.backbone, data, mean, std, size))
    return out
