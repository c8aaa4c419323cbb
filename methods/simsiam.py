"""SimSiam (Chen & He, CVPR 2021): predictor, stop-gradient target, no negatives (β = 0)."""

from ssl_bench.registry import register_method
from ssl_bench.spec import MLP, InfoNCE, MethodSpec, Optim


@register_method
def simsiam() -> MethodSpec:
    return MethodSpec(
        # §4.1: 3-layer projector, 2048 wide, BN on every layer including the output;
        # bottleneck predictor 2048 → 512 → 2048.
        projector=MLP(hidden=(2048, 2048), out=2048, bn_out=True),
        predictor=MLP(hidden=(512,), out=2048),
        target="stopgrad",
        loss=InfoNCE(beta=0.0),
        # SimSiam trains with SGD lr 0.05 × batch/256, wd 1e-4 on the loss −½(cos + cos).
        # The shared loss at β = 0 is −2(cos + cos), 4× larger, so lr ÷ 4 and wd × 4 give
        # exactly the same SGD updates as SimSiam's own code.
        optim=Optim(name="sgd", base_lr=0.05 / 4, weight_decay=1e-4 * 4, momentum=0.9, warmup_epochs=0),
        augmentation="simsiam",
    )
