"""Barlow Twins (Zbontar, Jing, Misra, LeCun & Deny, ICML 2021): no negatives, no
predictor, no target network; the two projections' cross-correlation is pushed to the
identity. Outside β-InfoNCE: its own loss kind (ssl_bench.loss.barlow_twins).
"""

from ssl_bench.registry import register_method
from ssl_bench.spec import MLP, BarlowTwins, MethodSpec, Optim


@register_method
def barlow_twins() -> MethodSpec:
    return MethodSpec(
        # §4: "three linear layers, each with 8192 output units", BN and ReLU after the first two.
        projector=MLP(hidden=(8192, 8192), out=8192),
        predictor=None,
        target="online",
        loss=BarlowTwins(lambd=0.0051),  # λ = 5·10⁻³ (§4); 0.0051 in the paper's code
        # LARS, lr 0.2 per 256 images for the weights (the paper's 0.0048 for biases and
        # BatchNorm is not separate here), wd 1.5e-6, 10 warm-up epochs (§4).
        optim=Optim(name="lars", base_lr=0.2, weight_decay=1.5e-6, momentum=0.9, warmup_epochs=10),
        augmentation="byol",  # §4, image augmentations: the same parameters as BYOL
    )
