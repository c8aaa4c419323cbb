"""BYOL (Grill et al., NeurIPS 2020), the paper's published defaults (§3.3, App. B–C)."""

from ssl_bench.registry import register_method
from ssl_bench.spec import EMA, MLP, InfoNCE, MethodSpec, Optim


@register_method
def byol() -> MethodSpec:
    return MethodSpec(
        # "a linear layer with output size 4096 followed by batch normalization, ReLU,
        # and a final linear layer with output dimension 256" (§3.3); q has the same shape.
        projector=MLP(hidden=(4096,), out=256),
        predictor=MLP(hidden=(4096,), out=256),
        target="ema",
        ema=EMA(tau_base=0.996),  # §3.3
        loss=InfoNCE(beta=0.0, temperature=0.1),  # α is unused at β = 0; Table 5b's rows take it
        optim=Optim(name="lars", base_lr=0.2, weight_decay=1.5e-6, momentum=0.9, warmup_epochs=10),
        augmentation="byol",
    )
