"""A linear probe in torch: multinomial logistic regression on frozen features, on the
run's device in float32, with its L2 penalty chosen on a held-out split of the training
set (never the test set).

scikit-learn's L-BFGS on float64 features needs about 21 GB for ImageNet's 1.28 M × 2048
and hours; this one keeps the features where they were embedded, in float32, and
evaluates the full-batch loss in chunks, so its memory is the features plus one chunk of
logits. With the penalty fixed at 1 / (C·N) it solves the problem scikit-learn's
`LogisticRegression(C)` solves (tested against it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Weight decays tried on the held-out split (per-sample mean loss + wd/2 · ||W||²).
WEIGHT_DECAYS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2)
HELD_OUT = 0.2  # fraction of each class of the training set kept aside to choose the penalty


def balanced_split(labels: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept, held) indices: `fraction` of every class held out, at least one per class and
    never a class's last image, drawn by `seed` alone (the same split for every encoder)."""
    g = torch.Generator().manual_seed(seed)
    labels = labels.cpu()
    kept, held = [], []
    for c in labels.unique(sorted=True):
        idx = (labels == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = min(max(1, round(fraction * len(idx))), len(idx) - 1)
        held.append(idx[:k])
        kept.append(idx[k:])
    return torch.cat(kept).sort().values, torch.cat(held).sort().values


def _fit(x: torch.Tensor, y: torch.Tensor, num_classes: int, weight_decay: float, max_iter: int, chunk: int):
    """W, b minimising mean cross-entropy + weight_decay/2 · ||W||², full-batch L-BFGS."""
    w = torch.zeros(x.shape[1], num_classes, device=x.device, dtype=torch.float32, requires_grad=True)
    b = torch.zeros(num_classes, device=x.device, dtype=torch.float32, requires_grad=True)
    opt = torch.optim.LBFGS(
        [w, b], lr=1.0, max_iter=max_iter, history_size=10, tolerance_grad=1e-6, line_search_fn="strong_wolfe"
    )
    n = len(x)

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=False)
        total = torch.zeros((), device=x.device)
        for start in range(0, n, chunk):  # the loss over all samples, one chunk of logits at a time
            part = F.cross_entropy(x[start : start + chunk] @ w + b, y[start : start + chunk], reduction="sum") / n
            part.backward()
            total += part.detach()
        reg = 0.5 * weight_decay * (w * w).sum()
        reg.backward()
        return total + reg.detach()

    opt.step(closure)
    return w.detach(), b.detach()


def _scores(x: torch.Tensor, y: torch.Tensor, w: torch.Tensor, b: torch.Tensor, chunk: int) -> tuple[float, float]:
    top1 = top5 = 0
    for start in range(0, len(x), chunk):
        logits = x[start : start + chunk] @ w + b
        yy = y[start : start + chunk]
        best = logits.topk(min(5, logits.shape[1]), dim=1).indices
        top1 += int((best[:, 0] == yy).sum())
        top5 += int((best == yy[:, None]).any(dim=1).sum())
    return top1 / len(x), top5 / len(x)


@torch.no_grad()
def _standardise(train: torch.Tensor, *others: torch.Tensor) -> list[torch.Tensor]:
    mean = train.mean(dim=0)
    std = train.std(dim=0).clamp_min(1e-6)
    return [(t - mean) / std for t in (train, *others)]


def linear_probe_torch(
    train_features: torch.Tensor,
    train_labels: torch.Tensor,
    test_features: torch.Tensor,
    test_labels: torch.Tensor,
    *,
    weight_decays: tuple[float, ...] = WEIGHT_DECAYS,
    seed: int = 0,
    max_iter: int = 200,
    chunk: int = 65536,
) -> dict:
    """Top-1 and top-5 on the test split, and the penalty chosen on a held-out HELD_OUT of
    the training set (one value given: that one, no split). Runs where the features are."""
    xtr, xte = (t.float() for t in (train_features, test_features))
    ytr, yte = train_labels.to(xtr.device).long(), test_labels.to(xte.device).long()
    num_classes = int(max(int(ytr.max()), int(yte.max())) + 1)
    chosen, val_top1 = weight_decays[len(weight_decays) // 2], None
    kept, held = balanced_split(ytr, HELD_OUT, seed)
    # Too few labels to hold any out (a 1 % subset of a small set): the grid's middle value.
    if len(weight_decays) > 1 and len(held):
        kept, held = kept.to(xtr.device), held.to(xtr.device)
        fit_x, val_x = _standardise(xtr[kept], xtr[held])
        scored = []
        for wd in weight_decays:
            w, b = _fit(fit_x, ytr[kept], num_classes, wd, max_iter, chunk)
            scored.append((_scores(val_x, ytr[held], w, b, chunk)[0], wd))
        # The best held-out top-1; on a tie, the stronger penalty.
        val_top1, chosen = max(scored, key=lambda s: (s[0], s[1]))
        del fit_x, val_x
    xtr, xte = _standardise(xtr, xte)
    w, b = _fit(xtr, ytr, num_classes, chosen, max_iter, chunk)
    top1, top5 = _scores(xte, yte, w, b, chunk)
    return {"top1": top1, "top5": top5, "weight_decay": chosen, "held_out_top1": val_top1}


def bench_probe(samples: int, dim: int, classes: int, device: torch.device, seed: int = 0, test: int = 10000) -> dict:
    """Time and peak memory of the probe on synthetic features of a given shape (ImageNet's
    is 1,281,167 × 2048 with 1000 classes): class means plus noise, so L-BFGS has a real
    problem to solve. One penalty (as `linear_probe_torch` fits once per candidate)."""
    import time

    from ssl_bench.device import peak_memory, reset_peak_memory, synchronize

    g = torch.Generator(device="cpu").manual_seed(seed)
    centres = 0.1 * torch.randn(classes, dim, generator=g)  # close enough that classes overlap
    y = torch.randint(classes, (samples + test,), generator=g)
    x = torch.empty(samples + test, dim, device=device)
    for start in range(0, len(x), 65536):  # filled in chunks: no second copy of the features
        part = y[start : start + 65536]
        x[start : start + len(part)] = (centres[part] + torch.randn(len(part), dim, generator=g)).to(device)
    y = y.to(device)
    reset_peak_memory(device)
    synchronize(device)
    start = time.perf_counter()
    out = linear_probe_torch(x[:samples], y[:samples], x[samples:], y[samples:], weight_decays=(1e-4,), max_iter=50)
    synchronize(device)
    return {
        "samples": samples,
        "dim": dim,
        "classes": classes,
        "device": str(device),
        "seconds": time.perf_counter() - start,
        "peak_memory_bytes": peak_memory(device),
        "features_bytes": samples * dim * 4,
        "top1": out["top1"],
    }


def label_subset(labels: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """A class-balanced `fraction` of the labelled training set (at least one image per
    class), drawn by the run's seed, for the frozen linear probes on 1 % and 10 % of the
    labels. These are the label fractions of the semi-supervised protocol (BYOL, Table 2),
    not that protocol: it fine-tunes the whole network, which ssl-bench does not offer."""
    return balanced_split(labels, fraction, seed + 7919)[1]  # offset: not the held-out split's draw


def subset_id(indices: torch.Tensor) -> str:
    """A short fingerprint of a subset, recorded so two records can be seen to share it."""
    import hashlib

    return hashlib.sha1(indices.cpu().numpy().astype("int64").tobytes()).hexdigest()[:12]


def score_probes(
    probe: str,
    label_fractions: tuple[float, ...],
    seed: int,
    train_f: torch.Tensor,
    train_y: torch.Tensor,
    test_f: torch.Tensor,
    test_y: torch.Tensor,
    full: bool = True,
) -> dict:
    """The linear probe on all training labels (unless `full` is false: another protocol
    scores those) and on each class-balanced fraction of them, with `probe` "sklearn" or
    "torch"; metrics keyed as records store them."""

    def one(xtr: torch.Tensor, ytr: torch.Tensor) -> dict:
        if probe == "torch":
            return linear_probe_torch(xtr, ytr, test_f, test_y, seed=seed)
        from ssl_bench.evaluate import linear_probe

        return linear_probe(xtr.cpu(), ytr.cpu(), test_f.cpu(), test_y.cpu())

    out = {}
    if full:
        scores = one(train_f, train_y)
        out = {"linear_top1": scores["top1"], "linear_top5": scores["top5"]}
        if probe == "torch":
            out["linear_probe"] = {k: scores[k] for k in ("weight_decay", "held_out_top1")}
    if label_fractions:
        low = {}
        for fraction in label_fractions:
            idx = label_subset(train_y, fraction, seed).to(train_f.device)
            r = one(train_f[idx], train_y[idx])
            low[f"{fraction:g}"] = {"top1": r["top1"], "top5": r["top5"], "images": len(idx), "subset": subset_id(idx)}
        out["low_label"] = low
    return out
