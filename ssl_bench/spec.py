"""A method is data: a small frozen spec of parts.

BYOL, SimCLR, SimSiam and MoCo are points of one space (BYOL paper, §5 and Eq. 8): a
projector, an optional predictor, a choice of target network, and the β/α (and queue) of
the shared β-InfoNCE. Barlow Twins and VICReg share the networks and swap the loss: the
loss is a sub-spec whose `kind` the training step switches on, in one place. Training
code reads these fields; it never branches on a method's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

TARGETS = ("ema", "stopgrad", "online")
# How β-InfoNCE is scaled (LARS is not invariant to it for biases and BatchNorm, BYOL §F.5):
#   "eq8"      Eq. 8 as written, both directions summed (BYOL's own loss at β = 0, and the
#              ×2α SimCLR of Table 5b at β = 1);
#   "infonce"  Eq. 8 divided by 2α: at β = 1 without predictor or target network, SimCLR's
#              own loss as its code computes it (the two directions' cross-entropies, each
#              averaged over the batch, summed), the SimCLR baseline of Tables 16 and 17.
LOSS_SCALES = ("eq8", "infonce")
# The similarity S of Eq. 8's positive term: cosine (the paper's), or SimSiam's cross-entropy
# of the softmaxed target and prediction over channels (§4.5), at β = 0 only.
SIMILARITIES = ("cosine", "cross_entropy")
OPTIMIZERS = ("lars", "sgd", "adamw")
# The predictor's learning rate (SimSiam §4.2, Table 1): the schedule every other parameter
# follows; "constant", the schedule's peak throughout (the official code's --fix-pred-lr);
# "frozen", never trained (a fixed random predictor, Table 1b).
PREDICTOR_LRS = ("schedule", "constant", "frozen")
# Which directions of a β-InfoNCE loss count (SimSiam §4.6): both ("symmetric"), view 1 →
# view 2 alone ("asymmetric"), or that direction on two independently drawn pairs of views
# per image ("asymmetric_2x", the symmetric loss's compute).
SYMMETRIES = ("symmetric", "asymmetric", "asymmetric_2x")
# Fields added to the spec after runs were recorded: left out of the run id at their
# default, so those runs keep their ids (ssl_bench.config.run_id).
_OMIT_AT_DEFAULT = {"omit_from_id_at_default": True}


class SpecError(ValueError):
    """A spec or config value out of range; the message is one line for the CLI."""


class DatasetError(ValueError):
    """A dataset could not be loaded; the message is one line, fit for a CLI."""

    def __init__(self, message: str) -> None:
        # Messages may embed text from PIL/torchvision exceptions; keep them on one line.
        super().__init__(" ".join(str(message).splitlines()))


@dataclass(frozen=True)
class MLP:
    """Linear → BN → ReLU blocks for each hidden width, then a final Linear.

    `bn_out` adds a BatchNorm on the output, without affine parameters as SimSiam's official
    code has it (Chen & He 2021, §4.1), or with them (`bn_out_affine`, the paper's text;
    Table 3 compares BN on each layer); `bn=False` leaves BatchNorm out of the hidden
    blocks, as MoCo v2's head has none.
    """

    hidden: tuple[int, ...]
    out: int
    bn_out: bool = False
    bn: bool = True
    bn_out_affine: bool = field(default=False, metadata=_OMIT_AT_DEFAULT)


@dataclass(frozen=True)
class Optim:
    """Optimizer defaults. The learning rate is per 256 images: lr = base_lr × batch / 256."""

    name: str = "lars"
    base_lr: float = 0.2
    weight_decay: float = 1.5e-6
    momentum: float = 0.9
    warmup_epochs: float = 10.0


@dataclass(frozen=True)
class EMA:
    """A target network that is an exponential moving average of the online one: τ raised
    from tau_base to 1 over training by the paper's cosine (BYOL §3.2), or held at
    tau_base throughout (`cosine=False`, MoCo's constant momentum).

    `every`: the target moves once every that many updates and stays fixed in between
    (0: once an epoch, at its end). With tau_base 0 and no cosine it is a copy of the
    online network held for k updates: SimSiam's k-step alternation (§5.2), where 1 step
    is SimSiam itself."""

    tau_base: float = 0.996
    cosine: bool = True
    every: int = field(default=1, metadata=_OMIT_AT_DEFAULT)


@dataclass(frozen=True)
class InfoNCE:
    """The β-weighted InfoNCE of BYOL Eq. 8 (ssl_bench.loss.beta_info_nce).

    beta: 0 is BYOL's regression loss, 1 the contrastive loss of SimCLR.
    temperature: α; it enters only the β-term.
    scale: one of LOSS_SCALES.
    queue: K > 0 keeps the last K target projections (both views of each update) as extra
      negatives, as MoCo's queue does; they are enqueued after the loss used the old ones.
    same_view_negatives, other_view_negatives: whether the batch's S(vᵢ, vⱼ) and S(vᵢ, v′ⱼ),
      j ≠ i, count in the denominator, as both do in Eq. 8; MoCo's has only the queue.
    similarity: one of SIMILARITIES.
    """

    kind: Literal["info_nce"] = field(default="info_nce", kw_only=True)
    beta: float = 0.0
    temperature: float = 0.1
    scale: str = "eq8"
    queue: int = 0
    same_view_negatives: bool = True
    other_view_negatives: bool = True
    similarity: str = field(default="cosine", metadata=_OMIT_AT_DEFAULT)

    @property
    def factor(self) -> float:
        """What Eq. 8 (summed over both directions) is multiplied by."""
        return 1.0 if self.scale == "eq8" else 1.0 / (2.0 * self.temperature)


@dataclass(frozen=True)
class BarlowTwins:
    """Barlow Twins (Zbontar et al., ICML 2021, Eq. 1): the cross-correlation of the two
    views' batch-standardised projections pushed to the identity; lambd weighs the
    off-diagonal terms (the paper's λ, 5·10⁻³; its code uses 0.0051)."""

    kind: Literal["barlow_twins"] = field(default="barlow_twins", kw_only=True)
    lambd: float = 0.0051


@dataclass(frozen=True)
class VICReg:
    """VICReg (Bardes et al., ICLR 2022, Eq. 6): invariance (mean squared distance) weighted
    by sim, variance (a hinge on each dimension's std, at 1) by var, covariance (squared
    off-diagonal covariances / d) by cov. The paper's λ = μ = 25, ν = 1."""

    kind: Literal["vicreg"] = field(default="vicreg", kw_only=True)
    sim: float = 25.0
    var: float = 25.0
    cov: float = 1.0


LossSpec = InfoNCE | BarlowTwins | VICReg
LOSSES: dict[str, type] = {"info_nce": InfoNCE, "barlow_twins": BarlowTwins, "vicreg": VICReg}


@dataclass(frozen=True)
class MethodSpec:
    """One point of the method space.

    target: which network gives the branch the online output is compared with
      "ema"      an exponential moving average of the online network (`ema` gives τ);
      "stopgrad" the online network's projection with stop-gradient (SimSiam);
      "online"   the online network's projection, gradient flowing (SimCLR, Barlow Twins,
                 VICReg: the two branches are symmetric).
    loss: the objective on the branches, one of LossSpec. β-InfoNCE spans BYOL, SimCLR,
      SimSiam and MoCo; Barlow Twins and VICReg lie outside it.
    augmentation: name of the augmentation preset the method uses by default.
    predictor_lr: one of PREDICTOR_LRS.
    symmetry: one of SYMMETRIES.
    """

    projector: MLP
    predictor: MLP | None
    target: str
    loss: LossSpec
    optim: Optim
    augmentation: str
    ema: EMA | None = None
    predictor_lr: str = field(default="schedule", metadata=_OMIT_AT_DEFAULT)
    symmetry: str = field(default="symmetric", metadata=_OMIT_AT_DEFAULT)


def validate_method(spec: MethodSpec) -> None:
    if spec.target not in TARGETS:
        raise SpecError(f"method.target={spec.target!r} is not one of: {', '.join(TARGETS)}")
    if spec.target == "ema":
        if spec.ema is None:
            raise SpecError("method.ema is required with method.target='ema' (set method.ema.tau_base in [0, 1])")
        if not 0.0 <= spec.ema.tau_base <= 1.0:
            raise SpecError(f"method.ema.tau_base={spec.ema.tau_base} is outside [0, 1]")
        if spec.ema.every < 0:
            raise SpecError(f"method.ema.every={spec.ema.every} must be >= 1 (updates), or 0 (once an epoch)")
    elif spec.ema is not None:
        raise SpecError(
            f"method.ema does not apply with method.target={spec.target!r} (only 'ema' has a decay); set it to none"
        )
    _validate_loss(spec.loss)
    for part_name, part in (("projector", spec.projector), ("predictor", spec.predictor)):
        if part is None:
            continue
        if part.out < 1 or any(h < 1 for h in part.hidden):
            raise SpecError(f"method.{part_name} widths must be >= 1, got hidden={part.hidden} out={part.out}")
        if part.bn_out_affine and not part.bn_out:
            raise SpecError(f"method.{part_name}.bn_out_affine does not apply without method.{part_name}.bn_out")
    if spec.predictor is not None and spec.predictor.out != spec.projector.out:
        raise SpecError(
            f"method.predictor.out={spec.predictor.out} must equal method.projector.out={spec.projector.out}: "
            "the prediction is compared with the target's projection"
        )
    if spec.predictor_lr not in PREDICTOR_LRS:
        raise SpecError(f"method.predictor_lr={spec.predictor_lr!r} is not one of: {', '.join(PREDICTOR_LRS)}")
    if spec.predictor is None and spec.predictor_lr != "schedule":
        raise SpecError(f"method.predictor_lr={spec.predictor_lr!r} does not apply: the method has no predictor")
    if spec.symmetry not in SYMMETRIES:
        raise SpecError(f"method.symmetry={spec.symmetry!r} is not one of: {', '.join(SYMMETRIES)}")
    if spec.symmetry != "symmetric" and not isinstance(spec.loss, InfoNCE):
        raise SpecError(
            f"method.symmetry={spec.symmetry!r} does not apply to a {spec.loss.kind} loss, which is symmetric "
            "in its two views by construction"
        )
    o = spec.optim
    if o.name not in OPTIMIZERS:
        raise SpecError(f"method.optim.name={o.name!r} is not one of: {', '.join(OPTIMIZERS)}")
    if not o.base_lr > 0:
        raise SpecError(f"method.optim.base_lr={o.base_lr} must be > 0")
    if o.weight_decay < 0:
        raise SpecError(f"method.optim.weight_decay={o.weight_decay} must be >= 0")
    if not 0 <= o.momentum < 1:
        raise SpecError(f"method.optim.momentum={o.momentum} must be in [0, 1)")
    if o.warmup_epochs < 0:
        raise SpecError(f"method.optim.warmup_epochs={o.warmup_epochs} must be >= 0")


def _validate_loss(loss: LossSpec) -> None:
    if isinstance(loss, InfoNCE):
        if loss.scale not in LOSS_SCALES:
            raise SpecError(f"method.loss.scale={loss.scale!r} is not one of: {', '.join(LOSS_SCALES)}")
        if loss.beta < 0:
            raise SpecError(f"method.loss.beta={loss.beta} must be >= 0")
        if not loss.temperature > 0:
            raise SpecError(f"method.loss.temperature={loss.temperature} must be > 0")
        if loss.similarity not in SIMILARITIES:
            raise SpecError(f"method.loss.similarity={loss.similarity!r} is not one of: {', '.join(SIMILARITIES)}")
        if loss.similarity != "cosine" and loss.beta != 0:
            raise SpecError(
                f"method.loss.similarity={loss.similarity!r} needs method.loss.beta=0: it replaces the cosine of "
                "the positive term, and the negatives' term is defined on cosines"
            )
        if loss.queue < 0:
            raise SpecError(f"method.loss.queue={loss.queue} must be >= 0 (0: no queue)")
        if loss.queue and loss.beta == 0:
            raise SpecError(f"method.loss.queue={loss.queue} needs method.loss.beta > 0: a queue holds negatives")
        if loss.beta > 0 and not (loss.queue or loss.same_view_negatives or loss.other_view_negatives):
            raise SpecError(
                "method.loss has beta > 0 but no negatives: set queue > 0 or same_view_negatives or "
                "other_view_negatives true"
            )
    elif isinstance(loss, BarlowTwins):
        if not loss.lambd >= 0:
            raise SpecError(f"method.loss.lambd={loss.lambd} must be >= 0")
    elif isinstance(loss, VICReg):
        for name in ("sim", "var", "cov"):
            if not getattr(loss, name) >= 0:
                raise SpecError(f"method.loss.{name}={getattr(loss, name)} must be >= 0")
    else:
        raise SpecError(f"method.loss={loss!r} is not one of: {', '.join(LOSSES)}")
