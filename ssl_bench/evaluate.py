"""Evaluation on frozen features: weighted kNN, a linear probe, collapse diagnostics."""

from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ssl_bench.augment import normalize_images
from ssl_bench.batches import in_chunks


@torch.no_grad()
def embed(
    module: nn.Module,
    images: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    image_size: int,
    batch_size: int = 512,
    workers: int = 0,
) -> torch.Tensor:
    """Features of clean (un-augmented) images with BatchNorm in eval mode. `images` may
    be `ImageFiles`, decoded by `workers` DataLoader processes."""
    was_training = module.training
    module.eval()
    out = []
    for chunk in in_chunks(images, batch_size, mean.device, workers):
        x = normalize_images(chunk, mean, std)
        if x.shape[-1] != image_size or x.shape[-2] != image_size:
            x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False)
        out.append(module(x).float())
    module.train(was_training)
    return torch.cat(out)


@torch.no_grad()
def knn_top1(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    *,
    k: int = 200,
    temperature: float = 0.1,
    chunk: int = 1024,
) -> float:
    """Weighted kNN (Wu et al. 2018, as used by lightly and solo-learn): cosine
    similarity, the k nearest train features vote for their class with weight exp(s/T)."""
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    bank = F.normalize(train_features, dim=1)
    k = min(k, len(bank))
    correct = 0
    for start in range(0, len(test_features), chunk):
        q = F.normalize(test_features[start : start + chunk], dim=1)
        sim, idx = (q @ bank.T).topk(k, dim=1)
        weights = (sim / temperature).exp()
        votes = torch.zeros(len(q), num_classes, device=q.device)
        votes.scatter_add_(1, train_labels[idx], weights)
        correct += (votes.argmax(1) == test_labels[start : start + chunk]).sum().item()
    return correct / len(test_features)


def linear_probe(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    max_iter: int = 1000,
) -> dict[str, float]:
    """Multinomial logistic regression (scikit-learn, L-BFGS) on standardised frozen
    features; top-1 and top-5 on the test split."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    xtr = train_features.double().cpu().numpy()
    xte = test_features.double().cpu().numpy()
    ytr = train_labels.cpu().numpy()
    yte = test_labels.cpu().numpy()
    from threadpoolctl import threadpool_limits

    # One BLAS thread: with several, the order of floating-point reductions follows the
    # machine's load, and the same features gave top-1 one test image apart across runs.
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scaler = StandardScaler().fit(xtr)
        clf = LogisticRegression(max_iter=max_iter, C=1.0)
        clf.fit(scaler.transform(xtr), ytr)
        proba = clf.predict_proba(scaler.transform(xte))
    top = np.argsort(-proba, axis=1)
    classes = clf.classes_
    top1 = float((classes[top[:, 0]] == yte).mean())
    top5 = float((classes[top[:, :5]] == yte[:, None]).any(axis=1).mean())
    return {"top1": top1, "top5": top5}


@torch.no_grad()
def collapse_stats(z: torch.Tensor) -> dict[str, float]:
    """Per-dimension std of ℓ2-normalised projections (BYOL's collapse check; ≈ 1/√d when
    spread out, → 0 when every image maps to one point) and the effective rank
    (Roy & Vetterli 2007: exp of the entropy of the normalised singular values)."""
    zn = F.normalize(z.float(), dim=1)
    d = zn.shape[1]
    std = zn.std(dim=0).mean().item()
    s = torch.linalg.svdvals(zn - zn.mean(dim=0))
    p = s / s.sum().clamp_min(1e-12)
    erank = float(torch.exp(-(p * p.clamp_min(1e-12).log()).sum()))
    return {"z_std": std, "z_std_ideal": d**-0.5, "effective_rank": erank, "dim": d}
