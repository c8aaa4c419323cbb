"""The BYOL paper's and the SimSiam paper's ablations, one module each (SimSiam's are named
simsiam_*); each registers on import.

An ablation is a base config plus override rows plus seeds (ssl_bench.ablation), with the
paper's published numbers kept beside it. Third-party ablations register under the
entry-point group `ssl_bench.ablations`.
"""

from ssl_bench.benchmarks import (  # noqa: F401
    augmentation,
    batch_size,
    predictor,
    simsiam_batch_size,
    simsiam_cifar10,
    simsiam_heads_bn,
    simsiam_loss_form,
    simsiam_multi_step,
    simsiam_predictor,
    simsiam_simclr,
    simsiam_stop_gradient,
    tau,
)
