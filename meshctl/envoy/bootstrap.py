"""Envoy bootstrap for an ADS-driven proxy: node identity, admin, ADS over an HTTP/2 xDS cluster, optional (m)TLS."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any

from envoy_data_plane.envoy.config.bootstrap.v3 import (
    Admin,
    Bootstrap,
    BootstrapDynamicResources,
    BootstrapStaticResources,
)
from envoy_data_plane.envoy.config.cluster.v3 import Cluster, ClusterDiscoveryType
from envoy_data_plane.envoy.config.core.v3 import (
    Address,
    AggregatedConfigSource,
    ApiConfigSource,
    ApiConfigSourceApiType,
    ApiVersion,
    BackoffStrategy,
    ConfigSource,
    DataSource,
    GrpcService,
    GrpcServiceEnvoyGrpc,
    Http2ProtocolOptions,
    Locality,
    Node,
    RetryPolicy,
    SocketAddress,
    TransportSocket,
)
from envoy_data_plane.envoy.config.endpoint.v3 import ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints
from envoy_data_plane.envoy.extensions.transport_sockets.tls.v3 import (
    CertificateValidationContext,
    CommonTlsContext,
    TlsCertificate,
    UpstreamTlsContext,
)
from envoy_data_plane.envoy.extensions.upstreams.http.v3 import (
    HttpProtocolOptions,
    HttpProtocolOptionsExplicitHttpConfig,
)
from envoy_data_plane.google.protobuf import Any as AnyMessage
from envoy_data_plane.google.protobuf import Struct

XDS_CLUSTER = "xds_cluster"
_HTTP_PROTOCOL_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"


@dataclasses.dataclass(frozen=True)
class XdsTls:
    """TLS from Envoy to the control plane: the CA to trust, plus a client certificate for mutual TLS."""

    ca_cert: bytes  # PEM
    cert_chain: bytes | None = None  # PEM client certificate (mutual TLS)
    private_key: bytes | None = None
    sni: str | None = None


def _pack(message: Any) -> AnyMessage:
    return AnyMessage.pack(message)


def _socket_address(host: str, port: int) -> Address:
    return Address(socket_address=SocketAddress(address=host, port_value=port))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def _tls_socket(tls: XdsTls) -> TransportSocket:
    certificates = []
    if tls.cert_chain is not None and tls.private_key is not None:
        certificates.append(
            TlsCertificate(
                certificate_chain=DataSource(inline_bytes=tls.cert_chain),
                private_key=DataSource(inline_bytes=tls.private_key),
            )
        )
    context = UpstreamTlsContext(
        common_tls_context=CommonTlsContext(
            tls_certificates=certificates,
            validation_context=CertificateValidationContext(trusted_ca=DataSource(inline_bytes=tls.ca_cert)),
            alpn_protocols=["h2"],  # gRPC servers expect HTTP/2 negotiated by ALPN
        ),
        sni=tls.sni or "",
    )
    return TransportSocket(name="envoy.transport_sockets.tls", typed_config=_pack(context))


def xds_cluster(host: str, port: int, tls: XdsTls | None = None, name: str = XDS_CLUSTER,
                more: Sequence[tuple[str, int]] = ()) -> Cluster:
    """The static cluster Envoy uses to reach the control plane (must speak HTTP/2).

    With `more` addresses (other replicas) the cluster has one endpoint each, balanced round robin: when the
    stream to one replica breaks, Envoy's reconnect goes to the next endpoint, so it fails over by itself.
    """
    protocol = HttpProtocolOptions(
        explicit_http_config=HttpProtocolOptionsExplicitHttpConfig(http2_protocol_options=Http2ProtocolOptions())
    )
    addresses = list(dict.fromkeys([(host, port), *more]))
    static = all(_is_ip(h) for h, _ in addresses)
    endpoints = [LbEndpoint(endpoint=Endpoint(address=_socket_address(h, p))) for h, p in addresses]
    return Cluster(
        name=name,
        type=ClusterDiscoveryType.STATIC if static else ClusterDiscoveryType.STRICT_DNS,
        connect_timeout=datetime.timedelta(seconds=1),
        load_assignment=ClusterLoadAssignment(cluster_name=name, endpoints=[LocalityLbEndpoints(lb_endpoints=endpoints)]),
        typed_extension_protocol_options={_HTTP_PROTOCOL_OPTIONS: _pack(protocol)},
        transport_socket=_tls_socket(tls) if tls is not None else None,
    )


def build_bootstrap(
    node_id: str,
    node_cluster: str,
    locality: tuple[str, str, str] | None,
    xds_host: str,
    xds_port: int,
    admin_port: int,
    *,
    tls: XdsTls | None = None,
    delta: bool = False,
    node_metadata: Mapping[str, Any] | None = None,
    retry_backoff: tuple[float, float] | None = (0.25, 5.0),
    initial_fetch_timeout: float | None = None,
    more_xds: Sequence[tuple[str, int]] = (),
) -> Bootstrap:
    """The Bootstrap message (see make_bootstrap)."""
    if not node_id or not node_cluster:
        raise ValueError("Envoy requires both node id and node cluster")
    retry = None
    if retry_backoff is not None:  # how fast Envoy reconnects to a restarted control plane
        retry = RetryPolicy(
            retry_back_off=BackoffStrategy(
                base_interval=datetime.timedelta(seconds=retry_backoff[0]),
                max_interval=datetime.timedelta(seconds=retry_backoff[1]),
            )
        )
    ads = ApiConfigSource(
        api_type=ApiConfigSourceApiType.DELTA_GRPC if delta else ApiConfigSourceApiType.GRPC,
        transport_api_version=ApiVersion.V3,
        grpc_services=[GrpcService(envoy_grpc=GrpcServiceEnvoyGrpc(cluster_name=XDS_CLUSTER, retry_policy=retry))],
        # Envoy's Node is ~61 KB; send it once per stream, not with every request.
        set_node_on_first_message_only=True,
    )
    fetch_timeout = datetime.timedelta(seconds=initial_fetch_timeout) if initial_fetch_timeout is not None else None
    via_ads = ConfigSource(ads=AggregatedConfigSource(), resource_api_version=ApiVersion.V3,
                           initial_fetch_timeout=fetch_timeout)
    node = Node(
        id=node_id,
        cluster=node_cluster,
        locality=Locality(region=locality[0], zone=locality[1], sub_zone=locality[2]) if locality else None,
        metadata=Struct.from_dict(dict(node_metadata)) if node_metadata else None,
    )
    return Bootstrap(
        node=node,
        admin=Admin(address=_socket_address("127.0.0.1", admin_port)),
        dynamic_resources=BootstrapDynamicResources(ads_config=ads, cds_config=via_ads, lds_config=via_ads),
        static_resources=BootstrapStaticResources(clusters=[xds_cluster(xds_host, xds_port, tls, more=more_xds)]),
    )


def make_bootstrap(
    node_id: str,
    node_cluster: str,
    locality: tuple[str, str, str] | None,
    xds_host: str,
    xds_port: int,
    admin_port: int,
    *,
    tls: XdsTls | None = None,
    delta: bool = False,
    node_metadata: Mapping[str, Any] | None = None,
    retry_backoff: tuple[float, float] | None = (0.25, 5.0),
    initial_fetch_timeout: float | None = None,
    more_xds: Sequence[tuple[str, int]] = (),
) -> bytes:
    """Binary bootstrap (write it as bootstrap.pb): ADS via `xds_cluster`, admin on 127.0.0.1:admin_port.

    `more_xds`: further control-plane replicas (host, port) Envoy may reach the same ADS service on.

    Binary, because betterproto2's JSON names are wrong for some fields.
    """
    return bytes(
        build_bootstrap(
            node_id, node_cluster, locality, xds_host, xds_port, admin_port, tls=tls, delta=delta,
            node_metadata=node_metadata, retry_backoff=retry_backoff, initial_fetch_timeout=initial_fetch_timeout,
            more_xds=more_xds,
        )
    )
