"""Mutual TLS between meshed proxies, layered on a node's translated snapshot.

A meshed workload's sidecar gets an inbound listener that requires a mesh certificate and forwards to the local
app; the workload's endpoint in the mesh is that listener (as a sidecar intercepts a pod's port). A cluster
whose endpoints are all meshed inbound listeners gets an mTLS transport socket expecting their SPIFFE ids.
Every meshed proxy gets its certificate and the trust bundle as SDS Secrets, re-issued at half their lifetime.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from envoy_data_plane.envoy.config.cluster.v3 import Cluster, ClusterDiscoveryType
from envoy_data_plane.envoy.config.core.v3 import Address, SocketAddress
from envoy_data_plane.envoy.config.endpoint.v3 import ClusterLoadAssignment, LbEndpoint, LocalityLbEndpoints
from envoy_data_plane.envoy.config.endpoint.v3 import Endpoint as EnvoyEndpoint
from envoy_data_plane.envoy.config.listener.v3 import Filter, FilterChain, Listener
from envoy_data_plane.envoy.config.route.v3 import (
    Route,
    RouteAction,
    RouteConfiguration,
    RouteMatch,
    VirtualHost,
)
from envoy_data_plane.envoy.extensions.filters.http.router.v3 import Router
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3 import (
    HttpConnectionManager,
    HttpFilter,
)

from ..mtls.ca import CertificateAuthority, IssuedCertificate
from ..mtls.identity import SpiffeId
from ..mtls.issuer import WorkloadCertificates
from . import codec
from .cache import NodeInfo, XdsSnapshot
from .sds import SECRET_TYPE, downstream_mtls, secrets, upstream_mtls
from .translate_listeners import HCM_FILTER, ROUTER_FILTER
from .translate_proto import msg
from .translate_routes import _any

INBOUND_LISTENER = "inbound-mtls"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class MeshedWorkload:
    """A workload whose sidecar terminates mesh mTLS on `inbound_port` and forwards to its app on `app_port`."""

    node_cluster: str  # the sidecar's role, e.g. "sidecar:bookinfo/productpage@cluster-1"
    identity: SpiffeId
    inbound_port: int
    app_port: int


@dataclass
class MeshTls:
    """Who is meshed (proxies by node role → identity; sidecars' inbound listeners) and their certificates."""

    certificates: WorkloadCertificates
    identities: Mapping[str, SpiffeId]  # node cluster (role string) → identity
    workloads: list[MeshedWorkload] = field(default_factory=list)
    _memo: dict[Any, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def create(cls, trust_domain: str, lifetime: dt.timedelta, identities: Mapping[str, SpiffeId],
               workloads: list[MeshedWorkload]) -> "MeshTls":
        return cls(WorkloadCertificates(CertificateAuthority(trust_domain), lifetime), dict(identities), workloads)

    @property
    def trust_domain(self) -> str:
        return self.certificates.ca.trust_domain

    def identity_of(self, node: NodeInfo) -> SpiffeId | None:
        return self.identities.get(node.cluster)

    def certificate_of(self, node: NodeInfo) -> IssuedCertificate | None:
        identity = self.identity_of(node)
        return self.certificates.current(identity) if identity is not None else None

    def _remember(self, key: Any, make: Any) -> Any:
        """One message object per key, kept alive: the pack cache keys on message identity."""
        with self._lock:
            hit = self._memo.get(key)
            if hit is None:
                if len(self._memo) > 512:
                    self._memo.clear()
                hit = self._memo[key] = make()
            return hit

    def decorate(self, snapshot: XdsSnapshot, node: NodeInfo) -> XdsSnapshot:
        """The node's snapshot with SDS Secrets, mTLS on meshed clusters and the sidecar's inbound listener."""
        certificate = self.certificate_of(node)
        if certificate is None:
            return snapshot  # not a meshed proxy
        resources = {t: dict(named) for t, named in snapshot.resources.items()}
        bundle = self.certificates.ca.trust_bundle_pem
        made = self._remember(("secrets", certificate.serial), lambda: secrets(certificate, bundle))
        resources[SECRET_TYPE] = {s.name: s for s in made}
        peers = {(HOST, w.inbound_port): w.identity for w in self.workloads}
        clusters = resources.get(codec.CLUSTER_TYPE, {})
        endpoints = resources.get(codec.ENDPOINT_TYPE, {})
        for name, cluster in list(clusters.items()):
            found = _endpoints_of(cluster, endpoints)
            if found and all(e in peers for e in found):
                uris = sorted({peers[e].uri for e in found})
                clusters[name] = self._remember(("cluster", id(cluster), tuple(uris)),
                                                lambda c=cluster, u=uris: (c, _with_socket(c, upstream_mtls(u))))[1]
        for w in self.workloads:
            if w.node_cluster == node.cluster:
                listener, local = self._remember(("inbound", w), lambda w=w: _inbound(w, self.trust_domain))
                resources.setdefault(codec.LISTENER_TYPE, {})[listener.name] = listener
                clusters[local.name] = local
                endpoints.pop(local.name, None)
        resources[codec.CLUSTER_TYPE] = clusters
        return XdsSnapshot(snapshot.version, resources, snapshot.identities)


def _endpoints_of(cluster: Any, endpoints: Mapping[str, Any]) -> list[tuple[str, int]]:
    if cluster.type == ClusterDiscoveryType.EDS:
        service = cluster.eds_cluster_config.service_name if cluster.eds_cluster_config else ""
        cla = endpoints.get(service or cluster.name)
    else:
        cla = cluster.load_assignment
    if cla is None:
        return []
    out: list[tuple[str, int]] = []
    for group in cla.endpoints:
        for e in group.lb_endpoints:
            socket = e.endpoint.address.socket_address if e.endpoint and e.endpoint.address else None
            if socket is None:
                return []  # a pipe or an internal address: not a meshed listener
            out.append((socket.address, int(socket.port_value or 0)))
    return out


def _with_socket(cluster: Cluster, socket: Any) -> Cluster:
    out = copy.copy(cluster)  # translated messages are shared (memo): never change one in place
    out.__dict__ = dict(cluster.__dict__, transport_socket=socket)
    return out


def _inbound(w: MeshedWorkload, trust_domain: str) -> tuple[Listener, Cluster]:
    """The sidecar's mTLS listener and the static cluster of its local app."""
    local_name = f"inbound|{w.app_port}||{w.identity.service_account}.{w.identity.namespace}"
    local = msg(Cluster, name=local_name, type=ClusterDiscoveryType.STATIC,
                connect_timeout=dt.timedelta(seconds=1),
                load_assignment=msg(ClusterLoadAssignment, cluster_name=local_name, endpoints=[
                    msg(LocalityLbEndpoints, lb_endpoints=[msg(LbEndpoint, endpoint=msg(EnvoyEndpoint, address=msg(
                        Address, socket_address=msg(SocketAddress, address=HOST, port_value=w.app_port))))])]))
    routes = msg(RouteConfiguration, name=INBOUND_LISTENER, virtual_hosts=[msg(
        VirtualHost, name="inbound", domains=["*"],
        routes=[msg(Route, match=msg(RouteMatch, prefix="/"), route=msg(RouteAction, cluster=local_name))])])
    hcm = msg(HttpConnectionManager, stat_prefix=INBOUND_LISTENER, route_config=routes,
              http_filters=[msg(HttpFilter, name=ROUTER_FILTER, typed_config=_any(msg(Router)))])
    listener = msg(Listener, name=INBOUND_LISTENER,
                   address=msg(Address, socket_address=msg(SocketAddress, address=HOST, port_value=w.inbound_port)),
                   filter_chains=[msg(FilterChain, transport_socket=downstream_mtls(trust_domain),
                                      filters=[msg(Filter, name=HCM_FILTER, typed_config=_any(hcm))])])
    return listener, local


class RotationPusher:
    """Re-pushes snapshots when a held certificate reaches its renewal point, so rotated certificates reach the
    proxies through SDS before the old ones expire. `refresh` is the xDS service's refresh."""

    def __init__(self, tls: MeshTls, refresh: Any, poll_s: float = 0.5) -> None:
        self.tls = tls
        self.refresh = refresh
        self.poll_s = poll_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mtls-rotation", daemon=True)

    def start(self) -> "RotationPusher":
        self._thread.start()
        return self

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            due = self.tls.certificates.next_rotation()
            if due is not None and dt.datetime.now(dt.timezone.utc) >= due:
                for identity in self.tls.certificates.held():
                    self.tls.certificates.current(identity)  # re-issues the due ones
                self.refresh()  # the builder picks the new certificates up: SDS pushes them
