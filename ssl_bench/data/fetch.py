"""`ssl-bench download`: the one step that fetches data (torchvision, network needed), and
the hint the loaders give when files are missing.
"""

from __future__ import annotations

from pathlib import Path

from ssl_bench.spec import DatasetError

# torchvision classes that can fetch each dataset (used only by `ssl-bench download`).
TORCHVISION_CLASSES = {"fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10", "cifar100": "CIFAR100", "stl10": "STL10"}


def download_hint(tv_class: str, data_dir: str) -> str:
    name = {v: k for k, v in TORCHVISION_CLASSES.items()}[tv_class]
    return f"download once with: ssl-bench download {name} --data-dir {data_dir}"


def downloadable() -> list[str]:
    return sorted(TORCHVISION_CLASSES)


def download(name: str, data_dir: str) -> Path:
    """Fetch a dataset into `data_dir` with torchvision (needs network access). Loading
    never downloads: this is the one explicit step that does."""
    import torchvision

    if name not in TORCHVISION_CLASSES:
        raise DatasetError(f"cannot download {name!r}; choose one of: {', '.join(downloadable())}")
    root = Path(data_dir).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    cls = getattr(torchvision.datasets, TORCHVISION_CLASSES[name])
    try:
        if name == "stl10":
            cls(str(root), split="train+unlabeled", download=True)
            cls(str(root), split="test", download=True)
        else:
            cls(str(root), train=True, download=True)
            cls(str(root), train=False, download=True)
    except Exception as err:  # network errors come in many types
        raise DatasetError(f"downloading {name} into {root} failed: {type(err).__name__}: {err}") from None
    return root
