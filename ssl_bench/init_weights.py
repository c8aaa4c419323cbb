"""Continued pretraining: a run's backbone starts from given weights instead of a random
initialisation. The weights come from a local file (safetensors, or a torch state dict
loaded weights-only, as `ssl-bench export` and `encoder.pt` write them) or from a timm or
torchvision model name whose weights are already in the local cache; a run never
downloads. The run id names the weights by a digest of their content, so the same
weights under two paths are one run, and changed weights under one path are another.

A pretrained classifier's head (`fc.`, `head.`, `classifier.`), which an encoder does not
have, is left out and named in the record; any other key or shape that does not match
the backbone is refused in one line before the run starts.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from ssl_bench.config import Init
from ssl_bench.spec import SpecError

HEAD_PREFIXES = ("fc.", "head.", "classifier.")


def read_weights(source: str) -> dict[str, torch.Tensor]:
    """The state dict `source` names: a file, `timm/<name>` or `torchvision/<weights enum>`."""
    path = Path(source).expanduser()
    if path.is_file():
        return _read_file(path, f"--init {source}")
    if source.startswith("timm/"):
        return _timm_cached(source.removeprefix("timm/"))
    if source.startswith("torchvision/"):
        return _torchvision_cached(source.removeprefix("torchvision/"))
    raise SpecError(
        f"--init {source}: no such file; give a weights file (.safetensors, or a torch state dict), "
        "timm/<model name> or torchvision/<weights name> (e.g. torchvision/ResNet18_Weights.IMAGENET1K_V1)"
    )


def _read_file(path: Path, what: str) -> dict[str, torch.Tensor]:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # a torch pickle with code in it, a truncated file, not weights at all
        raise SpecError(f"{what}: cannot read weights from {path} ({type(err).__name__}: {err})") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # a checkpoint that wraps its weights
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise SpecError(f"{what}: {path} holds no state dict of tensors")
    return state


def _timm_cached(name: str) -> dict[str, torch.Tensor]:
    import timm
    from huggingface_hub import try_to_load_from_cache

    cfg = timm.models.get_pretrained_cfg(name, allow_unregistered=False)
    hub_id = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
    if not hub_id:
        raise SpecError(f"--init timm/{name}: timm has no pretrained weights of that name on the Hugging Face hub")
    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(hub_id, filename)
        if isinstance(found, str):
            return _read_file(Path(found), f"--init timm/{name}")
    raise SpecError(
        f"--init timm/{name}: its weights ({hub_id}) are not in the local Hugging Face cache, and a run never "
        f"downloads; fetch them once with timm.create_model('{name}', pretrained=True)"
    )


def _torchvision_cached(name: str) -> dict[str, torch.Tensor]:
    from torchvision.models import get_weight

    try:
        weights = get_weight(name)
    except (ValueError, KeyError, AttributeError):
        raise SpecError(
            f"--init torchvision/{name}: not a torchvision weights name such as ResNet18_Weights.IMAGENET1K_V1"
        ) from None
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name
    if not path.is_file():
        raise SpecError(
            f"--init torchvision/{name}: not in the torch hub cache ({path}), and a run never downloads; "
            f"fetch it once with torchvision.models.get_weight('{name}').get_state_dict()"
        )
    return _read_file(path, f"--init torchvision/{name}")


def digest(state: dict[str, torch.Tensor]) -> str:
    """A digest of the weights themselves (names, dtypes, shapes, bytes), whatever file holds them."""
    h = hashlib.sha256()
    for key in sorted(state):
        t = state[key].detach().cpu().contiguous()
        h.update(f"{key}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def resolve_init(source: str) -> Init:
    """The Init a config carries for `source` (its weights read once, for the digest)."""
    return Init(weights=source, digest=digest(read_weights(source)))


def load_init(backbone: nn.Module, init: Init) -> list[str]:
    """Load `init`'s weights into `backbone`; return the classifier-head keys left out.
    SpecError (one line) when the weights changed since the run was named, or do not fit."""
    state = read_weights(init.weights)
    if init.digest and digest(state) != init.digest:
        raise SpecError(f"--init {init.weights}: the weights changed since this run was named (digest {init.digest})")
    own = backbone.state_dict()
    dropped = [k for k in state if k not in own and k.startswith(HEAD_PREFIXES)]
    unexpected = [k for k in state if k not in own and k not in dropped]
    missing = [k for k in own if k not in state]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = [
            f"{label} {', '.join(keys[:3])}{' …' if len(keys) > 3 else ''}"
            for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape", shapes))
            if keys
        ]
        raise SpecError(f"--init {init.weights} does not fit the backbone: {'; '.join(parts)}")
    backbone.load_state_dict({k: state[k] for k in own})
    return dropped
