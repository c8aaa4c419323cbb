"""The BYOL paper's ablations, one module each; each registers on import.

An ablation is a base config plus override rows plus seeds (ssl_bench.ablation), with the
paper's published numbers kept beside it. Third-party ablations register under the
entry-point group `ssl_bench.ablations`.
"""

from ssl_bench.benchmarks import augmentation, batch_size, predictor, tau  # noqa: F401
