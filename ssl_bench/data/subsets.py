"""The class-balanced subset draw behind every `train_subset` and `test_subset`."""

from __future__ import annotations

import numpy as np
import torch

from ssl_bench.spec import DatasetError


def balanced_subset(labels: np.ndarray | torch.Tensor, n: int, seed: int) -> np.ndarray:
    """Sorted indices of ``n`` examples, ``n / num_classes`` from each class.

    The draw (RandomState(seed).choice per class, classes in ascending order) is
    part of the on-disk contract: the embedded Fashion-MNIST subset was made with
    it, so changing it breaks bit-identity with the full set.
    """
    labels = labels.cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    classes = np.unique(labels)
    if n <= 0:
        raise DatasetError(f"subset size must be positive, got {n}")
    if n > len(labels):
        raise DatasetError(f"subset of {n} requested but only {len(labels)} examples are available")
    if n % len(classes):
        raise DatasetError(f"subset size {n} is not divisible by the number of classes ({len(classes)})")
    per_class = n // len(classes)
    rng = np.random.RandomState(seed)
    chosen = []
    for c in classes:
        members = np.flatnonzero(labels == c)
        if len(members) < per_class:
            raise DatasetError(
                f"subset of {n} needs {per_class} examples per class but class {c} has only {len(members)}"
            )
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)
