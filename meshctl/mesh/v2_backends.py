"""Where a Gloo v2 destination goes: Services (port by number or name), v2 VirtualDestinations (a cluster per
port, backed by the Services its selectors pick) and ExternalServices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..model.common import KubeServiceDestination
from ..model.resources import ExternalService
from ..model.selection import labels_match
from ..model.v2.resources import ObjectSelectorV2, VirtualDestinationV2
from .backends import Backend, Endpoint, ServiceInstance, subset_name
from .v2_resilience import apply_resilience

if TYPE_CHECKING:  # the index calls in here; at run time this module only needs the data types
    from .index import MeshIndex


def resolve_v2(index: "MeshIndex", dest: Any, owner_namespace: str) -> Backend | None:
    """The backend of a v2 destination, or None when the v1beta1 resolution applies as it is."""
    if dest.external_service is not None:
        ref = dest.external_service
        es = index.snapshot.get("ExternalService", ref.namespace or owner_namespace, ref.name)
        if not isinstance(es, ExternalService):
            return Backend("externalService", f"{ref.namespace}/{ref.name}", f"outbound|0||{ref.name}.es", None, [],
                           problems=[f"ExternalService {ref.namespace}/{ref.name} not found"])
        from ..model.v2.external_services import external_service_addresses

        if external_service_addresses(index.snapshot).is_refused(es):  # V4: the newer of two same addresses
            return Backend("externalService", f"{es.namespace}/{es.name}", f"outbound|0||{es.name}.es", None, [],
                           problems=[f"ExternalService {es.namespace}/{es.name} is refused (address conflict)"])
        return index.backend_for_external_service(es)
    if dest.virtual_destination is not None:
        v = dest.virtual_destination
        vd = index.snapshot.get("VirtualDestination", v.namespace or owner_namespace, v.name)
        if isinstance(vd, VirtualDestinationV2):
            return virtual_destination_backend(index, vd, dest.v2_port, dest.v2_port_name, v.subset)
        return None
    k = dest.kube_service
    if k is not None and k.port is None and dest.v2_port_name:
        found = index.find_services(k.namespace or owner_namespace, k.name, k.cluster_name or None)
        number = found[0].port(name=dest.v2_port_name) if found else None
        if number:
            return index.resolve_kube(KubeServiceDestination(name=k.name, namespace=k.namespace,
                                                             cluster_name=k.cluster_name, subset=k.subset,
                                                             port=number), owner_namespace)
    return None


def _selected(index: "MeshIndex", selectors: list[ObjectSelectorV2]) -> list[ServiceInstance]:
    out: list[ServiceInstance] = []
    for sel in selectors:
        for s in index.services.values():
            if sel.name and s.name != sel.name or sel.namespace and s.namespace != sel.namespace:
                continue
            if sel.cluster and s.cluster != sel.cluster:
                continue
            if labels_match(sel.labels, s.labels) and s not in out:
                out.append(s)
    out.sort(key=lambda s: s.key)
    return out


def virtual_destination_backend(index: "MeshIndex", vd: VirtualDestinationV2, number: int | None,
                                port_name: str | None, subset: dict[str, str]) -> "Backend":
    ports = vd.spec.ports
    problems: list[str] = []
    mapping = next((p for p in ports if number is not None and p.number == number), None)
    if mapping is None and number is None and len(ports) == 1:
        mapping = ports[0]  # R15: the only port
    if mapping is None:
        problems.append(f"VirtualDestination {vd.namespace}/{vd.name} has no port "
                        f"{number if number is not None else port_name or '(none named; it has several)'}")
    port = mapping.number if mapping else number
    host = vd.spec.hosts[0] if vd.spec.hosts else f"{vd.name}.{vd.namespace}"
    services = _selected(index, vd.spec.services)
    if not services and not vd.spec.external_services:
        problems.append("selects no backing service")
    endpoints: list[Endpoint] = []
    for s in services:
        target = mapping.target_port if mapping else None
        svc_port = s.port(target.number if target and target.number else None, target.name if target else None) \
            or (port if any(p == port for _, p, _ in s.ports) else s.port())
        for e in s.endpoints:
            if labels_match(subset or {}, e.label_dict):
                endpoints.append(Endpoint(e.cluster, e.address, e.port if e.port else (svc_port or 0),
                                          e.labels, e.locality, e.healthy, e.instance))
    for sel in vd.spec.external_services:
        for es in index.snapshot.of_kind("ExternalService"):
            if isinstance(es, ExternalService) and (not sel.name or es.name == sel.name) and \
                    (not sel.namespace or es.namespace == sel.namespace) and labels_match(sel.labels, es.labels):
                endpoints.extend(index.backend_for_external_service(es).endpoints)
    backend = Backend("virtualDestination", f"{vd.namespace}/{vd.name}",
                      f"outbound|{port or 0}|{subset_name(subset)}|{host}", port, endpoints, host, problems=problems)
    apply_resilience(index, backend, "VIRTUAL_DESTINATION", vd, port)
    return backend
