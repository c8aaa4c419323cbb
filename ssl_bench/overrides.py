"""Typed dotted-key overrides: `--set method.loss.beta=1` and the ablations' rows.

Generic over frozen dataclasses: a value is checked (and, from the command line, parsed)
against the field's annotation; a union of dataclasses is told apart by its `kind`
field, so `method.loss` can be set whole to any of the loss sub-specs.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from typing import Any

from ssl_bench.spec import SpecError


def _parse_scalar(text: str, typ: Any, key: str) -> Any:
    if typ is bool:
        low = text.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise SpecError(f"{key}={text!r}: expected true or false")
    if typ in (int, float):
        try:
            return typ(text)
        except ValueError:
            raise SpecError(f"{key}={text!r}: expected {'an int' if typ is int else 'a number'}") from None
    if typ is str:
        return text
    raise SpecError(f"{key}: cannot parse {text!r} as {typ}")


def _json(text: str, key: str, expected: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise SpecError(f"{key}={text!r}: expected {expected}") from None


def _kind_of(typ: Any) -> str | None:
    """The `kind` a dataclass of a discriminated union carries (its Literal default)."""
    for f in dataclasses.fields(typ):
        if f.name == "kind":
            return f.default
    return None


def _coerce_union(value: Any, args: tuple, key: str) -> Any:
    if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
        if type(None) in args:
            return None
        raise SpecError(f"{key} cannot be none")
    options = [a for a in args if a is not type(None)]
    if len(options) == 1:
        return coerce(value, options[0], key)
    for option in options:  # a union of dataclasses, told apart by `kind`
        if isinstance(value, option):
            return value
    if isinstance(value, str):
        value = _json(value, key, "a JSON object with a kind")
    kinds = {_kind_of(o): o for o in options if dataclasses.is_dataclass(o)}
    if not isinstance(value, Mapping) or value.get("kind") not in kinds:
        got = value.get("kind") if isinstance(value, Mapping) else value
        raise SpecError(f"{key}: kind={got!r} is not one of: {', '.join(str(k) for k in kinds)}")
    return coerce(value, kinds[value["kind"]], key)


def coerce(value: Any, typ: Any, key: str) -> Any:
    """`value` checked against the annotation `typ` (strings from the command line parsed,
    mappings built into their dataclass); SpecError names the key and what it accepts."""
    origin = typing.get_origin(typ)
    args = typing.get_args(typ)
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(value, args, key)
    if origin is typing.Literal:
        if value not in args:
            raise SpecError(f"{key}={value!r}: expected one of {', '.join(map(str, args))}")
        return value
    if origin is tuple:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [v for v in text.split(",") if v.strip()]
        if not isinstance(value, (list, tuple)):
            raise SpecError(f"{key}={value!r}: expected a list such as 1,2")
        if len(args) == 2 and args[1] is not Ellipsis and len(value) != 2:
            raise SpecError(f"{key}={value!r}: expected 2 values")
        return tuple(coerce(v, args[0], key) for v in value)
    if dataclasses.is_dataclass(typ):
        return _coerce_dataclass(value, typ, key)
    if isinstance(value, str) and typ is not str:
        return _parse_scalar(value, typ, key)
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typ in (int, float, str, bool) and not (isinstance(value, typ) and not (typ is int and isinstance(value, bool))):
        raise SpecError(f"{key}={value!r}: expected {typ.__name__}")
    return value


def _coerce_dataclass(value: Any, typ: Any, key: str) -> Any:
    if isinstance(value, typ):
        return value
    if isinstance(value, str):
        value = _json(value, key, f"a JSON object of {typ.__name__} fields")
    if not isinstance(value, Mapping):
        raise SpecError(f"{key}={value!r}: expected a {typ.__name__}")
    hints = typing.get_type_hints(typ)
    unknown = set(value) - set(hints)
    if unknown:
        raise SpecError(f"{key}: unknown field(s) {sorted(unknown)}; valid: {', '.join(hints)}")
    return typ(**{k: coerce(v, hints[k], f"{key}.{k}") for k, v in value.items()})


def set_path(obj: Any, path: list[str], value: Any, full_key: str) -> Any:
    """A copy of the frozen dataclass `obj` with the field at `path` set to `value`."""
    hints = typing.get_type_hints(type(obj))
    name = path[0]
    if name not in hints:
        prefix = full_key[: len(full_key) - len(".".join(path))].rstrip(".")
        raise SpecError(f"unknown config key {full_key!r}; valid keys under {prefix or 'the top'}: {', '.join(hints)}")
    if len(path) == 1:
        new = coerce(value, hints[name], full_key)
    else:
        child = getattr(obj, name)
        if child is None:
            raise SpecError(
                f"{full_key}: {'.'.join(full_key.split('.')[: -len(path) + 1])} is none; set it whole first"
            )
        new = set_path(child, path[1:], value, full_key)
    return dataclasses.replace(obj, **{name: new})


def parse_set_args(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SpecError(f"--set {item!r}: expected key=value, e.g. method.ema.tau_base=0.99")
        out[key.strip()] = value.strip()
    return out
