"""Backends to Envoy clusters: one EDS cluster per destination, endpoints grouped by locality and priority.

A VirtualDestination (or any backend with outlier detection) gets priorities relative to the client node's
locality (P0 same zone, P1 same region, then failover regions, then the rest), as Istio renders locality
failover. Endpoint health comes from discovery and can be overridden (the failover work marks endpoints
EDS-unhealthy). Hosts that are not IP addresses need DNS, so such backends become STRICT_DNS clusters.
"""

from __future__ import annotations

import datetime
import ipaddress
import threading
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from envoy_data_plane.envoy.config.cluster.v3 import (
    CircuitBreakers,
    CircuitBreakersThresholds,
    Cluster,
    ClusterCommonLbConfig,
    ClusterCommonLbConfigLocalityWeightedLbConfig,
    ClusterDiscoveryType,
    ClusterDnsLookupFamily,
    ClusterEdsClusterConfig,
    OutlierDetection,
)
from envoy_data_plane.envoy.config.core.v3 import (
    Address,
    AggregatedConfigSource,
    ApiVersion,
    ConfigSource,
    HealthStatus,
    SocketAddress,
)
from envoy_data_plane.envoy.config.core.v3 import (
    Locality as EnvoyLocality,
)
from envoy_data_plane.envoy.config.endpoint.v3 import (
    ClusterLoadAssignment,
    LbEndpoint,
    LocalityLbEndpoints,
)
from envoy_data_plane.envoy.config.endpoint.v3 import (
    Endpoint as EnvoyEndpoint,
)

from ..mesh.index import Backend, Endpoint, Locality
from ..model.common import OutlierDetection as OutlierSpec
from .translate_proto import duration, msg

HealthOverrides = Mapping[tuple[str, int], HealthStatus]

# Retries must not be cut short by Envoy's default retry budget (3 concurrent retries per cluster): with a
# frozen upstream every in-flight request retries at once.
MAX_RETRIES = 1024
CONNECT_TIMEOUT = datetime.timedelta(seconds=1)


def ads_config_source() -> ConfigSource:
    return msg(ConfigSource, ads=msg(AggregatedConfigSource), resource_api_version=ApiVersion.V3)


def _is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class EndpointPlan:
    address: str
    port: int
    locality: Locality
    health: int  # HealthStatus value


@dataclass(frozen=True)
class ClusterPlan:
    """Everything one cluster and its endpoints depend on: hashable, so it doubles as the pack-cache identity."""

    name: str
    dns: bool
    priorities: tuple[tuple[EndpointPlan, ...], ...]
    outlier: OutlierKey | None
    connect_timeout: float
    # Envoy locality weights (from a v2 FailoverPolicy's weighted localityMappings); set for every locality
    locality_weights: tuple[tuple[Locality, int], ...] = ()

    @property
    def cluster_key(self) -> Hashable:
        """What the Cluster message depends on (EDS endpoints are not part of it; DNS ones are)."""
        return (self.name, self.dns, self.outlier, self.connect_timeout, self.priorities if self.dns else None,
                bool(self.locality_weights))


OutlierKey = tuple[int | None, float | None, float | None, int | None, int | None]


def _outlier_key(spec: OutlierSpec | None) -> OutlierKey | None:
    if spec is None:
        return None
    interval = duration(spec.interval)
    ejection = duration(spec.base_ejection_time)
    return (spec.consecutive_errors, interval.total_seconds() if interval else None,
            ejection.total_seconds() if ejection else None, spec.max_ejection_percent,
            getattr(spec, "consecutive_gateway_errors", None))  # v2 OutlierDetectionPolicy only


def uses_priorities(backend: Backend) -> bool:
    """Locality failover needs outlier detection (Envoy never leaves P0 otherwise); a VirtualDestination always
    gets client-relative priorities."""
    return (backend.kind == "virtualDestination" or backend.outlier_detection is not None
            or backend.failover_plan is not None)


def plan_cluster(backend: Backend, client: Locality | None, overrides: HealthOverrides | None,
                 connect_timeout: float = 1.0) -> ClusterPlan:
    groups: list[list[Endpoint]]
    if backend.dns_hosts and not backend.endpoints:
        port = backend.port or 80
        dns_eps = [Endpoint("external", host, port, (), Locality()) for host in backend.dns_hosts]
        groups = [dns_eps]
    elif uses_priorities(backend):
        groups = backend.priorities(client)
    else:
        groups = [list(backend.endpoints)] if backend.endpoints else []
    overrides = overrides or {}
    priorities = tuple(
        tuple(
            EndpointPlan(e.address, e.port, e.locality,
                         int(overrides.get((e.address, e.port),
                                           HealthStatus.UNKNOWN if e.healthy else HealthStatus.UNHEALTHY)))
            for e in group if e.port
        )
        for group in groups
    )
    priorities = tuple(p for p in priorities if p)  # Envoy needs contiguous priorities
    dns = bool(backend.dns_hosts) or any(not _is_ip(e.address) for p in priorities for e in p)
    return ClusterPlan(backend.envoy_cluster, dns, priorities, _outlier_key(backend.outlier_detection),
                       connect_timeout, _locality_weights(backend, client, priorities))


def _locality_weights(backend: Backend, client: Locality | None,
                      priorities: tuple[tuple[EndpointPlan, ...], ...]) -> tuple[tuple[Locality, int], ...]:
    """With locality-weighted balancing Envoy sends nothing to a locality without a weight, so once a mapping
    gives weights every locality gets one: the mapped weight, else its endpoint count (an even spread)."""
    plan = backend.failover_plan
    if plan is None or not plan.uses_weights(client):
        return ()
    counts: dict[Locality, int] = {}
    for group in priorities:
        for e in group:
            counts[e.locality] = counts.get(e.locality, 0) + 1
    out = []
    for loc in sorted(counts, key=lambda l: (l.region, l.zone, l.sub_zone)):
        weight = plan.locality_weight(client, loc)
        out.append((loc, weight if weight is not None else counts[loc]))
    return tuple(out)


def load_assignment(plan: ClusterPlan) -> ClusterLoadAssignment:
    localities: list[LocalityLbEndpoints] = []
    weights = dict(plan.locality_weights)
    for priority, group in enumerate(plan.priorities):
        by_locality: dict[Locality, list[EndpointPlan]] = {}
        for e in group:
            by_locality.setdefault(e.locality, []).append(e)
        for loc in sorted(by_locality, key=lambda l: (l.region, l.zone, l.sub_zone)):
            lb_endpoints = [
                msg(LbEndpoint,
                    endpoint=msg(EnvoyEndpoint, address=msg(Address, socket_address=msg(
                        SocketAddress, address=e.address, port_value=e.port))),
                    health_status=HealthStatus(e.health))
                for e in by_locality[loc]
            ]
            envoy_locality = (msg(EnvoyLocality, region=loc.region, zone=loc.zone, sub_zone=loc.sub_zone)
                              if (loc.region or loc.zone or loc.sub_zone) else None)
            weight = weights.get(loc)
            localities.append(msg(LocalityLbEndpoints, locality=envoy_locality, lb_endpoints=lb_endpoints,
                                  priority=priority, load_balancing_weight=weight))
    return msg(ClusterLoadAssignment, cluster_name=plan.name, endpoints=localities)


def build_cluster(plan: ClusterPlan) -> Cluster:
    outlier = None
    if plan.outlier is not None:
        errors, interval, ejection, max_percent, gateway_errors = plan.outlier
        outlier = msg(OutlierDetection,
                      consecutive_5xx=errors,
                      consecutive_gateway_failure=gateway_errors,
                      enforcing_consecutive_gateway_failure=100 if gateway_errors else None,
                      interval=datetime.timedelta(seconds=interval) if interval is not None else None,
                      base_ejection_time=datetime.timedelta(seconds=ejection) if ejection is not None else None,
                      max_ejection_percent=max_percent)
    common = dict(
        name=plan.name,
        connect_timeout=datetime.timedelta(seconds=plan.connect_timeout),
        outlier_detection=outlier,
        # Envoy batches host health changes after the first for update_merge_window (default 1 s): two hosts
        # ejected together would leave the second receiving traffic for a second. Apply ejections at once.
        common_lb_config=_common_lb_config(outlier is not None, bool(plan.locality_weights)),
        circuit_breakers=msg(CircuitBreakers, thresholds=[msg(CircuitBreakersThresholds, max_retries=MAX_RETRIES)]),
    )
    if plan.dns:
        return msg(Cluster, type=ClusterDiscoveryType.STRICT_DNS, dns_lookup_family=ClusterDnsLookupFamily.V4_ONLY,
                   load_assignment=load_assignment(plan), **common)
    return msg(Cluster, type=ClusterDiscoveryType.EDS,
               eds_cluster_config=msg(ClusterEdsClusterConfig, eds_config=ads_config_source()), **common)


def _common_lb_config(outlier: bool, weighted: bool) -> ClusterCommonLbConfig | None:
    if not outlier and not weighted:
        return None
    return msg(ClusterCommonLbConfig,
               update_merge_window=datetime.timedelta(0) if outlier else None,
               locality_weighted_lb_config=msg(ClusterCommonLbConfigLocalityWeightedLbConfig) if weighted else None)


@dataclass
class ClusterSet:
    """The clusters one node's routes refer to, collected while its routes are translated."""

    client: Locality | None
    overrides: HealthOverrides | None
    connect_timeout: float = 1.0
    backends: dict[str, Backend] = field(default_factory=dict)

    def add(self, backend: Backend) -> str:
        self.backends.setdefault(backend.envoy_cluster, backend)
        return backend.envoy_cluster

    def plans(self) -> list[ClusterPlan]:
        return [plan_cluster(b, self.client, self.overrides, self.connect_timeout)
                for _, b in sorted(self.backends.items())]


class ClusterMemo:
    """Cluster and endpoint messages by plan, reused across translations: an unchanged cluster is the same
    message object, so the pack cache (keyed by message identity) does not encode it again."""

    def __init__(self) -> None:
        self._clusters: dict[Hashable, Cluster] = {}
        self._assignments: dict[Hashable, ClusterLoadAssignment] = {}
        self._used: set[Hashable] = set()
        self._lock = threading.Lock()

    def cluster(self, plan: ClusterPlan) -> Cluster:
        key = plan.cluster_key
        with self._lock:
            self._used.add(key)
            hit = self._clusters.get(key)
        if hit is None:
            hit = build_cluster(plan)
            with self._lock:
                hit = self._clusters.setdefault(key, hit)
        return hit

    def assignment(self, plan: ClusterPlan) -> ClusterLoadAssignment:
        with self._lock:
            self._used.add(plan)
            hit = self._assignments.get(plan)
        if hit is None:
            hit = load_assignment(plan)
            with self._lock:
                hit = self._assignments.setdefault(plan, hit)
        return hit

    def sweep(self) -> None:
        """Forget messages not used since the last sweep (call once per configuration change)."""
        with self._lock:
            self._clusters = {k: v for k, v in self._clusters.items() if k in self._used}
            self._assignments = {k: v for k, v in self._assignments.items() if k in self._used}
            self._used = set()
