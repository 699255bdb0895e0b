"""East-west routing for a sidecar node: one virtual host per service hostname, VirtualDestination hostname
and ExternalService host, with TrafficPolicy trafficShift (e.g. reviews → VirtualDestination reviews.global)
and the TrafficPolicy's request options (timeout, retries, fault injection, headers) applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from envoy_data_plane.envoy.config.route.v3 import Route as EnvoyRoute

from ..mesh.index import Backend, MeshIndex, ServiceInstance
from ..model.common import (
    POLICY_FIELDS,
    KubeServiceDestination,
    Policy,
    RouteAction,
    VirtualDestinationRef,
    WeightedDestination,
)
from ..model.resources import ExternalService, TrafficPolicy, VirtualDestination
from ..routing.matchers import ROOT
from .translate_routes import RouteContext, Target, build_route, destination_targets

# Fields of a TrafficPolicy applied on the client side per destination; trafficShift and outlier detection
# are rendered elsewhere (route targets and clusters), the rest has no sidecar meaning here.
_REQUEST_OPTIONS = ("fault_injection", "request_timeout", "retries", "cors_policy", "mirror", "header_manipulation")


@dataclass
class SidecarHost:
    """One virtual host of a sidecar's outbound route configuration."""

    name: str
    domains: list[str]
    routes: list[EnvoyRoute] = field(default_factory=list)


def _policies(index: MeshIndex) -> list[TrafficPolicy]:
    return sorted(index.snapshot.typed(TrafficPolicy), key=lambda t: (t.metadata.creation_timestamp, t.namespace, t.name))


def _merged_options(policies: list[TrafficPolicy]) -> Policy:
    """Request options of every policy that applies, field by field; the oldest policy wins a field."""
    values: dict[str, Any] = {}
    for tp in policies:
        p = tp.spec.policy
        if p is None:
            continue
        for f in _REQUEST_OPTIONS:
            v = getattr(p, f)
            if v is not None and f not in values:
                values[f] = v
    fields: dict[str, Any] = {f: values.get(f) for f in POLICY_FIELDS if f in values}
    return Policy(**fields)


def _service_policies(index: MeshIndex, svc: ServiceInstance) -> list[TrafficPolicy]:
    return [tp for tp in _policies(index) if svc in index.select_services(tp.spec.destination_selector, tp.namespace)]


def _ref_policies(index: MeshIndex, kind: str, namespace: str, name: str) -> list[TrafficPolicy]:
    out = []
    for tp in _policies(index):
        for sel in tp.spec.destination_selector:
            if kind == "VirtualDestination" and sel.virtual_destination_refs is not None:
                refs = sel.virtual_destination_refs.virtual_destinations
            elif kind == "ExternalService" and sel.external_service_refs is not None:
                refs = sel.external_service_refs.external_services
            else:
                continue
            if any(r.name == name and (r.namespace or tp.namespace) == namespace for r in refs):
                out.append(tp)
                break
    return out


def _host(name: str, domains: list[str], targets: list[Target], options: Policy, owner_ns: str,
          ctx: RouteContext, route_name: str) -> SidecarHost:
    route = build_route(route_name, ROOT, RouteAction(), targets, options, owner_ns, ctx, route_name)
    return SidecarHost(name, domains, [route])


def sidecar_hosts(index: MeshIndex, namespace: str, cluster: str, ctx: RouteContext) -> list[SidecarHost]:
    """Virtual hosts for a workload in `namespace` of Kubernetes cluster `cluster`; first claim of a domain wins."""
    hosts: list[SidecarHost] = []
    claimed: set[str] = set()

    def add(name: str, domains: list[str], targets: list[Target], options: Policy, owner_ns: str,
            route_name: str) -> None:
        free = [d for d in domains if d.lower() not in claimed]
        if not free or not targets:
            return
        claimed.update(d.lower() for d in free)
        hosts.append(_host(name, free, targets, options, owner_ns, ctx, route_name))

    services = sorted(index.services.values(), key=lambda s: (s.cluster != cluster, s.key))
    for svc in services:
        local = svc.cluster == cluster
        domains = [f"{svc.name}.{svc.namespace}.svc.{svc.cluster}.global"]
        if local:
            domains = [f"{svc.name}.{svc.namespace}.svc.cluster.local", f"{svc.name}.{svc.namespace}.svc",
                       f"{svc.name}.{svc.namespace}"] + ([svc.name] if svc.namespace == namespace else []) + domains
        options = _merged_options(_service_policies(index, svc))
        own = WeightedDestination(kube_service=KubeServiceDestination(name=svc.name, namespace=svc.namespace,
                                                                       cluster_name=svc.cluster))
        shift = index.traffic_shift(svc) if local else None
        if shift is not None:
            policy, destinations = shift
            targets = destination_targets(destinations, policy.namespace, ctx)
            route_name = f"{policy.ref}#trafficShift"
        else:
            targets = destination_targets([own], svc.namespace, ctx)
            route_name = f"Service/{svc.namespace}/{svc.name}@{svc.cluster}"
        add(f"{svc.namespace}/{svc.name}@{svc.cluster}", domains, targets, options, svc.namespace, route_name)

    for vd in sorted(index.snapshot.typed(VirtualDestination), key=lambda v: (v.namespace, v.name)):
        host = vd.spec.hostname or f"{vd.name}.{vd.namespace}"
        dest = WeightedDestination(virtual_destination=VirtualDestinationRef(name=vd.name, namespace=vd.namespace))
        targets = destination_targets([dest], vd.namespace, ctx)
        options = _merged_options(_ref_policies(index, "VirtualDestination", vd.namespace, vd.name))
        add(f"{vd.namespace}/{vd.name}", [host], targets, options, vd.namespace, vd.ref)

    from ..model.v2.external_services import external_service_addresses

    refused = external_service_addresses(index.snapshot)  # V4: an address conflict's loser is not translated
    for es in sorted(index.snapshot.typed(ExternalService), key=lambda e: (e.namespace, e.name)):
        if refused.is_refused(es):
            continue
        backend: Backend = index.backend_for_external_service(es)
        domains = list(es.spec.hosts) or [backend.hostname]
        options = _merged_options(_ref_policies(index, "ExternalService", es.namespace, es.name))
        add(f"{es.namespace}/{es.name}", domains, [Target(ctx.add_cluster(backend))], options, es.namespace, es.ref)
    return hosts
