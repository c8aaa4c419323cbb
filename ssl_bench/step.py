"""One optimizer update, shared by the training loop and the throughput benchmark.

Nothing in a step reads a value back to the host: the images are already on the device,
the augmentation draws its parameters there, the loss stays a device tensor, the
learning rate and τ come from host-side schedules, and the EMA is one fused call. On a
GPU the host can therefore queue steps ahead of the device; the loop reads the losses
back every few steps (`loop.py`), not every step.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
from torch import nn

from ssl_bench.augment import apply_params, normalize_images, sample_params
from ssl_bench.backbones import build_backbone
from ssl_bench.config import RunConfig
from ssl_bench.distributed import SINGLE, Dist
from ssl_bench.ghost_bn import can_group, ghost_batch_norm
from ssl_bench.host_memory import keep_freed_memory
from ssl_bench.init_weights import load_init
from ssl_bench.model import Siamese
from ssl_bench.objective import keys_to_enqueue, objective, split_branches
from ssl_bench.schedules import ema_update
from ssl_bench.sync_bn import global_batch_norm


def build_model(cfg: RunConfig, in_chans: int, image_size: int) -> Siamese:
    """The run's network as it starts: seeded here, so the baselines can rebuild it exactly
    at evaluation time, and with the backbone's weights from `cfg.init` where given (before
    a target network copies it)."""
    torch.manual_seed(cfg.seed)
    backbone, feat_dim = build_backbone(cfg.backbone, in_chans, image_size)
    if cfg.init is not None:
        load_init(backbone, cfg.init)
    return Siamese(cfg.method, backbone, feat_dim).to(param_dtype(cfg))


def param_dtype(cfg: RunConfig) -> torch.dtype:
    """The dtype of the weights and of the augmented views: float64 only at train.precision=fp64."""
    return torch.float64 if cfg.train.precision == "fp64" else torch.float32


def build_optimizer(cfg: RunConfig, model: nn.Module) -> torch.optim.Optimizer:
    """The method's optimizer over the trainable parameters (an EMA target has none, nor a
    frozen predictor). With method.predictor_lr="constant" the predictor's parameters form
    groups of their own, marked `constant_lr`, which the step keeps at the schedule's peak."""
    opt = _optimizer(cfg, model)
    if cfg.method.predictor_lr == "constant":
        predictor = {id(p) for p in model.predictor.parameters()}
        groups = []
        for g in opt.param_groups:
            for constant in (False, True):
                params = [p for p in g["params"] if (id(p) in predictor) == constant]
                if params:
                    groups.append(
                        {**{k: v for k, v in g.items() if k != "params"}, "params": params, "constant_lr": constant}
                    )
        opt.param_groups.clear()  # no state yet: regroup the same parameters in place
        for group in groups:
            opt.add_param_group(group)
    return opt


def peak_lr(cfg: RunConfig) -> float:
    """The learning-rate schedule's peak: base_lr × batch / 256."""
    return cfg.method.optim.base_lr * cfg.train.batch_size / 256


def _optimizer(cfg: RunConfig, model: nn.Module) -> torch.optim.Optimizer:
    o = cfg.method.optim
    if o.name == "lars":
        from timm.optim import Lars, param_groups_weight_decay

        # BYOL App. C: biases and BatchNorm parameters are excluded from both weight decay
        # and LARS adaptation, by kind (timm's split: 1-D parameters and biases), never by
        # the value of weight decay. timm's Lars adapts a group whose weight_decay != 0 or
        # whose always_adapt is set, so the weights' group sets always_adapt: weight_decay=0
        # still adapts every weight. The placeholder 1.0 asks timm for the split, which it
        # skips at 0.
        groups = param_groups_weight_decay(model, 1.0)
        for group in groups:
            adapt = group["weight_decay"] != 0  # the weights' group, not the biases/norm one
            group.update(weight_decay=o.weight_decay if adapt else 0.0, always_adapt=adapt)
        return Lars(groups, lr=0.0, momentum=o.momentum, weight_decay=o.weight_decay, trust_coeff=1e-3)
    params = [p for p in model.parameters() if p.requires_grad]
    if o.name == "sgd":
        return torch.optim.SGD(params, lr=0.0, momentum=o.momentum, weight_decay=o.weight_decay)
    return torch.optim.AdamW(params, lr=0.0, weight_decay=o.weight_decay)


def uses_bf16(cfg: RunConfig, device: torch.device) -> bool:
    """train.precision on this device ("auto": bf16 on CUDA, fp32 on the CPU)."""
    return cfg.train.precision == "bf16" or (cfg.train.precision == "auto" and device.type == "cuda")


def uses_channels_last(cfg: RunConfig, model: nn.Module, device: torch.device) -> bool:
    """train.channels_last on this device and network (none: chosen here). A convolutional
    network (more than a ViT's one patch-embedding convolution) on the CPU, where it was
    faster on both CPU kinds measured (1.64x with AVX-512, 1.43x with AVX2 only, the
    `cpu` preset's step, `ssl-bench bench --each-switch`), and on CUDA under bf16, the
    layout of its tensor-core convolutions."""
    if cfg.train.channels_last is not None:
        return cfg.train.channels_last
    convolutions = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    return convolutions > 1 and (device.type == "cpu" or uses_bf16(cfg, device))


def autocast(cfg: RunConfig, device: torch.device) -> torch.autocast:
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=uses_bf16(cfg, device))


@dataclass
class Step:
    """The parts of one update, callable one by one (the benchmark times them apart) or
    together (`__call__`, what the loop runs)."""

    cfg: RunConfig
    model: Siamese  # the module whose state is saved and evaluated
    net: nn.Module  # what the forward goes through: model, DDP(model), maybe compiled
    optimizer: torch.optim.Optimizer
    mean: torch.Tensor
    std: torch.Tensor
    size: int
    aug_gen: torch.Generator
    dist: Dist = SINGLE
    channels_last: bool = False  # the layout chosen for this run (`uses_channels_last`)
    _ema: tuple = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.model.target is not None:
            # Fixed lists of tensors: load_state_dict copies into them, so they stay valid.
            self._ema = (self.model.ema_pairs(), self.model.ema_buffer_pairs())

    @property
    def device(self) -> torch.device:
        return self.mean.device

    def views(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two augmented, normalised views of a uint8 batch on the device: [B, C, H, W]
        images, or [B, 2, C, size, size] pairs of crops already cut by the loader's workers
        (`data.crop_source=full`), which then get the rest of each view here."""
        return self.update_views([x])[0]

    def update_views(self, micro_batches: list[torch.Tensor]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """`views` of each micro-batch of an update. The parameters are drawn micro-batch
        by micro-batch, in the order `views` on each in turn draws them, and then applied
        in one batched call per view: every op acts image by image, so the pixels are the
        same, and an update of many small micro-batches costs one augmentation, not many."""
        rows = (self.dist.rank, self.dist.world)  # this rank's share of the global batch's draw
        # SimSiam §4.6's asymmetric 2x: a second pair per image, drawn after the first; the
        # loss's one direction runs over both pairs, at the symmetric loss's compute.
        pairs = 2 if self.cfg.method.symmetry == "asymmetric_2x" else 1
        view1, view2 = self.cfg.aug.view1, self.cfg.aug.view2
        sources: tuple[list[torch.Tensor], list[torch.Tensor]] = ([], [])
        drawn: tuple[list[dict], list[dict]] = ([], [])
        cut = micro_batches[0].ndim == 5
        for x in micro_batches:
            x1, x2 = (x[:, 0], x[:, 1]) if cut else (x, x)
            if self.mean.dtype == torch.float64:  # train.precision=fp64: augment in float64 too
                x1, x2 = (v.to(torch.float64).div_(255.0) for v in (x1, x2))
            for _ in range(pairs):
                for k, (image, view) in enumerate(((x1, view1), (x2, view2))):
                    n, hw = image.shape[0], (image.shape[-2], image.shape[-1])
                    drawn[k].append(sample_params(view, n, hw, self.size, self.aug_gen, image.device, rows))
                    sources[k].append(image)
        both = []
        for k, view in enumerate((view1, view2)):
            params = {key: torch.cat([p[key] for p in drawn[k]]) for key in drawn[k][0]}
            a = apply_params(torch.cat(sources[k]), params, view, self.size, crop=not cut)
            v = normalize_images(a, self.mean, self.std)
            both.append(v.contiguous(memory_format=torch.channels_last) if self.channels_last else v)
        return list(zip(*(v.tensor_split(len(micro_batches)) for v in both), strict=True))

    def forward_backward(self, v1: torch.Tensor, v2: torch.Tensor, last: bool = True) -> torch.Tensor:
        """Loss and gradients of one micro-batch; returns the detached fp32 loss."""
        queue = self.model.queue
        # Gradients are averaged across processes once per update, not per micro-batch.
        with nullcontext() if self.dist.world == 1 or last else self.net.no_sync():
            with autocast(self.cfg, self.device):
                branches = self.net(v1, v2)
                loss = objective(self.cfg.method, branches, self.dist, queue)
            (loss / self.cfg.train.accumulate).backward()
        if queue is not None:
            # After the loss used the old keys (MoCo's order), as the micro-batch's last act.
            self.model.enqueue(keys_to_enqueue(branches, self.dist))
        return loss.detach().float()

    def optimizer_step(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            # SimSiam's --fix-pred-lr: the predictor stays at the schedule's peak (its init lr).
            group["lr"] = peak_lr(self.cfg) if group.get("constant_lr") else lr
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def ema(self, tau: float) -> None:
        """Target ← τ target + (1 − τ) online; BatchNorm statistics copied (see
        `Siamese.ema_buffer_pairs`)."""
        (target, online), (target_buffers, online_buffers) = self._ema
        ema_update(target, online, tau)
        if target_buffers:
            torch._foreach_copy_(target_buffers, online_buffers)

    @property
    def one_pass(self) -> bool:
        """Whether an update's micro-batches go through the network together (ghost batch
        norm): in one process (several keep the sequential path, whose gathers and
        synchronised statistics per micro-batch the tests cover), not under torch.compile."""
        t = self.cfg.train
        return t.micro_batches == "one_pass" and self.dist.world == 1 and t.compile == "off" and can_group(self.model)

    def forward_backward_grouped(self, views: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """Loss and gradients of several micro-batches in one pass, each with its own
        BatchNorm statistics, negatives and queue state, as `forward_backward` run on
        each in turn would give; returns the mean detached fp32 loss."""
        groups = len(views)
        v1, v2 = torch.cat([v[0] for v in views]), torch.cat([v[1] for v in views])
        queue = self.model.queue
        with ghost_batch_norm(self.model, groups), autocast(self.cfg, self.device):
            branches = self.net(v1, v2)
            losses = []
            for part in split_branches(branches, groups):
                # The queue as the sequential path would see it: after the earlier groups' keys.
                losses.append(objective(self.cfg.method, part, self.dist, None if queue is None else queue.clone()))
                if queue is not None:
                    self.model.enqueue(keys_to_enqueue(part, self.dist))
            total = torch.stack(losses).sum()
        (total / self.cfg.train.accumulate).backward()
        mean = torch.zeros((), device=self.device)
        for value in losses:  # summed as the sequential path sums them, so the reported loss is the same
            mean = mean + value.detach().float() / groups
        return mean

    def forward_backward_all(self, views: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """Loss and gradients of an update's micro-batches (their views): in one pass where
        `one_pass` allows, else one after another; the mean detached fp32 loss."""
        if len(views) > 1 and self.one_pass:
            return self.forward_backward_grouped(views)
        loss = torch.zeros((), device=self.device)
        for m, (v1, v2) in enumerate(views):
            loss = loss + self.forward_backward(v1, v2, last=m == len(views) - 1) / len(views)
        return loss

    def __call__(self, micro_batches: list[torch.Tensor], lr: float, tau: float | None) -> torch.Tensor:
        """One update over the micro-batches (uint8 images); the mean loss, on the device."""
        loss = self.forward_backward_all(self.update_views(micro_batches))
        self.optimizer_step(lr)
        if tau is not None:
            # Once per update, also when the update accumulates micro-batches (BYOL App. F).
            self.ema(tau)
        return loss


def build_step(
    cfg: RunConfig,
    in_chans: int,
    mean: torch.Tensor,
    std: torch.Tensor,
    size: int,
    dist: Dist = SINGLE,
) -> Step:
    """Model, optimizer and augmentation stream for `cfg` on the device of `mean`, with the
    run's switches applied (channels_last, SyncBN and DDP across processes, torch.compile),
    in a process that keeps the memory its steps free (`ssl_bench.host_memory`)."""
    keep_freed_memory()
    device = mean.device
    t = cfg.train
    mean, std = mean.to(param_dtype(cfg)), std.to(param_dtype(cfg))
    model = build_model(cfg, in_chans, size).to(device)
    channels_last = uses_channels_last(cfg, model, device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    net: nn.Module = model
    if dist.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        if t.sync_bn:
            model = global_batch_norm(model, device)
        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if t.compile != "off":
        # Only the forward goes through the compiled wrapper; state is saved from `model`,
        # so checkpoint keys are the same with and without compilation.
        net = torch.compile(net, mode=t.compile)
    optimizer = build_optimizer(cfg, model)
    # One stream, the same in every process: each draws the global batch's augmentations
    # and keeps its rows (`Step.views`), so the layout does not change what is trained on.
    aug_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    return Step(cfg, model, net, optimizer, mean, std, size, aug_gen, dist, channels_last)
