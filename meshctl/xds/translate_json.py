"""Proto3-JSON rendering of envoy-data-plane messages with protobuf's own field names (for `meshctl xds dump`).

betterproto2's to_dict camel-cases some names differently from protobuf (consecutive_5xx → "consecutive5Xx"
instead of "consecutive5xx"), so messages are walked here with protobuf's JSON naming rule. Any is
rendered with "@type" and the unpacked fields, durations as "1.500s", enums by name, 64-bit integers as strings.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import enum
import warnings
from functools import lru_cache
from typing import Any, cast

import betterproto2
from envoy_data_plane.google.protobuf import Any as AnyMessage
from envoy_data_plane.google.protobuf import ListValue, Struct, Value
from envoy_data_plane.message_pool import default_message_pool

_INT64 = {betterproto2.TYPE_INT64, betterproto2.TYPE_UINT64, betterproto2.TYPE_SINT64, betterproto2.TYPE_FIXED64,
          betterproto2.TYPE_SFIXED64}


@lru_cache(maxsize=None)
def json_name(field_name: str) -> str:
    """protobuf's ToJsonName: drop each '_' and upper-case the character after it."""
    out: list[str] = []
    upper = False
    for c in field_name.rstrip("_"):
        if c == "_":
            upper = True
        elif upper:
            out.append(c.upper())
            upper = False
        else:
            out.append(c)
    return "".join(out)


def format_duration(value: datetime.timedelta) -> str:
    total_ns = (value.days * 86_400 + value.seconds) * 1_000_000_000 + value.microseconds * 1_000
    sign = "-" if total_ns < 0 else ""
    seconds, nanos = divmod(abs(total_ns), 1_000_000_000)
    if not nanos:
        return f"{sign}{seconds}s"
    if nanos % 1_000_000 == 0:
        return f"{sign}{seconds}.{nanos // 1_000_000:03d}s"
    if nanos % 1_000 == 0:
        return f"{sign}{seconds}.{nanos // 1_000:06d}s"
    return f"{sign}{seconds}.{nanos:09d}s"


def _scalar(value: Any, proto_type: str) -> Any:
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if proto_type in _INT64:
        return str(value)
    return value


def _wrapped(value: Any) -> Any:
    """A well-known type held as a Python value (wrappers, Duration, Timestamp)."""
    if isinstance(value, datetime.timedelta):
        return format_duration(value)
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _any(message: AnyMessage) -> dict[str, Any]:
    cls = default_message_pool.url_to_type.get(message.type_url)
    if cls is None:
        return {"@type": message.type_url, "value": base64.b64encode(message.value).decode()}
    return {"@type": message.type_url, **to_json(cls.parse(message.value))}


def _value(value: Any, meta: Any) -> Any:
    if meta.unwrap is not None:
        wrapped = _wrapped(value)
        if isinstance(wrapped, int) and not isinstance(wrapped, bool) and "Int64" in meta.unwrap().__name__:
            return str(wrapped)
        return wrapped
    if isinstance(value, betterproto2.Message):
        return to_json(value)
    return _scalar(value, meta.proto_type)


def to_json(message: betterproto2.Message) -> Any:
    """The proto3 JSON form of a message (fields at their default value are left out)."""
    if isinstance(message, AnyMessage):
        return _any(message)
    if isinstance(message, (Struct, Value, ListValue)):
        return message.to_dict()
    out: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        cls: Any = type(message)  # betterproto2's class properties are untyped
        metas = cls._betterproto.meta_by_field_name
        defaults = cls._betterproto.default_gen
    for f in dataclasses.fields(cast(Any, message)):
        meta = metas.get(f.name)
        if meta is None:
            continue
        value = getattr(message, f.name)
        if value is None:
            continue
        if meta.map_meta:
            if value:
                value_meta = meta.map_meta[1]
                out[json_name(f.name)] = {str(k): _value(v, value_meta) for k, v in value.items()}
            continue
        if meta.repeated:
            if value:
                out[json_name(f.name)] = [_value(v, meta) for v in value]
            continue
        if not meta.optional and meta.proto_type != betterproto2.TYPE_MESSAGE and value == defaults[f.name]():
            continue
        out[json_name(f.name)] = _value(value, meta)
    return out


def resources_json(by_type: dict[str, dict[str, betterproto2.Message]]) -> dict[str, list[Any]]:
    """{"clusters": [...], "endpoints": [...], "listeners": [...], "routes": [...]} with "@type" on each, and
    "scopedRoutes" (before "routes") when the routes are scoped."""
    from . import codec

    keys = {codec.CLUSTER_TYPE: "clusters", codec.ENDPOINT_TYPE: "endpoints", codec.LISTENER_TYPE: "listeners",
            codec.SCOPED_ROUTE_TYPE: "scopedRoutes", codec.ROUTE_TYPE: "routes"}
    out: dict[str, list[Any]] = {}
    for type_url in codec.STREAM_ORDER:
        messages = by_type.get(type_url, {})
        if type_url in codec.PUSH_ORDER or messages:
            out[keys[type_url]] = [{"@type": type_url, **to_json(m)} for _, m in sorted(messages.items())]
    return out
