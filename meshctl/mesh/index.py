"""Where traffic can go: services and endpoints per cluster with localities, and how destinations resolve.

Built from discovery objects (meshctl Cluster, Kubernetes Service/Endpoints/EndpointSlice/Pod/Node with the
`meshctl.io/cluster` annotation) and Gloo ExternalService/ExternalEndpoint/VirtualDestination/TrafficPolicy.
Pure core: the sandbox and the xDS translator both resolve backends here, so they agree.
"""

from __future__ import annotations

from ..model.common import (
    DestinationSelector,
    KubeServiceDestination,
    OutlierDetection,
    VirtualDestinationRef,
    WeightedDestination,
)
from ..model.resources import (
    Cluster,
    Endpoints,
    EndpointSlice,
    ExternalEndpoint,
    ExternalService,
    Node,
    Pod,
    Service,
    TrafficPolicy,
    VirtualDestination,
)
from ..model.selection import labels_match
from ..model.snapshot import Snapshot
from ..model.v2.resources import VirtualDestinationV2
from .backends import (
    DEFAULT_CLUSTER,
    REGION_LABEL,
    SUBZONE_LABEL,
    ZONE_LABEL,
    Backend,
    Endpoint,
    Locality,
    ServiceInstance,
    kube_cluster_name,
    locality_priorities,
    subset_name,
)
from .v2_backends import resolve_v2, virtual_destination_backend
from .v2_resilience import apply_resilience

__all__ = [
    "Backend",
    "DEFAULT_CLUSTER",
    "Endpoint",
    "Locality",
    "MeshIndex",
    "REGION_LABEL",
    "SUBZONE_LABEL",
    "ServiceInstance",
    "ZONE_LABEL",
    "kube_cluster_name",
    "locality_priorities",
    "subset_name",
]


class MeshIndex:
    """Services, endpoints and localities of every cluster, and destination resolution."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.cluster_localities: dict[str, Locality] = {}
        self.services: dict[tuple[str, str, str], ServiceInstance] = {}
        self._from_cluster_kind(snapshot)
        self._from_kubernetes(snapshot)

    # -- building -------------------------------------------------------------------------------
    def _from_cluster_kind(self, snapshot: Snapshot) -> None:
        for c in snapshot.typed(Cluster):
            loc = c.spec.locality
            default = Locality(loc.region, loc.zone, loc.sub_zone) if loc else Locality()
            self.cluster_localities[c.name] = default
            for svc in c.spec.services:
                ns = svc.namespace or "default"
                ports = [(p.name, p.port, p.protocol) for p in svc.ports]
                inst = ServiceInstance(c.name, ns, svc.name, dict(svc.labels), ports)
                for e in svc.endpoints:
                    el = e.locality
                    locality = Locality(
                        (el.region if el and el.region else default.region),
                        (el.zone if el and el.zone else default.zone),
                        (el.sub_zone if el and el.sub_zone else default.sub_zone),
                    )
                    port = e.port or (ports[0][1] if ports else 0)
                    inst.endpoints.append(Endpoint(c.name, e.address, port, tuple(sorted(e.labels.items())),
                                                   locality, e.healthy, e.labels.get("instance", e.address)))
                self.services[inst.key] = inst

    def _from_kubernetes(self, snapshot: Snapshot) -> None:
        def cluster_of(r: object) -> str:
            return getattr(r, "cluster", "") or DEFAULT_CLUSTER

        nodes = {(cluster_of(n), n.name): n for n in snapshot.typed(Node)}
        pods = {(cluster_of(p), p.namespace, p.name): p for p in snapshot.typed(Pod)}
        pods_by_ip = {(cluster_of(p), p.status.pod_ip): p for p in snapshot.typed(Pod) if p.status.pod_ip}

        def node_locality(cluster: str, node_name: str | None, zone_hint: str | None = None) -> Locality:
            node = nodes.get((cluster, node_name or ""))
            base = self.cluster_localities.get(cluster, Locality())
            if node is not None:
                labels = node.labels
                return Locality(labels.get(REGION_LABEL, base.region), labels.get(ZONE_LABEL, zone_hint or base.zone),
                                labels.get(SUBZONE_LABEL, base.sub_zone))
            return Locality(base.region, zone_hint or base.zone, base.sub_zone)

        for svc in snapshot.typed(Service):
            cluster = cluster_of(svc)
            ports = [(p.name, p.port, p.protocol) for p in svc.spec.ports]
            inst = ServiceInstance(cluster, svc.namespace, svc.name, dict(svc.labels), ports)
            self.services.setdefault(inst.key, inst)
            for n in (n for (c, _), n in nodes.items() if c == cluster):
                if cluster not in self.cluster_localities and REGION_LABEL in n.labels:
                    self.cluster_localities[cluster] = Locality(n.labels.get(REGION_LABEL, ""))

        for ep in snapshot.typed(Endpoints):
            cluster = cluster_of(ep)
            inst = self.services.get((cluster, ep.namespace, ep.name))
            if inst is None:
                continue
            for subset in ep.subsets:
                port = subset.ports[0].port if subset.ports else (inst.ports[0][1] if inst.ports else 0)
                for ready, addresses in ((True, subset.addresses), (False, subset.not_ready_addresses)):
                    for a in addresses:
                        pod = None
                        if a.target_ref is not None and a.target_ref.kind == "Pod":
                            pod = pods.get((cluster, a.target_ref.namespace or ep.namespace, a.target_ref.name))
                        pod = pod or pods_by_ip.get((cluster, a.ip))
                        labels = pod.labels if pod is not None else {}
                        node_name = a.node_name or (pod.spec.node_name if pod is not None else None)
                        inst.endpoints.append(Endpoint(cluster, a.ip, port, tuple(sorted(labels.items())),
                                                       node_locality(cluster, node_name), ready,
                                                       pod.name if pod is not None else a.ip))

        for es in snapshot.typed(EndpointSlice):
            cluster = cluster_of(es)
            svc_name = es.labels.get("kubernetes.io/service-name", "")
            inst = self.services.get((cluster, es.namespace, svc_name))
            if inst is None:
                continue
            known = {e.address for e in inst.endpoints}
            port = es.ports[0].port if es.ports else (inst.ports[0][1] if inst.ports else 0)
            for se in es.endpoints:
                ready = se.conditions.ready if se.conditions and se.conditions.ready is not None else True
                for addr in se.addresses:
                    if addr in known:
                        continue  # Endpoints and EndpointSlice describe the same pods
                    pod = None
                    if se.target_ref is not None:
                        pod = pods.get((cluster, se.target_ref.namespace or es.namespace, se.target_ref.name))
                    pod = pod or pods_by_ip.get((cluster, addr))
                    labels = pod.labels if pod is not None else {}
                    node_name = se.node_name or (pod.spec.node_name if pod is not None else None)
                    inst.endpoints.append(Endpoint(cluster, addr, port, tuple(sorted(labels.items())),
                                                   node_locality(cluster, node_name, se.zone), ready,
                                                   pod.name if pod is not None else addr))

    # -- lookups --------------------------------------------------------------------------------
    def clusters(self) -> list[str]:
        return sorted({k[0] for k in self.services} | set(self.cluster_localities))

    def workload_locality(self, namespace: str, name: str, cluster: str) -> Locality | None:
        """Where the workload behind Service NAME runs: its first endpoint's locality, else its cluster's."""
        for svc in self.find_services(namespace, name, cluster or None):
            if svc.endpoints:
                return svc.endpoints[0].locality
        located = self.cluster_localities.get(cluster)
        return located if located is not None and str(located) != "(unknown)" else None

    def find_services(self, namespace: str, name: str, cluster: str | None = None) -> list[ServiceInstance]:
        return [s for k, s in sorted(self.services.items())
                if k[1] == namespace and k[2] == name and (not cluster or k[0] == cluster)]

    def select_services(self, selectors: list[DestinationSelector], owner_namespace: str) -> list[ServiceInstance]:
        out: list[ServiceInstance] = []
        for sel in selectors:
            if sel.kube_service_matcher is not None:
                m = sel.kube_service_matcher
                for s in self.services.values():
                    if m.namespaces and s.namespace not in m.namespaces:
                        continue
                    if m.clusters and s.cluster not in m.clusters:
                        continue
                    if labels_match(m.labels, s.labels) and s not in out:
                        out.append(s)
            if sel.kube_service_refs is not None:
                for ref in sel.kube_service_refs.services:
                    for s in self.find_services(ref.namespace or owner_namespace, ref.name, ref.cluster_name or None):
                        if s not in out:
                            out.append(s)
        out.sort(key=lambda s: s.key)
        return out

    # -- resolution -----------------------------------------------------------------------------
    def resolve(self, dest: WeightedDestination, owner_namespace: str = "") -> Backend:
        if hasattr(dest, "v2_kind"):  # a Gloo v2 destination (meshctl/routing/v2_convert.py)
            hit = resolve_v2(self, dest, owner_namespace)
            if hit is not None:
                return hit
        if dest.kube_service is not None:
            return self.resolve_kube(dest.kube_service, owner_namespace)
        if dest.virtual_destination is not None:
            return self.resolve_virtual_destination(dest.virtual_destination, owner_namespace)
        if dest.static_destination is not None:
            ref = dest.static_destination
            return Backend("unresolved", f"staticDestination {ref.namespace}/{ref.name}",
                           f"static|{ref.namespace}|{ref.name}", None, [],
                           problems=["static destinations refer to discovery Destination objects, "
                                     "which meshctl does not load"])
        return Backend("unresolved", "clusterHeader", "cluster_header", None, [],
                       problems=["clusterHeader destinations pick the cluster at request time"])

    def resolve_kube(self, k: KubeServiceDestination, owner_namespace: str = "") -> Backend:
        ns = k.namespace or owner_namespace
        display = f"{ns}/{k.name}" + (f"@{k.cluster_name}" if k.cluster_name else "")
        found = self.find_services(ns, k.name, k.cluster_name or None)
        problems: list[str] = []
        if not found:
            where = f" in cluster {k.cluster_name}" if k.cluster_name else ""
            return Backend("kubeService", display, kube_cluster_name(k.cluster_name, ns, k.name, k.port, k.subset),
                           k.port, [], problems=[f"service {ns}/{k.name}{where} not found in discovery"])
        if len(found) > 1:
            problems.append(f"service {ns}/{k.name} exists in {len(found)} clusters and no clusterName is given; "
                            f"using {found[0].cluster}")
        svc = found[0]
        port = svc.port(k.port)
        if port is None:
            problems.append(f"service {ns}/{k.name} has {len(svc.ports)} ports; the destination must name one")
        endpoints = [e for e in svc.endpoints if labels_match(k.subset, e.label_dict)]
        if svc.endpoints and not endpoints and k.subset:
            problems.append(f"no endpoint of {ns}/{k.name} has labels {k.subset}")
        outlier = self._traffic_policy_outlier(svc)
        return Backend("kubeService", display, kube_cluster_name(svc.cluster, ns, k.name, port, k.subset), port,
                       endpoints, f"{k.name}.{ns}.svc.cluster.local", outlier, problems=problems)

    def virtual_destination(self, ref: VirtualDestinationRef | None, namespace: str, name: str = "") -> VirtualDestination | None:
        if ref is not None:
            namespace, name = ref.namespace or namespace, ref.name
        vd = self.snapshot.get("VirtualDestination", namespace, name)
        return vd if isinstance(vd, VirtualDestination) else None

    def resolve_virtual_destination(self, ref: VirtualDestinationRef, owner_namespace: str = "") -> Backend:
        ns = ref.namespace or owner_namespace
        vd = self.virtual_destination(ref, owner_namespace)
        if vd is None and self.snapshot.get("VirtualDestination", ns, ref.name) is not None:
            # a v1 reference (e.g. a TrafficPolicy shift) to a Gloo v2 VirtualDestination of that name
            v2 = self.snapshot.get("VirtualDestination", ns, ref.name)
            if isinstance(v2, VirtualDestinationV2):
                return virtual_destination_backend(self, v2, None, None, ref.subset or {})
        if vd is None:
            return Backend("virtualDestination", f"{ns}/{ref.name}", f"outbound|0||{ref.name}.{ns}.vd", None, [],
                           problems=[f"VirtualDestination {ns}/{ref.name} not found"])
        return self.backend_for_virtual_destination(vd, ref.subset)

    def backend_for_virtual_destination(self, vd: VirtualDestination, subset: dict[str, str] | None = None) -> Backend:
        spec = vd.spec
        port = spec.port.number if spec.port else None
        problems: list[str] = []
        services: list[ServiceInstance] = []
        failover: dict[str, list[str]] = {}
        outlier = None
        if spec.localized is not None:
            services = self.select_services(spec.localized.destination_selectors, vd.namespace)
            outlier = spec.localized.outlier_detection
            for d in spec.localized.failover_directives:
                if d.from_ is not None and d.from_.region:
                    failover[d.from_.region] = [t.region for t in d.to if t.region]
        elif spec.static is not None:
            for b in spec.static.destinations:
                if b.kube_service is not None:
                    services += self.find_services(b.kube_service.namespace or vd.namespace, b.kube_service.name,
                                                   b.kube_service.cluster_name or None)
        if not services:
            problems.append("selects no backing service")
        endpoints: list[Endpoint] = []
        for s in services:
            target = spec.port.target_number if spec.port and spec.port.target_number else None
            target_name = spec.port.target_name if spec.port else None
            svc_port = s.port(target, target_name) or (port if any(p == port for _, p, _ in s.ports) else s.port())
            for e in s.endpoints:
                if labels_match(subset or {}, e.label_dict):
                    endpoints.append(Endpoint(e.cluster, e.address, e.port if e.port else (svc_port or 0),
                                              e.labels, e.locality, e.healthy, e.instance))
        outlier = outlier or self._traffic_policy_outlier_for_vd(vd)
        host = spec.hostname or f"{vd.name}.{vd.namespace}"
        return Backend("virtualDestination", f"{vd.namespace}/{vd.name}",
                       f"outbound|{port or 0}|{subset_name(subset)}|{host}", port, endpoints, host, outlier,
                       failover, problems)

    def backend_for_external_service(self, es: ExternalService) -> Backend:
        port = es.spec.ports[0].number if es.spec.ports else None
        endpoints: list[Endpoint] = []
        if es.spec.selector:
            for ee in self.snapshot.typed(ExternalEndpoint):
                if ee.namespace != es.namespace or not labels_match(es.spec.selector, ee.labels):
                    continue
                loc = ee.spec.locality
                ee_port = ee.spec.ports[0].number if ee.spec.ports else (port or 0)
                endpoints.append(Endpoint("external", ee.spec.address, ee_port, tuple(sorted(ee.labels.items())),
                                          Locality(loc.region, loc.zone, loc.sub_zone) if loc else Locality(),
                                          True, ee.name))
        host = es.spec.hosts[0] if es.spec.hosts else (es.spec.addresses[0] if es.spec.addresses else es.name)
        outlier = None
        for tp in self.snapshot.typed(TrafficPolicy):
            if tp.spec.policy and tp.spec.policy.outlier_detection:
                for sel in tp.spec.destination_selector:
                    refs = sel.external_service_refs.external_services if sel.external_service_refs else []
                    if any(r.name == es.name and (r.namespace or tp.namespace) == es.namespace for r in refs):
                        outlier = tp.spec.policy.outlier_detection
        backend = Backend("externalService", f"{es.namespace}/{es.name}", f"outbound|{port or 0}||{host}", port,
                          endpoints, host, outlier, dns_hosts=[] if endpoints else list(es.spec.hosts))
        apply_resilience(self, backend, "EXTERNAL_SERVICE", es, port)
        return backend

    def _traffic_policy_outlier(self, svc: ServiceInstance) -> OutlierDetection | None:
        for tp in self.snapshot.typed(TrafficPolicy):
            if tp.spec.policy and tp.spec.policy.outlier_detection:
                if svc in self.select_services(tp.spec.destination_selector, tp.namespace):
                    return tp.spec.policy.outlier_detection
        return None

    def _traffic_policy_outlier_for_vd(self, vd: VirtualDestination) -> OutlierDetection | None:
        for tp in self.snapshot.typed(TrafficPolicy):
            if not (tp.spec.policy and tp.spec.policy.outlier_detection):
                continue
            for sel in tp.spec.destination_selector:
                refs = sel.virtual_destination_refs.virtual_destinations if sel.virtual_destination_refs else []
                if any(r.name == vd.name and (r.namespace or tp.namespace) == vd.namespace for r in refs):
                    return tp.spec.policy.outlier_detection
        return None

    def traffic_shift(self, svc: ServiceInstance) -> tuple[TrafficPolicy, list[WeightedDestination]] | None:
        """East-west: a TrafficPolicy that sends traffic for `svc` elsewhere (the 002 guide's failover shift)."""
        for tp in sorted(self.snapshot.typed(TrafficPolicy), key=lambda t: (t.metadata.creation_timestamp, t.name)):
            shift = tp.spec.policy.traffic_shift if tp.spec.policy else None
            if shift and shift.destinations and svc in self.select_services(tp.spec.destination_selector, tp.namespace):
                return tp, shift.destinations
        return None
