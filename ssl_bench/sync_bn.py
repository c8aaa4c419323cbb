"""BatchNorm statistics over the global batch, on any device.

On GPUs this is torch's SyncBatchNorm. Its kernels (`batch_norm_stats` and the rest) exist
only for CUDA-like devices, so on the CPU, where runs of several processes use gloo (the
tests of multi-node runs, a laptop), `GlooBatchNorm` does the same thing with two
differentiable all-reduces: a run then computes what one process computes on the whole
batch, whatever the number of processes.
"""

from __future__ import annotations

import torch
import torch.distributed as tdist
from torch import nn
from torch.distributed.nn.functional import all_reduce
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ["GlooBatchNorm", "global_batch_norm"]


class GlooBatchNorm(_BatchNorm):
    """BatchNorm whose training statistics are those of every process's rows together.

    Two passes (the mean, then the squared deviations from it) rather than E[x²] − E[x]²,
    which loses precision when the mean is large against the spread. Gradients flow through
    the all-reduces, as through torch's SyncBatchNorm.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {x.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input_dim(x)
        syncing = self.training and tdist.is_available() and tdist.is_initialized() and tdist.get_world_size() > 1
        if not syncing:
            return super().forward(x)
        c = x.shape[1]
        dims = [0, *range(2, x.dim())]
        shape = [1, c] + [1] * (x.dim() - 2)
        local_n = torch.full((1,), x.numel() // c, dtype=x.dtype, device=x.device)
        sums = all_reduce(torch.cat([x.sum(dims), local_n]))
        n = sums[c]
        mean = sums[:c] / n
        centred = x - mean.view(shape)
        var = all_reduce((centred * centred).sum(dims)) / n
        y = centred * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            self._update_running_stats(mean.detach(), var.detach() * n / (n - 1))
        return y

    @torch.no_grad()
    def _update_running_stats(self, mean: torch.Tensor, unbiased_var: torch.Tensor) -> None:
        self.num_batches_tracked.add_(1)
        momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.lerp_(mean, momentum)
        self.running_var.lerp_(unbiased_var, momentum)


def global_batch_norm(model: nn.Module, device: torch.device) -> nn.Module:
    """`model` with every BatchNorm computing its statistics over all processes' rows:
    torch's SyncBatchNorm on a GPU, GlooBatchNorm on the CPU. Weights and running
    statistics are kept, and so are the state_dict keys."""
    if device.type != "cpu":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return _convert(model)


def _convert(module: nn.Module) -> nn.Module:
    out = module
    if isinstance(module, _BatchNorm) and not isinstance(module, GlooBatchNorm):
        out = GlooBatchNorm(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats)
        with torch.no_grad():
            if module.affine:
                out.weight = module.weight
                out.bias = module.bias
            if module.track_running_stats:
                out.running_mean = module.running_mean
                out.running_var = module.running_var
                out.num_batches_tracked = module.num_batches_tracked
        out.train(module.training)
    for name, child in module.named_children():
        out.add_module(name, _convert(child))
    return out
