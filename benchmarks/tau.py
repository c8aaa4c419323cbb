"""Target decay rate τ: BYOL Table 5a (arXiv 2006.07733 v3, 300 epochs, ImageNet top-1).

τ_base is raised to 1 by the paper's cosine schedule in the EMA rows. τ = 1 keeps the
randomly initialised target for the whole run; τ = 0 is the online network with
stop-gradient (the paper's "τ = τ_base = 0 throughout"), i.e. target "stopgrad".
"""

from ssl_bench.ablation import Ablation, PaperValue, Row, register_ablation
from ssl_bench.report import Verdict, collapsed, greater, stat

SOURCE = "BYOL, Grill et al. 2020, arXiv 2006.07733 v3, Table 5a"
ROWS = (
    ("0.99", {"method.tau_base": 0.99}, 72.5, None),  # the paper's ablation baseline
    ("1 (constant random target)", {"method.tau_base": 1.0}, 18.8, 0.7),
    ("0.999", {"method.tau_base": 0.999}, 69.8, None),
    ("0.9", {"method.tau_base": 0.9}, 68.4, None),
    ("0 (stop-gradient of online)", {"method.target": "stopgrad", "method.tau_base": None}, 0.3, None),
)
PAPER = tuple(PaperValue(label, "byol", top1, None, spread) for label, _, top1, spread in ROWS)


STOPGRAD, CONSTANT = ROWS[4][0], ROWS[1][0]


def claims(summary, chance) -> list[Verdict]:
    """BYOL §5 / Table 5a: τ = 0 (stop-gradient of online) collapses; a constant random
    target (τ = 1) learns, far below τ = 0.99 yet above the random-init encoder."""
    is_collapsed, numbers = collapsed(summary, "byol", STOPGRAD, chance)
    out = [
        Verdict(
            "tau = 0 collapses (top-1 near chance, embedding std near 0)",
            "not enough runs" if is_collapsed is None else ("holds" if is_collapsed else "does not hold"),
            numbers,
        )
    ]
    out.append(
        greater(
            "tau = 1 is far (>= 5 points) below tau = 0.99",
            stat(summary, "byol", "0.99", label="tau 0.99"),
            stat(summary, "byol", CONSTANT, label="tau 1"),
            margin=5.0,
        )
    )
    out.append(
        greater(
            "tau = 1 is above the random-init encoder",
            stat(summary, "byol", CONSTANT, label="tau 1"),
            stat(summary, "byol", CONSTANT, "random_linear_top1", label="random init"),
        )
    )
    return out


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
        claims=claims,
    )
