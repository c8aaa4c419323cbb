"""What the SimSiam paper's ablations share (Chen & He, "Exploring Simple Siamese
Representation Learning", CVPR 2021, arXiv 2011.10566 v1): its protocol, its numbering
(the similarity and symmetrization results are untitled tables in §4.5 and §4.6; Table 4
is the ImageNet comparison), and the predictor learning rate its later ablations use.

Every SimSiam ablation is a point of the same method space as the BYOL paper's: SimSiam is
BYOL's predictor with a stop-gradient target and no moving average, so its rows are
overrides of the `simsiam` method, never new code.
"""

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
