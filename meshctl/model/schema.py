"""Typed views of YAML mappings: dataclasses parsed field by field, wrong types reported, unknown keys kept."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any, Callable, Literal, get_args, get_origin

from .findings import format_path
from .yamldoc import describe_type

Path = tuple[Any, ...]


class Duration(str):
    """A protobuf-JSON style duration as written ("5s", "1.5s", "100ms"); `.seconds` gives the value."""

    @property
    def seconds(self) -> float:
        return duration_seconds(self)


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float:
    m = _DURATION.match(text.strip())
    if not m:
        raise ValueError(f"not a duration: {text!r}")
    return float(m.group(1)) * _UNIT[m.group(2)]


class Problems:
    """Collects type problems found while parsing one resource."""

    def __init__(self) -> None:
        self.items: list[tuple[Path, str]] = []

    def add(self, path: Path, message: str) -> None:
        self.items.append((path, message))


@dataclass
class Model:
    """Base of every typed view. `_extra` keeps keys the model does not know; `_keys` the written key order;
    `_unread` known keys whose written value was not taken (null or a wrong type), as written."""

    _extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _keys: tuple[str, ...] = field(default=(), repr=False, compare=False)
    _unread: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)


def key(name: str) -> dict[str, str]:
    """Field metadata naming the YAML key when camelCase of the attribute is not it (e.g. `from`)."""
    return {"key": name}


def camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


Converter = Callable[[Any, Path, Problems], Any]
_BAD = object()  # returned by a converter after it reported a problem

# How parse_model reads a field without calling its converter (the common, well-typed case; a converter
# call and a path tuple per field were most of the model-building time): the value must have this exact
# type, or be a mapping for a model, or a list of mappings for a list of models.
_EXACT, _MODEL, _MODEL_LIST, _CONVERT = range(4)
FieldSpec = tuple[str, Converter, int, Any]  # attribute, converter, one of the above, its type or model class
_compiled: dict[type, tuple[dict[str, FieldSpec], dict[str, str]]] = {}


def _compile(cls: type) -> tuple[dict[str, FieldSpec], dict[str, str]]:
    hit = _compiled.get(cls)
    if hit is not None:
        return hit
    hints = typing.get_type_hints(cls)
    by_key: dict[str, FieldSpec] = {}
    attr_to_key: dict[str, str] = {}
    for f in fields(cls):
        if _skipped(f):
            continue
        k = f.metadata.get("key") or camel(f.name)
        by_key[k] = (f.name, _converter(hints[f.name]), *_shortcut(hints[f.name]))
        attr_to_key[f.name] = k
    _compiled[cls] = (by_key, attr_to_key)
    return by_key, attr_to_key


def _shortcut(tp: Any) -> tuple[int, Any]:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in get_args(tp) if a is not type(None)]
        return _shortcut(inner[0]) if len(inner) == 1 else (_CONVERT, None)
    if tp in (str, bool, int):
        return _EXACT, tp
    if isinstance(tp, type) and is_dataclass(tp):
        return _MODEL, tp
    if origin is list:
        (item,) = get_args(tp) or (Any,)
        if isinstance(item, type) and is_dataclass(item):
            return _MODEL_LIST, item
    return _CONVERT, None


def _skipped(f: Any) -> bool:
    """Bookkeeping fields (leading underscore, or marked `skip`) are not read from YAML."""
    return f.name.startswith("_") or bool(f.metadata.get("skip"))


def _converter(tp: Any) -> Converter:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in get_args(tp) if a is not type(None)]
        return _converter(inner[0]) if len(inner) == 1 else _any
    if origin is Literal:
        return _literal(get_args(tp))
    if origin is list:
        (item,) = get_args(tp) or (Any,)
        return _list(_converter(item))
    if origin is dict:
        _, value = get_args(tp) or (str, Any)
        return _dict(_converter(value))
    if tp is Any:
        return _any
    if tp is str:
        return _scalar(str, "a string")
    if tp is bool:
        return _scalar(bool, "true or false")
    if tp is int:
        return _int
    if tp is float:
        return _float
    if tp is Duration:
        return _duration
    if isinstance(tp, type) and is_dataclass(tp):
        return lambda value, path, problems: parse_model(tp, value, path, problems)
    raise TypeError(f"schema: unsupported field type {tp!r}")


def _any(value: Any, path: Path, problems: Problems) -> Any:
    return value


def _scalar(tp: type, expected: str) -> Converter:
    def convert(value: Any, path: Path, problems: Problems) -> Any:
        if type(value) is tp:
            return value
        problems.add(path, f"expected {expected}, got {describe_type(value)}")
        return _BAD

    return convert


def _int(value: Any, path: Path, problems: Problems) -> Any:
    if type(value) is int:
        return value
    problems.add(path, f"expected an integer, got {describe_type(value)}")
    return _BAD


def _float(value: Any, path: Path, problems: Problems) -> Any:
    if type(value) in (int, float):
        return value  # an int stays an int, so `50` is written back as `50`, not `50.0`
    problems.add(path, f"expected a number, got {describe_type(value)}")
    return _BAD


def _duration(value: Any, path: Path, problems: Problems) -> Any:
    if isinstance(value, str) and _DURATION.match(value.strip()):
        return Duration(value)
    problems.add(path, f"expected a duration such as \"5s\" or \"250ms\", got {describe_type(value)}")
    return _BAD


def _literal(options: tuple[Any, ...]) -> Converter:
    def convert(value: Any, path: Path, problems: Problems) -> Any:
        # compare by type first: a list or mapping written here is unhashable and must not raise
        if any(type(value) is type(o) and value == o for o in options):
            return value
        choices = ", ".join(str(o) for o in options)
        problems.add(path, f"expected one of {choices}; got {describe_type(value)}")
        return _BAD

    return convert


def _list(item: Converter) -> Converter:
    def convert(value: Any, path: Path, problems: Problems) -> Any:
        if not isinstance(value, list):
            problems.add(path, f"expected a list, got {describe_type(value)}")
            return _BAD
        out = []
        for i, v in enumerate(value):
            r = item(v, path + (i,), problems)
            if r is not _BAD:
                out.append(r)
        return out

    return convert


def _dict(item: Converter) -> Converter:
    def convert(value: Any, path: Path, problems: Problems) -> Any:
        if not isinstance(value, dict):
            problems.add(path, f"expected a mapping, got {describe_type(value)}")
            return _BAD
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                problems.add(path, f"keys must be strings, got {describe_type(k)}")
                continue
            r = item(v, path + (k,), problems)
            if r is not _BAD:
                out[k] = r
        return out

    return convert


def parse_model(cls: type, value: Any, path: Path, problems: Problems) -> Any:
    """Build `cls` from a mapping; problems are collected, never raised."""
    if not isinstance(value, dict):
        problems.add(path, f"expected a mapping, got {describe_type(value)}")
        return _BAD
    hit = _compiled.get(cls)
    by_key = hit[0] if hit is not None else _compile(cls)[0]
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    unread: dict[str, Any] = {}
    for k, v in value.items():
        spec = by_key.get(k)
        if spec is None:
            extra[k] = v
            continue
        if v is None:
            unread[k] = v  # Kubernetes treats an explicit null like an absent field
            continue
        attr, convert, how, tp = spec
        if how == _EXACT:
            if type(v) is tp:
                kwargs[attr] = v
                continue
        elif how == _MODEL:
            if type(v) is dict:
                kwargs[attr] = parse_model(tp, v, path + (k,), problems)
                continue
        elif how == _MODEL_LIST:
            if type(v) is list and all(type(item) is dict for item in v):
                where = path + (k,)
                kwargs[attr] = [parse_model(tp, item, where + (i,), problems) for i, item in enumerate(v)]
                continue
        result = convert(v, path + (k,), problems)  # reports what is wrong, or converts (e.g. a Duration)
        if result is _BAD:
            unread[k] = v
        else:
            kwargs[attr] = result
    obj = cls(**kwargs)
    # Tens of thousands of models per large config: share what is usually the same (memory, and work for
    # the cyclic GC, which walks every live container).
    obj._extra = extra or _NOTHING
    obj._unread = unread or _NOTHING
    # keys that are not strings (`1:`, `true:`) are only ever in `extra`
    keys = tuple(value) if not extra else tuple(k for k in value if isinstance(k, str))
    obj._keys = _key_orders.setdefault(keys, keys) if len(_key_orders) < 50_000 else keys
    return obj


_NOTHING: Mapping[str, Any] = types.MappingProxyType({})  # read-only: shared by every model without such keys
_key_orders: dict[tuple[str, ...], tuple[str, ...]] = {}


def parse(cls: type, value: Any, path: Path = ()) -> tuple[Any, Problems]:
    problems = Problems()
    obj = parse_model(cls, value, path, problems)
    if obj is _BAD:
        obj = cls()
    return obj, problems


def _dump(value: Any) -> Any:
    if isinstance(value, Model):
        return to_dict(value)
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    if isinstance(value, Duration):
        return str(value)
    return value


_defaults: dict[type, dict[str, Any]] = {}


def _field_defaults(cls: type) -> dict[str, Any]:
    """Default value of each YAML-read field (only compared against, never handed out)."""
    hit = _defaults.get(cls)
    if hit is None:
        hit = _defaults[cls] = {
            f.name: f.default_factory() if f.default_factory is not MISSING else f.default
            for f in fields(cls) if not _skipped(f)
        }
    return hit


def to_dict(obj: Model) -> dict[str, Any]:
    """The mapping this model was read from: known fields as they are now, unknown ones unchanged, same order."""
    _, attr_to_key = _compile(type(obj))
    key_to_attr = {k: a for a, k in attr_to_key.items()}
    out: dict[str, Any] = {}
    defaults = _field_defaults(type(obj))
    for k in obj._keys:
        if k in key_to_attr:
            attr = key_to_attr[k]
            v = getattr(obj, attr)
            if k in obj._unread and v == defaults[attr]:
                out[k] = obj._unread[k]  # still as written (null, or the wrong-typed value)
            elif v is not None:
                out[k] = _dump(v)
        elif k in obj._extra:
            out[k] = obj._extra[k]
    for f in fields(obj):
        if _skipped(f):
            continue
        k = attr_to_key[f.name]
        if k in out:
            continue
        v = getattr(obj, f.name)
        if v is not None and v != defaults[f.name]:
            out[k] = _dump(v)
    for k, v in obj._extra.items():
        out.setdefault(k, v)
    return out


def path_text(path: Path) -> str:
    return format_path(path)
