"""What the SimSiam paper's ablations share (Chen & He, "Exploring Simple Siamese
Representation Learning", CVPR 2021, arXiv 2011.10566 v1): its protocol and recipe, its numbering
(the similarity and symmetrization results are untitled tables in §4.5 and §4.6; Table 4
is the ImageNet comparison), and the predictor learning rate its later ablations use.

Every SimSiam ablation is a point of the same method space as the BYOL paper's: SimSiam is
BYOL's predictor with a stop-gradient target and no moving average, so its rows are
overrides of the `simsiam` method, never new code.
"""

from ssl_bench.registry import get_method

PAPER = "simsiam"
SOURCE = "SimSiam, Chen & He 2021, arXiv 2011.10566 v1"
PROTOCOL = "ImageNet, ResNet-50, 100 epochs, linear top-1 (%) (± is the std over 5 trials, where printed)"
# §4.2: after Table 1, "We use this form in the following subsections": the predictor at a
# constant learning rate (the official code's --fix-pred-lr).
CONSTANT_PREDICTOR_LR = {"method.predictor_lr": "constant"}

QUOTE_MOMENTUM = (
    '§6.2: "The momentum encoder may be beneficial for accuracy (Table 4), but it is not necessary for preventing '
    'collapsing." (§2: "it is not directly related to preventing collapsing".)'
)


def recipe(preset: str, method: str) -> dict:
    """The SimSiam paper's training recipe at the `paper` preset (§3 "Baseline settings", the
    official code's defaults): 100 epochs, batch 512, SimSiam's own SGD (base lr 0.05 × b/256,
    wd 1e-4, momentum 0.9, no warm-up; the `simsiam` method carries it, rescaled to the shared
    loss) rather than the preset's LARS, BatchNorm synchronised across devices as the preset
    has it. SimCLR in §6.2 is Table 4's 100-epoch reproduction: the preset's LARS at batch
    4096 is SimCLR's own recipe, so only the epochs change. Other presets keep their scale."""
    if preset != "paper":
        return {}
    if method == "simsiam":
        return {"train.epochs": 100, "train.batch_size": 512, "method.optim": get_method("simsiam").optim}
    return {"train.epochs": 100}
