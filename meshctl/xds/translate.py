"""Routing view + mesh index → the Envoy v3 resources one node gets (a gateway or a sidecar). Pure: no grpc.

Node roles come from node.cluster: "gateway" (every gateway), "gateway:NS/NAME" (one), or
"sidecar:NS/NAME@CLUSTER" (a workload's outbound routes). A `Translator` belongs to one configuration
snapshot: route configurations are built once per snapshot and shared by every node; clusters and
endpoints depend on the node's locality and on health overrides, and unchanged ones are reused across
snapshots (same message object, so the pack cache does not encode them again).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from envoy_data_plane.envoy.config.cluster.v3 import Cluster
from envoy_data_plane.envoy.config.endpoint.v3 import ClusterLoadAssignment
from envoy_data_plane.envoy.config.listener.v3 import Listener
from envoy_data_plane.envoy.config.route.v3 import RouteConfiguration, ScopedRouteConfiguration
from envoy_data_plane.envoy.config.route.v3 import VirtualHost as EnvoyVirtualHost

from ..mesh.index import Backend, Locality, MeshIndex
from ..model.common import KubeServiceDestination, WeightedDestination
from ..model.gcpause import gc_paused
from ..model.resources import VirtualGateway
from ..model.snapshot import Snapshot as ConfigSnapshot
from ..model.v2.resources import VirtualGatewayV2
from ..routing.types import GatewayView, RoutingView, VirtualHostView
from ..routing.view import build_routing_view
from . import codec
from .cache import NodeInfo, XdsSnapshot
from .retry_hoist import hoist_host
from .route_memo import RouteMemo
from .route_scopes import ScopeMemo, Scopes
from .translate_clusters import ClusterMemo, ClusterSet, HealthOverrides
from .translate_listeners import http_listener
from .translate_proto import msg
from .translate_routes import RouteContext, destination_key, envoy_routes
from .translate_sidecar import sidecar_hosts

LISTENER_PORT_KEY = "listener_port"  # node metadata: put this node's first listener on that port
DEFAULT_LISTENER_PORT = 8080
DEFAULT_SIDECAR_PORT = 15001


@dataclass(frozen=True)
class TranslateOptions:
    listener_address: str = "127.0.0.1"
    listener_port: int = DEFAULT_LISTENER_PORT  # gateways without a discovered port: this, then +1, +2, ...
    listener_ports: Mapping[str, int] = field(default_factory=dict)  # "ns/name" of a gateway → port (wins)
    sidecar_port: int = DEFAULT_SIDECAR_PORT
    connect_timeout: float = 1.0
    # serve a gateway's routes as one route configuration per first path segment (scoped RDS, route_scopes.py)
    # when it has at least this many routes and every route pins its segment; None: never
    scoped_routes: int | None = None


@dataclass(frozen=True)
class NodeRole:
    """What a node is, from node.cluster: a gateway (one, or all when `target` is empty) or a sidecar."""

    kind: Literal["gateway", "sidecar"] = "gateway"
    target: str = ""  # gateway "ns/name", or the sidecar's workload "ns/name"
    cluster: str = ""  # the sidecar's Kubernetes cluster

    @classmethod
    def parse(cls, text: str) -> "NodeRole":
        """"gateway", "gateway:NS/NAME", "sidecar:NS/NAME[@CLUSTER]"; anything else serves every gateway."""
        kind, _, rest = (text or "").partition(":")
        if kind == "sidecar" and rest:
            target, _, cluster = rest.partition("@")
            return cls("sidecar", target, cluster)
        if kind == "gateway" and rest not in ("", "*"):
            return cls("gateway", rest)
        return cls("gateway")

    def __str__(self) -> str:
        if self.kind == "sidecar":
            return f"sidecar:{self.target}" + (f"@{self.cluster}" if self.cluster else "")
        return f"gateway:{self.target}" if self.target else "gateway"


def node_locality(node: NodeInfo) -> Locality | None:
    region, zone, sub_zone = node.locality
    return Locality(region, zone, sub_zone) if region else None


def metadata_port(node: NodeInfo) -> int | None:
    value = node.metadata.get(LISTENER_PORT_KEY) if node.metadata else None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


@dataclass
class NodeResources:
    """The resources one node gets, by kind, plus translation notes (things rendered differently or skipped)."""

    node: NodeInfo
    role: NodeRole
    locality: Locality | None
    clusters: list[Cluster]
    endpoints: list[ClusterLoadAssignment]
    listeners: list[Listener]
    routes: list[RouteConfiguration]
    notes: list[str] = field(default_factory=list)
    scopes: list[ScopedRouteConfiguration] = field(default_factory=list)  # of scoped routes (route_scopes.py)

    def by_type(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {
            codec.CLUSTER_TYPE: {c.name: c for c in self.clusters},
            codec.ENDPOINT_TYPE: {e.cluster_name: e for e in self.endpoints},
            codec.LISTENER_TYPE: {l.name: l for l in self.listeners},
            codec.ROUTE_TYPE: {r.name: r for r in self.routes},
        }
        if self.scopes:
            out[codec.SCOPED_ROUTE_TYPE] = {s.name: s for s in self.scopes}
        return out

    def snapshot(self, version: str = "") -> XdsSnapshot:
        return XdsSnapshot(version, self.by_type())


@dataclass
class _RouteSet:
    """A route configuration with the backends its routes use (node independent, built once per snapshot)."""

    config: RouteConfiguration
    backends: dict[str, Backend]
    notes: list[str]


def _has_port(domain: str) -> bool:
    host = domain.rsplit("]", 1)[-1] if domain.startswith("[") else domain
    return ":" in host


class Translator:
    """Translation of one configuration snapshot, shared by every node while the snapshot is current."""

    def __init__(self, snapshot: ConfigSnapshot, options: TranslateOptions | None = None, *,
                 view: RoutingView | None = None, index: MeshIndex | None = None,
                 memo: ClusterMemo | None = None, route_memo: RouteMemo | None = None,
                 scope_memo: ScopeMemo | None = None) -> None:
        self.snapshot = snapshot
        self.options = options or TranslateOptions()
        self.view = view if view is not None else build_routing_view(snapshot)
        self.index = index if index is not None else MeshIndex(snapshot)
        self.memo = memo or ClusterMemo()
        self.route_memo = route_memo
        self.scope_memo = scope_memo if scope_memo is not None else ScopeMemo()
        self._lock = threading.Lock()
        self._route_sets: dict[Any, _RouteSet] = {}
        # id(route configuration) -> (it, its split; None: not split)
        self._scopes: dict[int, tuple[RouteConfiguration, Scopes | None]] = {}
        self._backends: dict[tuple[Any, ...], Backend] = {}

    # -- destinations ------------------------------------------------------------------------------------
    def resolve(self, d: WeightedDestination, owner_ns: str) -> Backend:
        key = destination_key(d, owner_ns)
        hit = self._backends.get(key)
        if hit is None:
            hit = self._backends[key] = self.index.resolve(d, owner_ns)
        return hit

    def resolve_kube(self, k: KubeServiceDestination, owner_ns: str) -> Backend:
        return self.resolve(WeightedDestination(kube_service=k), owner_ns)

    # -- ports -------------------------------------------------------------------------------------------
    def discovered_port(self, gateway: VirtualGateway | VirtualGatewayV2) -> int | None:
        """The port named by portName on the ingress gateway Service the VirtualGateway selects, if loaded."""
        if not isinstance(gateway, VirtualGateway):
            return None  # v2: the listener names its own port (named ports are not resolved yet)
        for selector in gateway.spec.ingress_gateway_selectors:
            for svc in self.index.select_services(selector.destination_selectors, gateway.namespace):
                port = svc.port(name=selector.port_name)
                if port:
                    return port
        return None

    def gateway_ports(self, base_port: int | None = None, gateways: list[GatewayView] | None = None) -> dict[str, int]:
        """Listener port of each gateway (all, or the given ones): caller override, else `base_port` (a node's
        metadata) + i over the given gateways, else the discovered ingress port, else the default port + i."""
        out: dict[str, int] = {}
        every = self.view.gateways
        for i, g in enumerate(gateways if gateways is not None else every):
            if g.name in self.options.listener_ports:
                out[g.name] = int(self.options.listener_ports[g.name])
            elif base_port is not None:
                out[g.name] = base_port + i
            else:
                out[g.name] = (self.discovered_port(g.gateway) or g.default_port  # v2: the listener's own port
                               or (self.options.listener_port + every.index(g)))
        return out

    def gateway_locality(self, gateway: GatewayView) -> Locality | None:
        """Where a gateway runs when its node does not say: the locality of the ingress Service's cluster."""
        for selector in gateway.gateway.spec.ingress_gateway_selectors:
            for svc in self.index.select_services(selector.destination_selectors, gateway.gateway.namespace):
                loc = self.index.cluster_localities.get(svc.cluster)
                if loc is not None and loc.region:
                    return loc
        return None

    # -- route configurations (node independent) ---------------------------------------------------------
    def _context(self, backends: dict[str, Backend], notes: list[str]) -> RouteContext:
        def add(backend: Backend) -> str:
            backends.setdefault(backend.envoy_cluster, backend)
            return backend.envoy_cluster

        return RouteContext(self.resolve, add, self.resolve_kube, notes)

    def _route_set(self, key: tuple[Any, ...], build: Any) -> _RouteSet:
        """The route configuration for `key`, built once per snapshot by `build(backends, notes)`."""
        with self._lock:
            hit = self._route_sets.get(key)
            if hit is None:
                backends: dict[str, Backend] = {}
                notes: list[str] = []
                config = build(backends, notes)
                hit = self._route_sets[key] = _RouteSet(config, backends, notes)
            return hit

    def _gateway_route_set(self, name: str, gateways: tuple[GatewayView, ...]) -> _RouteSet:
        def build(backends: dict[str, Backend], notes: list[str]) -> RouteConfiguration:
            ctx = self._context(backends, notes)
            vhosts: list[EnvoyVirtualHost] = []
            claimed: dict[str, str] = {}
            seen: set[str] = set()
            for g in gateways:
                for view in g.virtual_hosts:
                    if view.name in seen:
                        continue  # the same VirtualHost selected by two gateways on one port
                    seen.add(view.name)
                    vhost = self._virtual_host(view, claimed, ctx, f"{name}|{g.name}")
                    if vhost is not None:
                        vhosts.append(vhost)
            return msg(RouteConfiguration, name=name, virtual_hosts=vhosts)

        return self._route_set(("gateway", name, tuple(g.name for g in gateways)), build)

    def _virtual_host(self, view: VirtualHostView, claimed: dict[str, str], ctx: RouteContext,
                      scope: str = "") -> EnvoyVirtualHost | None:
        domains: list[str] = []
        for d in view.domains:
            low = d.lower()
            if low in claimed:
                ctx.notes.append(f"{view.name}: domain {d!r} is already served by {claimed[low]}; left out "
                                 "(Envoy rejects a route configuration that lists a domain twice)")
                continue
            claimed[low] = view.name
            domains.append(d)
            if _has_port(d):
                ctx.notes.append(f"{view.name}: domain {d!r} has a port; the listener strips ports from the Host "
                                 "header before choosing a virtual host, so this domain never matches")
        if not domains:
            ctx.notes.append(f"{view.name}: no domain left to serve; virtual host left out")
            return None
        memo = self.route_memo
        if memo is not None:  # `scope`: the route set and gateway (listener); a route id is unique within a host
            scope = f"{scope}|{view.name}"
            routes, common = memo.host_routes(scope, view.routes, ctx, self)
        else:
            routes, common = hoist_host([er for r in view.routes for er in envoy_routes(r, ctx)])
        return msg(EnvoyVirtualHost, name=view.name, domains=domains, routes=routes, retry_policy=common)

    def _sidecar_route_set(self, name: str, role: NodeRole) -> _RouteSet:
        namespace, cluster = self.sidecar_placement(role)

        def build(backends: dict[str, Backend], notes: list[str]) -> RouteConfiguration:
            ctx = self._context(backends, notes)
            claimed: dict[str, str] = {}
            # Gloo v2 east-west tables first (E1-E5): their hosts take precedence over the per-service defaults
            vhosts = [v for view in self._east_west_views(role, namespace, cluster)
                      if (v := self._virtual_host(view, claimed, ctx)) is not None]
            for h in sidecar_hosts(self.index, namespace, cluster, ctx):
                domains = [d for d in h.domains if d.lower() not in claimed]
                if domains:
                    vhosts.append(msg(EnvoyVirtualHost, name=h.name, domains=domains, routes=h.routes))
            return msg(RouteConfiguration, name=name, virtual_hosts=vhosts)

        return self._route_set(("sidecar", name, namespace, cluster), build)

    def _east_west_views(self, role: NodeRole, namespace: str, cluster: str) -> list[VirtualHostView]:
        """The sidecar's Gloo v2 virtual hosts (routing.v2_eastwest), none when no v2 table applies."""
        from ..model.v2.validate import has_v2
        from ..routing.v2_eastwest import WorkloadError, find_workload, sidecar_view

        snapshot = self.index.snapshot
        if not has_v2(snapshot):
            return []
        name = role.target.partition("/")[2] or role.target
        try:
            workload = find_workload(snapshot, f"{namespace}/{name}" + (f"@{cluster}" if cluster else ""))
        except WorkloadError:
            return []
        return [vh for g in sidecar_view(snapshot, workload).gateways for vh in g.virtual_hosts]

    def sidecar_placement(self, role: NodeRole) -> tuple[str, str]:
        """(namespace, Kubernetes cluster) of a sidecar's workload; the cluster defaults to where a service of
        that name runs, else the first known cluster."""
        namespace, _, name = role.target.partition("/")
        if not name:
            namespace, name = "default", namespace
        cluster = role.cluster
        if not cluster:
            found = self.index.find_services(namespace, name)
            clusters = self.index.clusters()
            cluster = found[0].cluster if found else (clusters[0] if clusters else "")
        return namespace, cluster

    # -- per node ----------------------------------------------------------------------------------------
    def node_resources(self, node: NodeInfo, health_overrides: HealthOverrides | None = None) -> NodeResources:
        with gc_paused():  # see model/gcpause.py: GC over a large live model is quadratic
            return self._node_resources(node, health_overrides)

    def _node_resources(self, node: NodeInfo, health_overrides: HealthOverrides | None) -> NodeResources:
        role = NodeRole.parse(node.cluster)
        locality = node_locality(node)
        listeners: list[Listener] = []
        route_sets: list[_RouteSet] = []
        notes: list[str] = []
        split: Scopes | None = None
        address = self.options.listener_address
        if role.kind == "sidecar":
            if locality is None:
                _, cluster = self.sidecar_placement(role)
                loc = self.index.cluster_localities.get(cluster)
                locality = loc if loc is not None and loc.region else None
            port = metadata_port(node) or self.options.sidecar_port
            name = f"sidecar_{port}"
            listeners.append(http_listener(name, address, port, name))
            route_sets.append(self._sidecar_route_set(name, role))
        else:
            gateways = [g for g in self.view.gateways if not role.target or g.name == role.target]
            if role.target and not gateways:
                notes.append(f"node {node.id}: no gateway {role.target} in the configuration")
            ports = self.gateway_ports(metadata_port(node), gateways)
            by_port: dict[int, list[GatewayView]] = {}
            for g in gateways:
                by_port.setdefault(ports[g.name], []).append(g)
            sets: list[tuple[int, str, _RouteSet]] = []
            for port, group in sorted(by_port.items()):
                name = f"gateway_{port}"
                if len(group) > 1:
                    notes.append(f"gateways {', '.join(g.name for g in group)} share port {port}: one listener serves "
                                 "their virtual hosts together")
                sets.append((port, name, self._gateway_route_set(name, tuple(group))))
            split = self._split_one([rs for _, _, rs in sets])
            for port, name, rs in sets:
                scoped = split is not None and split.name == name
                listeners.append(http_listener(name, address, port, name, scoped))
                route_sets.append(rs)
            if locality is None and gateways:
                locality = self.gateway_locality(gateways[0])
        clusters = ClusterSet(locality, health_overrides, self.options.connect_timeout)
        for rs in route_sets:
            for backend in rs.backends.values():
                clusters.add(backend)
            notes.extend(rs.notes)
        cluster_messages: list[Cluster] = []
        assignments: list[ClusterLoadAssignment] = []
        for plan in clusters.plans():
            cluster_messages.append(self.memo.cluster(plan))
            if not plan.dns:
                assignments.append(self.memo.assignment(plan))
        configs = [rs.config for rs in route_sets]
        if split is None:
            return NodeResources(node, role, locality, cluster_messages, assignments, listeners, configs, notes)
        configs = [c for c in configs if c.name != split.name] + split.route_configs
        return NodeResources(node, role, locality, cluster_messages, assignments, listeners, configs, notes,
                             split.scopes)

    def _split_one(self, route_sets: list[_RouteSet]) -> Scopes | None:
        """The split of the largest gateway route configuration that can be split (options.scoped_routes), if
        any: one per node, as Envoy hands every scope to every scoped connection manager of a node."""
        minimum = self.options.scoped_routes
        if minimum is None:
            return None
        splits = [self._split(rs.config, minimum) for rs in route_sets]
        return max((s for s in splits if s is not None), key=lambda s: s.routes, default=None)

    def _split(self, config: RouteConfiguration, minimum: int) -> Scopes | None:
        with self._lock:  # once per snapshot, shared by every node (the memo is not thread-safe)
            hit = self._scopes.get(id(config))
            if hit is None:
                hit = self._scopes[id(config)] = (config, self.scope_memo.split(config, minimum))
            return hit[1]

    def snapshot_for(self, node: NodeInfo, health_overrides: HealthOverrides | None = None,
                     version: str = "") -> XdsSnapshot:
        return self.node_resources(node, health_overrides).snapshot(version)


def translate(snapshot: ConfigSnapshot, node: NodeInfo, options: TranslateOptions | None = None,
              health_overrides: HealthOverrides | None = None) -> NodeResources:
    """One-shot translation for one node (build a Translator to serve many nodes from one snapshot)."""
    return Translator(snapshot, options).node_resources(node, health_overrides)
