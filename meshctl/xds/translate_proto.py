"""Cheap construction of envoy-data-plane messages for the translator, with a validating mode for tests.

betterproto2 messages validate every field through pydantic when constructed (~20 µs per message); a
10,000-route configuration would spend most of a second there. The translator builds messages whose field
types it controls, so by default `msg()` fills the instance dict directly (field names are still checked).
`validating(True)` switches to the real constructors; the tests run the translator both ways and compare bytes.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import types
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import betterproto2

from ..model.schema import duration_seconds

M = TypeVar("M", bound=betterproto2.Message)

_validate = False
_templates: dict[type, dict[str, Any]] = {}
_EMPTY_MAP: types.MappingProxyType[str, Any] = types.MappingProxyType({})


def _template(cls: type) -> dict[str, Any]:
    template: dict[str, Any] = {}
    for name, make_default in cls._betterproto.default_gen.items():  # type: ignore[attr-defined]
        value = make_default()
        # Shared immutable defaults: a translated message is never mutated after construction.
        if isinstance(value, list):
            value = ()
        elif isinstance(value, dict):
            value = _EMPTY_MAP
        template[name] = value
    template["_unknown_fields"] = b""
    _templates[cls] = template
    return template


def msg(cls: type[M], **fields: Any) -> M:
    """An instance of `cls` with `fields` set (validated only in validating mode)."""
    if _validate:
        return cls(**fields)
    template = _templates.get(cls) or _template(cls)
    unknown = fields.keys() - template.keys()
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {sorted(unknown)}")
    instance = object.__new__(cls)
    values = template.copy()
    values.update(fields)
    instance.__dict__ = values
    return instance


def with_fields(message: M, **fields: Any) -> M:
    """A copy of `message` with `fields` replaced (translated messages are never mutated)."""
    if _validate:
        template = _templates.get(type(message)) or _template(type(message))
        values = {name: getattr(message, name) for name in template if name != "_unknown_fields"}
        values.update(fields)
        return type(message)(**values)
    instance = object.__new__(type(message))
    instance.__dict__ = {**message.__dict__, **fields}
    return instance


def set_validating(on: bool) -> None:
    global _validate
    _validate = on


@contextlib.contextmanager
def validating(on: bool = True) -> Iterator[None]:
    """Build through the real (validating) constructors inside this block."""
    previous = _validate
    set_validating(on)
    try:
        yield
    finally:
        set_validating(previous)


F = TypeVar("F", bound=Callable[..., Any])


def shared(function: F) -> F:
    """Memoize a builder of small option messages (hashable arguments): routes with the same retry policy share one
    message object. The construction mode is part of the key, so validating runs never get unvalidated objects."""
    cached = functools.lru_cache(maxsize=4096)(lambda mode, *args: function(*args))

    @functools.wraps(function)
    def wrapper(*args: Any) -> Any:
        return cached(_validate, *args)

    return wrapper  # type: ignore[return-value]


@functools.lru_cache(maxsize=4096)
def _seconds(text: str) -> float:
    return duration_seconds(text)


def duration(text: str | float | None) -> datetime.timedelta | None:
    """A Gloo duration ("5s", "100ms") or seconds as a timedelta; None stays None."""
    if text is None:
        return None
    seconds = float(text) if isinstance(text, (int, float)) else _seconds(text)
    return datetime.timedelta(seconds=seconds)
