"""A method is data: a small frozen spec of parts.

BYOL, SimCLR and SimSiam are three points of one space (BYOL paper, §5 and Eq. 8):
a projector, an optional predictor, a choice of target network, and the β/α of the
shared loss. Training code reads these fields; it never branches on a method's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TARGETS = ("ema", "stopgrad", "online")
# How the loss is scaled (LARS is not invariant to it for biases and BatchNorm, BYOL §F.5):
#   "eq8"      Eq. 8 as written, both directions summed (BYOL's own loss at β = 0, and the
#              ×2α SimCLR of Table 5b at β = 1);
#   "infonce"  Eq. 8 divided by 2α: at β = 1 without predictor or target network, SimCLR's
#              own loss as its code computes it (the two directions' cross-entropies, each
#              averaged over the batch, summed), the SimCLR baseline of Tables 16 and 17.
LOSS_SCALES = ("eq8", "infonce")
OPTIMIZERS = ("lars", "sgd", "adamw")


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

    `bn_out` adds a BatchNorm without affine parameters on the output, as SimSiam's
    projector does (Chen & He 2021, §4.1).
    """

    hidden: tuple[int, ...]
    out: int
    bn_out: bool = False


@dataclass(frozen=True)
class Optim:
    """Optimizer defaults. The learning rate is per 256 images: lr = base_lr × batch / 256."""

    name: str = "lars"
    base_lr: float = 0.2
    weight_decay: float = 1.5e-6
    momentum: float = 0.9
    warmup_epochs: float = 10.0


@dataclass(frozen=True)
class MethodSpec:
    """One point of the method space.

    target:
      "ema"      target network = exponential moving average of the online network,
                 τ raised from tau_base to 1 per step by the paper's cosine (BYOL §3.2);
      "stopgrad" target = the online network's projection with stop-gradient (SimSiam);
      "online"   target = the online network's projection, gradient flowing (SimCLR).
    beta, temperature: β and α of the loss (BYOL Eq. 8). β = 0 is BYOL's regression
    loss; β = 1 with no predictor and an "online" target is SimCLR.
    augmentation: name of the augmentation preset the method uses by default.
    loss_scale: one of LOSS_SCALES.
    """

    projector: MLP
    predictor: MLP | None
    target: str
    tau_base: float | None
    beta: float
    temperature: float
    optim: Optim
    augmentation: str
    # Added after records existed: at its default it stays out of the run id.
    loss_scale: str = field(default="eq8", metadata={"omit_from_id_at_default": True})

    @property
    def loss_factor(self) -> float:
        """What Eq. 8 (summed over both directions) is multiplied by."""
        return 1.0 if self.loss_scale == "eq8" else 1.0 / (2.0 * self.temperature)


def validate_method(spec: MethodSpec) -> None:
    if spec.target not in TARGETS:
        raise SpecError(f"method.target={spec.target!r} is not one of: {', '.join(TARGETS)}")
    if spec.target == "ema":
        if spec.tau_base is None:
            raise SpecError("method.tau_base is required with method.target='ema' (a value in [0, 1])")
        if not 0.0 <= spec.tau_base <= 1.0:
            raise SpecError(f"method.tau_base={spec.tau_base} is outside [0, 1]")
    elif spec.tau_base is not None:
        raise SpecError(
            f"method.tau_base={spec.tau_base} does not apply with method.target={spec.target!r} "
            "(only 'ema' has a decay); set it to none"
        )
    if spec.loss_scale not in LOSS_SCALES:
        raise SpecError(f"method.loss_scale={spec.loss_scale!r} is not one of: {', '.join(LOSS_SCALES)}")
    if spec.beta < 0:
        raise SpecError(f"method.beta={spec.beta} must be >= 0")
    if not spec.temperature > 0:
        raise SpecError(f"method.temperature={spec.temperature} must be > 0")
    for part_name, part in (("projector", spec.projector), ("predictor", spec.predictor)):
        if part is None:
            continue
        if part.out < 1 or any(h < 1 for h in part.hidden):
            raise SpecError(f"method.{part_name} widths must be >= 1, got hidden={part.hidden} out={part.out}")
    if spec.predictor is not None and spec.predictor.out != spec.projector.out:
        raise SpecError(
            f"method.predictor.out={spec.predictor.out} must equal method.projector.out={spec.projector.out}: "
            "the prediction is compared with the target's projection"
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
