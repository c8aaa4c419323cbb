"""BatchNorm on each head layer as fields of the method spec (SimSiam Table 3): the
projector's and predictor's hidden layers (`bn`), their outputs (`bn_out`), and the
projector output's BN with or without affine parameters (`bn_out_affine`)."""

import pytest
import torch
from helpers import smoke
from torch import nn

from ssl_bench.config import run_id
from ssl_bench.distributed import SINGLE
from ssl_bench.objective import objective
from ssl_bench.spec import SpecError
from ssl_bench.step import build_model


def _norms(mlp: nn.Sequential) -> list[tuple[str, bool]]:
    return [(type(m).__name__, m.affine) for m in mlp if isinstance(m, nn.BatchNorm1d)]


BN, BN_NO_AFFINE = ("BatchNorm1d", True), ("BatchNorm1d", False)


@pytest.mark.parametrize(
    "overrides, projector, predictor",
    [
        ({}, [BN, BN, BN_NO_AFFINE], [BN]),  # SimSiam as its official code has it
        ({"method.projector.bn": False, "method.projector.bn_out": False, "method.predictor.bn": False}, [], []),
        ({"method.projector.bn_out_affine": True}, [BN, BN, BN], [BN]),
        ({"method.predictor.bn_out": True}, [BN, BN, BN_NO_AFFINE], [BN, BN_NO_AFFINE]),
    ],
)
def test_each_head_layers_batch_norm_is_a_field(overrides, projector, predictor):
    cfg = smoke("simsiam", **overrides)
    model = build_model(cfg, in_chans=1, image_size=28)
    assert _norms(model.projector) == projector and _norms(model.predictor) == predictor
    loss = objective(cfg.method, model(torch.randn(8, 1, 28, 28), torch.randn(8, 1, 28, 28)), SINGLE)
    loss.backward()
    assert torch.isfinite(loss)


def test_affine_output_bn_is_a_new_run_and_the_default_keeps_the_old_id():
    assert run_id(smoke("simsiam")) == run_id(smoke("simsiam", **{"method.projector.bn_out_affine": False}))
    assert run_id(smoke("simsiam")) != run_id(smoke("simsiam", **{"method.projector.bn_out_affine": True}))


def test_affine_without_output_bn_is_refused():
    with pytest.raises(SpecError, match="method.projector.bn_out_affine does not apply without"):
        smoke("byol", **{"method.projector.bn_out_affine": True})
