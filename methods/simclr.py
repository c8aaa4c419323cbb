"""SimCLR (Chen et al., ICML 2020) as the β = 1 point of BYOL's Eq. 8.

No predictor and no target network: both branches are the online projection with
gradient flowing through both. Its loss is scaled back to SimCLR's own (`infonce`: Eq. 8
divided by 2α, BYOL App. F.4), as in the paper's SimCLR baseline of Tables 16 and 17;
the ×2α point of Table 5b is the predictor ablation's "no predictor, online, beta=1" row.
"""

from ssl_bench.registry import register_method
from ssl_bench.spec import MLP, InfoNCE, MethodSpec, Optim


@register_method
def simclr() -> MethodSpec:
    return MethodSpec(
        projector=MLP(hidden=(2048,), out=128),  # SimCLR §B.1: 2-layer MLP, 128-d output
        predictor=None,
        target="online",
        # τ = 0.1: SimCLR's best at batch 4096 with LARS (Table 5 of SimCLR).
        loss=InfoNCE(beta=1.0, temperature=0.1, scale="infonce"),
        optim=Optim(name="lars", base_lr=0.3, weight_decay=1e-6, momentum=0.9, warmup_epochs=10),
        augmentation="simclr",
    )
