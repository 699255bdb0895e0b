"""Per-client xDS sync status: the Python view, its CSDS encoding, and a CSDS client (like istioctl proxy-status)."""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from meshctl.xds import codec

SyncState = Literal["SYNCED", "NOT SENT", "STALE", "NACKED"]

CSDS_SERVICE = "envoy.service.status.v3.ClientStatusDiscoveryService"
FETCH_METHOD = f"/{CSDS_SERVICE}/FetchClientStatus"
STREAM_METHOD = f"/{CSDS_SERVICE}/StreamClientStatus"
# Our richer per-type status travels inside the node metadata of each CSDS ClientConfig under this key;
# standard CSDS readers ignore it and still see per-resource status.
METADATA_KEY = "meshctl.xds_status"


@dataclasses.dataclass(frozen=True)
class TypeStatus:
    """Sync state of one resource type for one client."""

    state: SyncState
    sent_version: str | None = None
    acked_version: str | None = None
    nack_reason: str | None = None
    nacked_version: str | None = None
    last_push_at: float | None = None  # unix time of the last response sent
    last_push_latency_ms: float | None = None  # send → ACK/NACK of the last answered response
    resource_names: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["resource_names"] = list(self.resource_names)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TypeStatus":
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["resource_names"] = tuple(values.get("resource_names") or ())
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class ClientStatus:
    """One connected xDS client (an Envoy or any ADS client) and its per-type sync state."""

    node_id: str
    cluster: str
    locality: tuple[str, str, str]
    connected_at: float
    per_type: dict[str, TypeStatus]
    stream_kind: str = "sotw"  # "sotw" or "delta"
    user_agent: str = ""

    @property
    def synced(self) -> bool:
        return bool(self.per_type) and all(t.state == "SYNCED" for t in self.per_type.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "node_id": self.node_id,
            "cluster": self.cluster,
            "locality": list(self.locality),
            "connected_at": self.connected_at,
            "stream_kind": self.stream_kind,
            "user_agent": self.user_agent,
            "per_type": {type_url: status.to_dict() for type_url, status in self.per_type.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ClientStatus":
        locality = tuple((list(data.get("locality") or []) + ["", "", ""])[:3])
        return cls(
            node_id=data.get("node_id", ""),
            cluster=data.get("cluster", ""),
            locality=locality,  # type: ignore[arg-type]
            connected_at=float(data.get("connected_at") or 0.0),
            per_type={t: TypeStatus.from_dict(s) for t, s in (data.get("per_type") or {}).items()},
            stream_kind=data.get("stream_kind", "sotw"),
            user_agent=data.get("user_agent", ""),
        )


# --------------------------------------------------------------------------------------------------
# CSDS encoding (server side) and decoding (client side).
# --------------------------------------------------------------------------------------------------


def _utc(timestamp: float | None) -> datetime.datetime | None:
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc) if timestamp else None


def _csds_statuses(status: TypeStatus) -> tuple[Any, Any]:
    from envoy_data_plane.envoy.admin.v3 import ClientResourceStatus
    from envoy_data_plane.envoy.service.status.v3 import ConfigStatus

    if status.state == "SYNCED":
        return ConfigStatus.SYNCED, ClientResourceStatus.ACKED
    if status.state == "NACKED":
        return ConfigStatus.ERROR, ClientResourceStatus.NACKED
    if status.state == "STALE":
        return ConfigStatus.STALE, ClientResourceStatus.REQUESTED
    return ConfigStatus.NOT_SENT, ClientResourceStatus.REQUESTED


def to_client_config(
    client: ClientStatus,
    resources: Mapping[str, Iterable[codec.PackedResource]],
    include_contents: bool = False,
) -> Any:
    """A CSDS ClientConfig: one GenericXdsConfig per resource the client subscribes to."""
    from envoy_data_plane.envoy.admin.v3 import UpdateFailureState
    from envoy_data_plane.envoy.config.core.v3 import Locality, Node
    from envoy_data_plane.envoy.service.status.v3 import ClientConfig, ClientConfigGenericXdsConfig
    from envoy_data_plane.google.protobuf import Any as AnyMessage
    from envoy_data_plane.google.protobuf import Struct

    configs = []
    for type_url, status in client.per_type.items():
        config_status, client_status = _csds_statuses(status)
        error_state = None
        if status.state == "NACKED":
            error_state = UpdateFailureState(
                details=status.nack_reason or "", version_info=status.nacked_version or "",
                last_update_attempt=_utc(status.last_push_at),
            )
        for packed in resources.get(type_url, ()):
            configs.append(
                ClientConfigGenericXdsConfig(
                    type_url=type_url,
                    name=packed.name,
                    version_info=status.acked_version or "",
                    xds_config=AnyMessage(type_url=type_url, value=packed.payload) if include_contents else None,
                    last_updated=_utc(status.last_push_at),
                    config_status=config_status,
                    client_status=client_status,
                    error_state=error_state,
                )
            )
    node = Node(
        id=client.node_id,
        cluster=client.cluster,
        locality=Locality(region=client.locality[0], zone=client.locality[1], sub_zone=client.locality[2]),
        metadata=Struct.from_dict({METADATA_KEY: client.to_dict()}),
    )
    return ClientConfig(node=node, generic_xds_configs=configs)


def encode_client_status_response(configs: Iterable[Any]) -> bytes:
    from envoy_data_plane.envoy.service.status.v3 import ClientStatusResponse

    return codec.encode(ClientStatusResponse(config=list(configs)))


def _derive_from_generic(config: Any) -> ClientStatus:
    """Status for a ClientConfig from a control plane that is not meshctl (per-resource entries only)."""
    from envoy_data_plane.envoy.service.status.v3 import ConfigStatus

    per_type: dict[str, TypeStatus] = {}
    state_rank = {"SYNCED": 0, "NOT SENT": 1, "STALE": 2, "NACKED": 3}
    names: dict[str, list[str]] = {}
    for generic in config.generic_xds_configs:
        state: SyncState = {
            ConfigStatus.SYNCED: "SYNCED",
            ConfigStatus.STALE: "STALE",
            ConfigStatus.ERROR: "NACKED",
        }.get(generic.config_status, "NOT SENT")  # type: ignore[assignment]
        names.setdefault(generic.type_url, []).append(generic.name)
        previous = per_type.get(generic.type_url)
        if previous is None or state_rank[state] > state_rank[previous.state]:
            error = generic.error_state
            per_type[generic.type_url] = TypeStatus(
                state=state,
                acked_version=generic.version_info or None,
                nack_reason=error.details if error is not None else None,
                nacked_version=error.version_info if error is not None else None,
            )
    per_type = {t: dataclasses.replace(s, resource_names=tuple(names[t])) for t, s in per_type.items()}
    node = config.node
    locality = ("", "", "")
    if node is not None and node.locality is not None:
        locality = (node.locality.region, node.locality.zone, node.locality.sub_zone)
    return ClientStatus(
        node_id=node.id if node else "", cluster=node.cluster if node else "", locality=locality,
        connected_at=0.0, per_type=per_type,
    )


def decode_client_status_response(data: bytes) -> list[ClientStatus]:
    """Client statuses from a serialized CSDS ClientStatusResponse."""
    from envoy_data_plane.envoy.service.status.v3 import ClientStatusResponse

    response = ClientStatusResponse.parse(data)
    clients = []
    for config in response.config:
        metadata = config.node.metadata.to_dict() if config.node and config.node.metadata else {}
        ours = metadata.get(METADATA_KEY)
        clients.append(ClientStatus.from_dict(ours) if isinstance(ours, dict) else _derive_from_generic(config))
    return clients


@dataclasses.dataclass(frozen=True)
class ClientTls:
    """TLS for a control-plane client: CA to trust, optional client certificate for mutual TLS."""

    ca_cert: bytes | None = None
    cert_chain: bytes | None = None
    private_key: bytes | None = None
    server_name: str | None = None  # override the name checked against the server certificate


def open_channel(address: str, tls: ClientTls | None = None) -> Any:
    """A grpc channel to the control plane (plaintext, TLS or mutual TLS)."""
    import grpc

    if tls is None:
        return grpc.insecure_channel(address)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=tls.ca_cert, private_key=tls.private_key, certificate_chain=tls.cert_chain
    )
    options = [("grpc.ssl_target_name_override", tls.server_name)] if tls.server_name else []
    return grpc.secure_channel(address, credentials, options=options)


def fetch_status(
    address: str, tls: ClientTls | None = None, timeout: float = 5.0, node_id: str | None = None
) -> list[ClientStatus]:
    """Ask a control plane for its clients' status over CSDS FetchClientStatus."""
    from envoy_data_plane.envoy.service.status.v3 import ClientStatusRequest
    from envoy_data_plane.envoy.type.matcher.v3 import NodeMatcher, StringMatcher

    matchers = [NodeMatcher(node_id=StringMatcher(exact=node_id))] if node_id else []
    request = codec.encode(ClientStatusRequest(node_matchers=matchers, exclude_resource_contents=True))
    with open_channel(address, tls) as channel:
        fetch = channel.unary_unary(
            FETCH_METHOD, request_serializer=codec.identity_bytes, response_deserializer=codec.identity_bytes
        )
        return decode_client_status_response(fetch(request, timeout=timeout))
