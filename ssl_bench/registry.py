"""Name → factory registries: the methods' here (the ablations' is `ssl_bench.ablation`'s).

Built-ins register by being imported (ssl_bench/methods/__init__.py imports each
module explicitly). Third-party packages plug in through an entry-point group and
are loaded on the first lookup that misses, so a method added in a user's own
package works with every command without touching this project.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from ssl_bench.spec import MethodSpec

T = TypeVar("T")


class UnknownNameError(ValueError):
    """An unknown registry name; the message lists the valid choices."""


class Registry(Generic[T]):
    def __init__(self, kind: str, entry_point_group: str) -> None:
        self.kind = kind
        self.group = entry_point_group
        self._factories: dict[str, Callable[[], T]] = {}
        self._origin: dict[str, str] = {}
        self._plugins_loaded = False

    def register(self, factory: Callable[[], T]) -> Callable[[], T]:
        """Decorator: the registered name is the function's name."""
        name = factory.__name__
        self.add(name, factory)
        return factory

    def add(self, name: str, factory: Callable[[], T]) -> None:
        origin = getattr(factory, "__module__", "?")
        if name in self._factories:
            # Raising (rather than overwriting) catches a module imported twice under two
            # names, e.g. `methods.byol` from the repo root and `ssl_bench.methods.byol`.
            raise KeyError(f"{self.kind} {name!r} already registered by {self._origin[name]} (again from {origin})")
        self._factories[name] = factory
        self._origin[name] = origin

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.group):
            if ep.name in self._factories:
                continue
            self.add(ep.name, ep.load())

    def names(self) -> list[str]:
        self._load_plugins()
        return sorted(self._factories)

    def get(self, name: str) -> T:
        if name not in self._factories:
            self._load_plugins()
        if name not in self._factories:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self.names())}")
        return self._factories[name]()


def _import_builtins() -> None:
    import ssl_bench.methods  # noqa: F401  (registers the built-in presets)


METHODS: Registry = Registry("method", "ssl_bench.methods")
register_method = METHODS.register


def get_method(name: str) -> MethodSpec:
    """The MethodSpec registered under `name` (built-ins, then entry-point plugins)."""
    _import_builtins()
    return METHODS.get(name)


def list_methods() -> list[str]:
    _import_builtins()
    return METHODS.names()
