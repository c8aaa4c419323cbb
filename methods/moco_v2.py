"""MoCo v2 (Chen, Fan, Girshick & He 2020, arXiv 2003.04297): a momentum key encoder and
a queue of 65,536 earlier keys as negatives, with SimCLR's MLP head and blur added.

In the β-InfoNCE space: an EMA target held at a constant momentum, no predictor, β = 1
with the queue as the only negatives (MoCo's logits [q·k₊, q·queue]). One deviation, for
one shared loop: the loss is symmetrised, both views serving as query and both views'
keys enqueued (MoCo v2's code uses one direction).
"""

from ssl_bench.registry import register_method
from ssl_bench.spec import EMA, MLP, InfoNCE, MethodSpec, Optim


@register_method
def moco_v2() -> MethodSpec:
    return MethodSpec(
        # §3: "a 2-layer MLP head (hidden layer 2048-d, with ReLU)" to 128-d; no BatchNorm.
        projector=MLP(hidden=(2048,), out=128, bn=False),
        predictor=None,
        target="ema",
        ema=EMA(tau_base=0.999, cosine=False),  # MoCo's momentum m = 0.999, constant
        # τ = 0.2 with the MLP head (Table 1); K = 65,536 (MoCo §4.1).
        loss=InfoNCE(
            beta=1.0,
            temperature=0.2,
            scale="infonce",
            queue=65536,
            same_view_negatives=False,
            other_view_negatives=False,
        ),
        # lr 0.03 at batch 256, wd 1e-4, SGD momentum 0.9, cosine schedule (§3).
        optim=Optim(name="sgd", base_lr=0.03, weight_decay=1e-4, momentum=0.9, warmup_epochs=0),
        augmentation="moco_v2",
    )
