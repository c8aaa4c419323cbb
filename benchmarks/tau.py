"""Target decay rate τ: BYOL Table 5a (arXiv 2006.07733 v3, 300 epochs, ImageNet top-1).

τ_base is raised to 1 by the paper's cosine schedule in the EMA rows. τ = 1 keeps the
randomly initialised target for the whole run; τ = 0 is the online network with
stop-gradient (the paper's "τ = τ_base = 0 throughout"), i.e. target "stopgrad".
"""

from ssl_bench.ablation import Ablation, PaperValue, Row, register_ablation

SOURCE = "BYOL, Grill et al. 2020, arXiv 2006.07733 v3, Table 5a"
ROWS = (
    ("0.99", {"method.tau_base": 0.99}, 72.5, None),  # the paper's ablation baseline
    ("1 (constant random target)", {"method.tau_base": 1.0}, 18.8, 0.7),
    ("0.999", {"method.tau_base": 0.999}, 69.8, None),
    ("0.9", {"method.tau_base": 0.9}, 68.4, None),
    ("0 (stop-gradient of online)", {"method.target": "stopgrad", "method.tau_base": None}, 0.3, None),
)
PAPER = tuple(PaperValue(label, "byol", top1, None, spread) for label, _, top1, spread in ROWS)


@register_ablation
def tau() -> Ablation:
    return Ablation(
        name="tau",
        title="Target network decay rate tau_base",
        source=SOURCE,
        methods=("byol",),
        rows=lambda preset: [Row(label, overrides) for label, overrides, _, _ in ROWS],
        paper=PAPER,
        x_label="tau_base",
    )
