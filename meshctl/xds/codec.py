"""Wire encoding for xDS: fast betterproto2 serialization, pack-once resource cache, discovery message codecs."""

from __future__ import annotations

import dataclasses
import hashlib
import struct
import threading
import warnings
from collections.abc import Iterable, Iterator
from typing import Any as AnyType

import betterproto2

# Importing the resource modules registers their type URLs in the message pool (needed by Any.unpack).
from envoy_data_plane.envoy.config.cluster import v3 as _cluster_v3  # noqa: F401
from envoy_data_plane.envoy.config.endpoint import v3 as _endpoint_v3  # noqa: F401
from envoy_data_plane.envoy.config.listener import v3 as _listener_v3  # noqa: F401
from envoy_data_plane.envoy.config.route import v3 as _route_v3  # noqa: F401
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager import v3 as _hcm_v3  # noqa: F401
from envoy_data_plane.google.protobuf import Any
from envoy_data_plane.message_pool import default_message_pool

CLUSTER_TYPE = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
ENDPOINT_TYPE = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
LISTENER_TYPE = "type.googleapis.com/envoy.config.listener.v3.Listener"
ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
SCOPED_ROUTE_TYPE = "type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration"
HCM_TYPE = (
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
)

# Make-before-break push order: clusters and their endpoints exist before anything routes to them.
PUSH_ORDER: tuple[str, ...] = (CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE)  # the types every snapshot has
# a stream's pushes in that order, scopes (SRDS, only for scoped routes: route_scopes.py) before the routes they name
STREAM_ORDER: tuple[str, ...] = (CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, SCOPED_ROUTE_TYPE, ROUTE_TYPE)
SHORT_NAMES = {CLUSTER_TYPE: "CDS", ENDPOINT_TYPE: "EDS", LISTENER_TYPE: "LDS", SCOPED_ROUTE_TYPE: "SRDS",
               ROUTE_TYPE: "RDS"}
# CDS, LDS and SRDS are subscribed as wildcards; EDS and RDS by name.
WILDCARD_TYPES = frozenset({CLUSTER_TYPE, LISTENER_TYPE, SCOPED_ROUTE_TYPE})


def short_name(type_url: str) -> str:
    """CDS/EDS/LDS/SRDS/RDS, else the message name."""
    return SHORT_NAMES.get(type_url, type_url.rsplit(".", 1)[-1])


def type_url_of(message: betterproto2.Message) -> str:
    """The type URL a message packs under."""
    return default_message_pool.type_to_url[type(message)]


# --------------------------------------------------------------------------------------------------
# Fast serialization.
#
# betterproto2's bytes() re-runs pydantic validation on every nested message (building a new
# SchemaValidator each time), which is ~85% of its cost. Messages are validated when constructed, so
# we serialize by walking the same field metadata without re-validating. The output is byte-identical
# to bytes(msg) (same field order), which tests/xds/test_codec.py checks.
# --------------------------------------------------------------------------------------------------

_VARINT_TYPES = frozenset(
    {
        betterproto2.TYPE_ENUM,
        betterproto2.TYPE_BOOL,
        betterproto2.TYPE_INT32,
        betterproto2.TYPE_INT64,
        betterproto2.TYPE_UINT32,
        betterproto2.TYPE_UINT64,
    }
)
_SINT_TYPES = frozenset({betterproto2.TYPE_SINT32, betterproto2.TYPE_SINT64})
_FIXED_FORMATS = {
    betterproto2.TYPE_FLOAT: ("<f", 5),
    betterproto2.TYPE_FIXED32: ("<I", 5),
    betterproto2.TYPE_SFIXED32: ("<i", 5),
    betterproto2.TYPE_DOUBLE: ("<d", 1),
    betterproto2.TYPE_FIXED64: ("<Q", 1),
    betterproto2.TYPE_SFIXED64: ("<q", 1),
}
_PACKED_TYPES = frozenset(betterproto2.PACKED_TYPES)

_K_VARINT, _K_SINT, _K_FIXED, _K_STRING, _K_BYTES, _K_MESSAGE, _K_MAP = range(7)
_SMALL_VARINTS = [bytes([i]) for i in range(128)]


def encode_varint(value: int) -> bytes:
    """Protobuf varint; negatives as 64-bit two's complement, like every protobuf runtime."""
    if value < 0:
        value += 1 << 64
    if value < 0x80:
        return _SMALL_VARINTS[value]
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _key(number: int, wire_type: int) -> bytes:
    return encode_varint((number << 3) | wire_type)


@dataclasses.dataclass(frozen=True, slots=True)
class _FieldPlan:
    name: str
    kind: int
    proto_type: str
    key: bytes  # tag bytes for the (non-packed) field
    default: AnyType
    repeated: bool
    packed: bool
    unwrap: AnyType  # callable returning the wrapper class, or None
    fixed_format: str | None
    map_key: "_FieldPlan | None"
    map_value: "_FieldPlan | None"


_plans: dict[type, tuple[_FieldPlan, ...]] = {}
_plans_lock = threading.Lock()


def _kind_of(proto_type: str) -> tuple[int, int]:
    """(kind, wire type) for a proto type."""
    if proto_type in _VARINT_TYPES:
        return _K_VARINT, 0
    if proto_type in _SINT_TYPES:
        return _K_SINT, 0
    if proto_type in _FIXED_FORMATS:
        return _K_FIXED, _FIXED_FORMATS[proto_type][1]
    if proto_type == betterproto2.TYPE_STRING:
        return _K_STRING, 2
    if proto_type == betterproto2.TYPE_BYTES:
        return _K_BYTES, 2
    if proto_type == betterproto2.TYPE_MESSAGE:
        return _K_MESSAGE, 2
    if proto_type == betterproto2.TYPE_MAP:
        return _K_MAP, 2
    raise NotImplementedError(proto_type)


def _field_plan(name: str, meta: AnyType, default: AnyType) -> _FieldPlan:
    kind, wire = _kind_of(meta.proto_type)
    packed = bool(meta.repeated) and meta.proto_type in _PACKED_TYPES
    map_key = map_value = None
    if meta.map_meta:
        map_key = _field_plan("key", meta.map_meta[0], None)
        map_value = _field_plan("value", meta.map_meta[1], None)
    return _FieldPlan(
        name=name,
        kind=kind,
        proto_type=meta.proto_type,
        key=_key(meta.number, 2 if packed else wire),
        default=default,
        repeated=bool(meta.repeated),
        packed=packed,
        unwrap=meta.unwrap,
        fixed_format=_FIXED_FORMATS[meta.proto_type][0] if kind == _K_FIXED else None,
        map_key=map_key,
        map_value=map_value,
    )


def _plan_for(cls: type) -> tuple[_FieldPlan, ...]:
    plan = _plans.get(cls)
    if plan is not None:
        return plan
    with _plans_lock:
        meta = cls._betterproto  # type: ignore[attr-defined]
        fields = []
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            for name, field_meta in meta.meta_by_field_name.items():
                fields.append(_field_plan(name, field_meta, meta.default_gen[name]()))
        plan = _plans[cls] = tuple(fields)
    return plan


def _scalar_payload(plan: _FieldPlan, value: AnyType) -> bytes:
    """Encoded value without tag (and without length prefix for length-delimited kinds)."""
    kind = plan.kind
    if kind == _K_VARINT:
        return encode_varint(int(value))
    if kind == _K_STRING:
        return value.encode("utf-8")
    if kind == _K_MESSAGE:
        if plan.unwrap is not None:
            value = plan.unwrap().from_wrapped(value)
        pinned = _PINNED.get(id(value))
        if pinned is not None and pinned[0] is value:
            return pinned[1]
        return encode(value)
    if kind == _K_BYTES:
        return bytes(value)
    if kind == _K_SINT:
        return encode_varint(value << 1 if value >= 0 else (value << 1) ^ (~0))
    if kind == _K_FIXED:
        return struct.pack(plan.fixed_format, value)  # type: ignore[arg-type]
    raise NotImplementedError(plan.proto_type)


# Encodings of sub-messages reused unchanged across snapshots (each Envoy route of a 10,000-route configuration):
# a message field's encoding is tag + length + the element's bytes, so a route configuration holding pinned routes
# is assembled from their bytes instead of encoding them again. Keyed by identity; the message is held so its id
# cannot be reused, and it must not be mutated while pinned. Owned by meshctl.xds.route_memo (pin/unpin).
_PINNED: dict[int, tuple[betterproto2.Message, bytes]] = {}


def pin(message: betterproto2.Message) -> None:
    """Encode `message` once and reuse those bytes wherever it is encoded as a field of another message."""
    if id(message) not in _PINNED:
        _PINNED[id(message)] = (message, encode(message))


def unpin(message: betterproto2.Message) -> None:
    entry = _PINNED.get(id(message))
    if entry is not None and entry[0] is message:
        del _PINNED[id(message)]


# Encodings of whole repeated message fields (a virtual host's 10,000 routes), kept up to date by their owner as
# it replaces elements (route_memo splices the changed routes' framed bytes): id(list) -> (list, field key, the
# field's bytes). The list must not be mutated while pinned.
_PINNED_FIELDS: dict[int, tuple[list[AnyType], bytes, bytes]] = {}


def field_key(cls: type, name: str) -> bytes:
    """The tag bytes of field `name` of message class `cls`."""
    return next(plan.key for plan in _plan_for(cls) if plan.name == name)


def framed(key: bytes, message: betterproto2.Message) -> bytes:
    """`message` as one element of a repeated field with tag `key`: tag, length, its (pinned) bytes."""
    pinned = _PINNED.get(id(message))
    payload = pinned[1] if pinned is not None and pinned[0] is message else encode(message)
    return key + encode_varint(len(payload)) + payload


def pin_field(values: list[AnyType], key: bytes, encoded: bytes) -> None:
    """Encode the repeated field holding the very list `values` (with tag `key`) as `encoded`."""
    _PINNED_FIELDS[id(values)] = (values, key, encoded)


def unpin_field(values: list[AnyType]) -> None:
    entry = _PINNED_FIELDS.get(id(values))
    if entry is not None and entry[0] is values:
        del _PINNED_FIELDS[id(values)]


def _emit(out: bytearray, plan: _FieldPlan, value: AnyType) -> None:
    payload = _scalar_payload(plan, value)
    out += plan.key
    if plan.kind >= _K_STRING:  # length-delimited kinds
        out += encode_varint(len(payload))
    out += payload


def encode(message: betterproto2.Message) -> bytes:
    """Serialize a betterproto2 message without pydantic re-validation (byte-identical to bytes(message))."""
    out = bytearray()
    for plan in _plan_for(type(message)):
        value = getattr(message, plan.name)
        if value is None:
            continue
        if plan.kind != _K_MESSAGE or plan.repeated or plan.map_key is not None or plan.default is not None:
            if value == plan.default:
                continue
        if plan.packed:
            buf = bytearray()
            for item in value:
                buf += _scalar_payload(plan, item)
            out += plan.key
            out += encode_varint(len(buf))
            out += buf
        elif plan.repeated:
            whole = _PINNED_FIELDS.get(id(value))
            if whole is not None and whole[0] is value and whole[1] == plan.key:
                out += whole[2]
                continue
            for item in value:
                _emit(out, plan, item)
        elif plan.map_key is not None:
            assert plan.map_value is not None
            for map_key, map_value in value.items():
                entry = bytearray()
                _emit(entry, plan.map_key, map_key)
                _emit(entry, plan.map_value, map_value)
                out += plan.key
                out += encode_varint(len(entry))
                out += entry
        else:
            _emit(out, plan, value)
    unknown = getattr(message, "_unknown_fields", b"")
    if unknown:
        out += unknown
    return bytes(out)


_ANY_TYPE_URL_KEY = _key(1, 2)
_ANY_VALUE_KEY = _key(2, 2)


def _len_delimited(key: bytes, payload: bytes) -> bytes:
    return key + encode_varint(len(payload)) + payload


def any_bytes(type_url: str, payload: bytes) -> bytes:
    """Serialized google.protobuf.Any holding an already-serialized message."""
    return _len_delimited(_ANY_TYPE_URL_KEY, type_url.encode()) + (
        _len_delimited(_ANY_VALUE_KEY, payload) if payload else b""
    )


def to_any(message: betterproto2.Message) -> Any:
    """Any.pack without re-validation; use it for typed_config fields when building resources."""
    return Any(type_url=type_url_of(message), value=encode(message))


def content_hash(payload: bytes) -> str:
    """Short stable hash used as a per-resource version."""
    return hashlib.blake2b(payload, digest_size=8).hexdigest()


# --------------------------------------------------------------------------------------------------
# Pack-once cache.
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class PackedResource:
    """One xDS resource serialized once: its Any bytes, message bytes and content version."""

    type_url: str
    name: str
    payload: bytes  # the serialized resource message
    any: bytes  # the serialized Any wrapping it
    version: str  # content hash of payload


class ResourcePacker:
    """Packs messages into Any once and reuses the bytes.

    Entries are keyed by (type_url, name, identity). The identity is what the caller supplies (e.g. a
    hash of the model the resource was translated from); without one, the message object itself is
    the identity, so resource messages must not be mutated after they are handed over.
    Call `sweep()` after a full rebuild to drop entries that were not used since the previous sweep.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str, AnyType], tuple[AnyType, PackedResource]] = {}
        self._used: set[tuple[str, str, AnyType]] = set()
        self._lock = threading.Lock()
        self.packed_count = 0  # how many encodings were actually done (for tests and benchmarks)
        self.reused_count = 0

    def pack(
        self,
        message: betterproto2.Message,
        name: str,
        type_url: str | None = None,
        identity: AnyType = None,
    ) -> PackedResource:
        type_url = type_url or type_url_of(message)
        cache_key = (type_url, name, identity if identity is not None else ("id", id(message)))
        with self._lock:
            entry = self._entries.get(cache_key)
            if entry is not None and (identity is not None or entry[0] is message):
                self._used.add(cache_key)
                self.reused_count += 1
                return entry[1]
        payload = encode(message)
        packed = PackedResource(type_url, name, payload, any_bytes(type_url, payload), content_hash(payload))
        with self._lock:
            # Keep a reference to the message so its id() cannot be reused while the entry lives.
            self._entries[cache_key] = (message, packed)
            self._used.add(cache_key)
            self.packed_count += 1
        return packed

    def retain(self, live: set[int]) -> int:
        """Drop entries whose packing is not in `live` (ids of PackedResources still served); returns how many.

        For when a node group goes away between full rebuilds: its packings would otherwise stay until the
        next sweep, and a fleet that only connects and disconnects never sweeps.
        """
        with self._lock:
            stale = [key for key, (_, packed) in self._entries.items() if id(packed) not in live]
            for key in stale:
                del self._entries[key]
                self._used.discard(key)
            return len(stale)

    def sweep(self) -> int:
        """Drop entries not used since the last sweep; returns how many were dropped."""
        with self._lock:
            stale = [key for key in self._entries if key not in self._used]
            for key in stale:
                del self._entries[key]
            self._used = set()
            return len(stale)

    def __len__(self) -> int:
        return len(self._entries)


# --------------------------------------------------------------------------------------------------
# Minimal wire reader for the discovery requests the server receives.
#
# Envoy's Node is ~61 KB (its extension list); betterproto2 parses it in ~18 ms. The server only needs
# a few node fields, so requests are decoded here field by field and nested messages parsed lazily.
# --------------------------------------------------------------------------------------------------


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ValueError("varint too long")


def iter_fields(buf: bytes) -> Iterator[tuple[int, int, AnyType]]:
    """Yield (field number, wire type, value): int for varints, bytes otherwise."""
    pos = 0
    end = len(buf)
    while pos < end:
        tag, pos = _read_varint(buf, pos)
        number, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            value, pos = _read_varint(buf, pos)
        elif wire_type == 2:
            length, pos = _read_varint(buf, pos)
            if pos + length > end:
                raise ValueError("truncated length-delimited field")
            value = buf[pos : pos + length]
            pos += length
        elif wire_type == 1:
            value = buf[pos : pos + 8]
            pos += 8
        elif wire_type == 5:
            value = buf[pos : pos + 4]
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
        yield number, wire_type, value


@dataclasses.dataclass(slots=True)
class NodeFields:
    """The parts of envoy.config.core.v3.Node the control plane uses."""

    id: str = ""
    cluster: str = ""
    locality: tuple[str, str, str] = ("", "", "")
    metadata: dict[str, AnyType] = dataclasses.field(default_factory=dict)
    user_agent: str = ""


def _decode_locality(buf: bytes) -> tuple[str, str, str]:
    parts = ["", "", ""]
    for number, _, value in iter_fields(buf):
        if 1 <= number <= 3:
            parts[number - 1] = value.decode()
    return parts[0], parts[1], parts[2]


def _decode_struct(buf: bytes) -> dict[str, AnyType]:
    from envoy_data_plane.google.protobuf import Struct

    try:
        return Struct.parse(buf).to_dict()
    except Exception:  # metadata is informational; a strange value must not drop the stream
        return {}


def decode_node(buf: bytes) -> NodeFields:
    node = NodeFields()
    agent = ["", ""]
    for number, _, value in iter_fields(buf):
        if number == 1:
            node.id = value.decode()
        elif number == 2:
            node.cluster = value.decode()
        elif number == 3:
            node.metadata = _decode_struct(value)
        elif number == 4:
            node.locality = _decode_locality(value)
        elif number == 6:
            agent[0] = value.decode()
        elif number == 7:
            agent[1] = value.decode()
    node.user_agent = " ".join(part for part in agent if part)
    return node


def _decode_status(buf: bytes) -> tuple[int, str]:
    code, message = 0, ""
    for number, _, value in iter_fields(buf):
        if number == 1:
            code = value
        elif number == 2:
            message = value.decode(errors="replace")
    return code, message


@dataclasses.dataclass(slots=True)
class SotwRequest:
    """A decoded envoy.service.discovery.v3.DiscoveryRequest."""

    type_url: str = ""
    version_info: str = ""
    resource_names: list[str] = dataclasses.field(default_factory=list)
    response_nonce: str = ""
    node: NodeFields | None = None
    error_code: int = 0
    error_message: str | None = None  # set when the request is a NACK

    @property
    def is_nack(self) -> bool:
        return self.error_message is not None


def decode_sotw_request(buf: bytes) -> SotwRequest:
    request = SotwRequest()
    for number, _, value in iter_fields(buf):
        if number == 1:
            request.version_info = value.decode()
        elif number == 2:
            request.node = decode_node(value)
        elif number == 3:
            request.resource_names.append(value.decode())
        elif number == 4:
            request.type_url = value.decode()
        elif number == 5:
            request.response_nonce = value.decode()
        elif number == 6:
            request.error_code, request.error_message = _decode_status(value)
    return request


@dataclasses.dataclass(slots=True)
class DeltaRequest:
    """A decoded envoy.service.discovery.v3.DeltaDiscoveryRequest."""

    type_url: str = ""
    subscribe: list[str] = dataclasses.field(default_factory=list)
    unsubscribe: list[str] = dataclasses.field(default_factory=list)
    initial_resource_versions: dict[str, str] = dataclasses.field(default_factory=dict)
    response_nonce: str = ""
    node: NodeFields | None = None
    error_code: int = 0
    error_message: str | None = None

    @property
    def is_nack(self) -> bool:
        return self.error_message is not None


def decode_delta_request(buf: bytes) -> DeltaRequest:
    request = DeltaRequest()
    for number, _, value in iter_fields(buf):
        if number == 1:
            request.node = decode_node(value)
        elif number == 2:
            request.type_url = value.decode()
        elif number == 3:
            request.subscribe.append(value.decode())
        elif number == 4:
            request.unsubscribe.append(value.decode())
        elif number == 5:
            entry = {n: v.decode() for n, _, v in iter_fields(value)}
            request.initial_resource_versions[entry.get(1, "")] = entry.get(2, "")
        elif number == 6:
            request.response_nonce = value.decode()
        elif number == 7:
            request.error_code, request.error_message = _decode_status(value)
    return request


# --------------------------------------------------------------------------------------------------
# Response encoders working on pre-packed resources (field numbers from discovery.proto).
# --------------------------------------------------------------------------------------------------


def _string_field(number: int, value: str) -> bytes:
    return _len_delimited(_key(number, 2), value.encode()) if value else b""


def encode_resources_blob(packed: Iterable[PackedResource]) -> bytes:
    """The repeated `resources` field (2) of a DiscoveryResponse, reusable across streams."""
    key = _key(2, 2)
    return b"".join(_len_delimited(key, resource.any) for resource in packed)


def encode_sotw_response(
    version_info: str, type_url: str, nonce: str, resources_blob: bytes, control_plane_id: str = ""
) -> bytes:
    control_plane = _len_delimited(_key(6, 2), _string_field(1, control_plane_id)) if control_plane_id else b""
    return (
        _string_field(1, version_info)
        + resources_blob
        + _string_field(4, type_url)
        + _string_field(5, nonce)
        + control_plane
    )


def encode_delta_response(
    system_version_info: str,
    type_url: str,
    nonce: str,
    resources: Iterable[PackedResource],
    removed: Iterable[str] = (),
) -> bytes:
    out = bytearray(_string_field(1, system_version_info))
    resource_key = _key(2, 2)
    for resource in resources:
        # envoy.service.discovery.v3.Resource: version=1, resource=2, name=3
        body = _string_field(1, resource.version) + _len_delimited(_key(2, 2), resource.any) + _string_field(3, resource.name)
        out += _len_delimited(resource_key, body)
    out += _string_field(4, type_url)
    out += _string_field(5, nonce)
    removed_key = _key(6, 2)
    for name in removed:
        out += _len_delimited(removed_key, name.encode())
    return bytes(out)


def identity_bytes(data: bytes) -> bytes:
    """Serializer for grpc handlers whose responses are already encoded."""
    return data
