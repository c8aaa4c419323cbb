"""VICReg (Bardes, Ponce & LeCun, ICLR 2022): invariance, variance and covariance terms on
the two projections; no negatives, predictor or target network. Outside β-InfoNCE: its
own loss kind (ssl_bench.loss.vicreg).
"""

from ssl_bench.registry import register_method
from ssl_bench.spec import MLP, MethodSpec, Optim, VICReg


@register_method
def vicreg() -> MethodSpec:
    return MethodSpec(
        # §4.2: the expander has "3 fully-connected layers of size 8192", BN and ReLU after the first two.
        projector=MLP(hidden=(8192, 8192), out=8192),
        predictor=None,
        target="online",
        loss=VICReg(sim=25.0, var=25.0, cov=1.0),  # λ = μ = 25, ν = 1 (§4.2)
        # LARS, base lr 0.2 per 256 images, wd 1e-6, 10 warm-up epochs (App. C / §4.2).
        optim=Optim(name="lars", base_lr=0.2, weight_decay=1e-6, momentum=0.9, warmup_epochs=10),
        augmentation="byol",  # App. C: the augmentations of BYOL (and Barlow Twins)
    )
