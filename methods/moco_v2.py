"""MoCo v2 (Chen, Fan, Girshick & He 2020, arXiv 2003.04297): a momentum key encoder and
a queue of 65,536 earlier keys as negatives, with SimCLR's MLP head and blur added.

In the β-InfoNCE space: an EMA target held at a constant momentum, no predictor, β = 1
with the queue as the only negatives (MoCo's logits [q·k₊, q·queue]).

Two deviations from MoCo v2's code, said here and in the README:
- The loss is symmetrised, both views serving as query and both views' keys enqueued
  (MoCo's code uses one direction), for one shared loop. The two directions are summed,
  each MoCo's cross-entropy, so the SGD step below halves MoCo's lr and doubles its weight
  decay: the update is then exactly MoCo's SGD update on the mean of the two directions,
  and equal to MoCo's own one-direction update where the two directions coincide
  (tests/test_methods.py checks both on one batch).
- MoCo's shuffled BatchNorm (MoCo §3.3: keys computed on a batch shuffled across GPUs, so
  BatchNorm cannot leak which key is the positive) is not implemented. In one process it
  would be an identity anyway; runs over several devices use per-device BatchNorm, or the
  global BatchNorm of `train.sync_bn`, not MoCo's shuffle.
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
        # lr 0.03 at batch 256, wd 1e-4, SGD momentum 0.9, cosine schedule (§3), for a loss
        # of one direction; this loss sums two, hence lr ÷ 2 and wd × 2 (see the docstring).
        optim=Optim(name="sgd", base_lr=0.03 / 2, weight_decay=1e-4 * 2, momentum=0.9, warmup_epochs=0),
        augmentation="moco_v2",
    )
