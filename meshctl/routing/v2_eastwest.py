"""East-west: the v2 RouteTables a workload's sidecar gets (E1-E5) and the routes it serves, as a routing view with
one pseudo-gateway, so `routes`, `test-route`, the sandbox and the xDS translation read it like a gateway's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model.findings import Severity
from ..model.resources import ObjectMeta, Pod, Service
from ..model.snapshot import Snapshot
from ..model.v2.resources import RouteTableV2, VirtualGatewayV2, WorkloadSelectorV2
from .types import GatewayView, RoutingView, TableNode
from .v2_convert import V2Delegate
from .v2_engine import V2RouteEngine, root_order

SIDECAR_KIND = "Sidecar"
KUBERNETES_ROUTING = "plain Kubernetes service routing applies"


class WorkloadError(ValueError):
    """A --workload that names nothing known (the message says what is known)."""


@dataclass(frozen=True)
class Workload:
    """The workload behind Service NAME in NAMESPACE (of CLUSTER), with the labels of its pods."""

    namespace: str
    name: str
    cluster: str = ""
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def display(self) -> str:
        return f"{self.namespace}/{self.name}" + (f"@{self.cluster}" if self.cluster else "")


def parse_workload(text: str) -> tuple[str, str, str]:
    """NS/NAME[@CLUSTER] → (namespace, name, cluster)."""
    where, _, cluster = text.partition("@")
    namespace, sep, name = where.partition("/")
    if not sep or not namespace or not name:
        raise WorkloadError(f"workload must be NS/NAME[@CLUSTER], got {text!r}")
    return namespace, name, cluster


def find_workload(snapshot: Snapshot, text: str) -> Workload:
    """Workload labels from the discovery objects: the Service's selector, the labels of the pods it selects, or
    the labels of its endpoints in a meshctl Cluster object."""
    namespace, name, cluster = parse_workload(text)
    labels: dict[str, str] = {}
    found_cluster: str | None = None
    for svc in snapshot.of_kind("Service"):
        if isinstance(svc, Service) and svc.namespace == namespace and svc.name == name and \
                (not cluster or svc.cluster == cluster):
            found_cluster = svc.cluster
            labels.update(svc.spec.selector)
            for pod in snapshot.of_kind("Pod"):
                if isinstance(pod, Pod) and pod.namespace == namespace and pod.cluster == svc.cluster and \
                        svc.spec.selector and all(pod.labels.get(k) == v for k, v in svc.spec.selector.items()):
                    labels.update(pod.labels)
                    break
            break
    if found_cluster is None:
        for c in snapshot.of_kind("Cluster"):
            if cluster and c.name != cluster:
                continue
            for s in getattr(getattr(c, "spec", None), "services", []):
                if s.namespace == namespace and s.name == name:
                    found_cluster = c.name
                    labels.update(s.labels)
                    for e in s.endpoints[:1]:
                        labels.update(e.labels)
                    break
            if found_cluster is not None:
                break
    if found_cluster is None:
        raise WorkloadError(f"no Service {namespace}/{name}" + (f" in cluster {cluster}" if cluster else "") +
                            " in the discovery objects (Services, Pods, meshctl Cluster objects)")
    return Workload(namespace, name, cluster or found_cluster, labels)


def selector_matches_workload(selectors: list[WorkloadSelectorV2], labels: dict[str, str]) -> bool:
    """E3/E4: any selector; an entry `{}` (no selector at all) or `{selector: {}}` selects every workload (E3's
    `[{}]`, our decision for the first); labels only (VMs unsupported)."""
    for s in selectors:
        if s.kind != "KUBE":
            continue
        if s.selector is None:
            return True
        if all(labels.get(k) == v for k, v in s.selector.labels.items()):
            return True
    return False


def applies_to_sidecar(table: RouteTableV2, labels: dict[str, str]) -> bool:
    """E1 (no gateways, no selectors: every sidecar), E2 (gateways only: no sidecar), E3/E4 (selectors)."""
    if not table.spec.workload_selectors:
        return not table.spec.virtual_gateways
    return selector_matches_workload(table.spec.workload_selectors, labels)


class SidecarEngine(V2RouteEngine):
    """The v2 engine answering for one sidecar: root tables chosen by E1-E4 (visible in the workload's
    workspace, X6), children filtered by their own workloadSelectors, ANDed with the root's (E5)."""

    def __init__(self, snapshot: Snapshot, workload: Workload) -> None:
        super().__init__(snapshot)
        self.workload = workload
        self._root_selectors: list[WorkloadSelectorV2] = []

    def pseudo_gateway(self) -> VirtualGatewayV2:
        w = self.workload
        return VirtualGatewayV2(api_version="meshctl.io/v1alpha1", kind=SIDECAR_KIND,
                                metadata=ObjectMeta(name=w.name, namespace=w.namespace))

    def build_sidecar(self) -> GatewayView:
        w = self.workload
        where = self.workspaces.owner_at(w.cluster, w.namespace)
        self._translating = where
        self.listener_port = None
        sidecar = self.pseudo_gateway()
        by_host: dict[str, list[RouteTableV2]] = {}
        roots = sorted((t for t in self.tables if t.spec.hosts), key=root_order)
        for table in roots:
            if where is None or not applies_to_sidecar(table, w.labels):
                continue
            if not self.workspaces.visible(table, where):
                continue  # E1/E3: only where the table is visible (owned or imported)
            for host in table.spec.hosts:
                by_host.setdefault(host.lower(), []).append(table)
        views = []
        for host, tables in by_host.items():
            self._listener_key = ("sidecar", w.namespace, w.name, w.cluster)
            self._root_selectors = list(tables[0].spec.workload_selectors)
            views.append(self._host_view(sidecar, 0, host, tables))
        from .shadow import analyse_shadowing

        for view in views:
            self.diags.items.extend(analyse_shadowing(view))
        return GatewayView(sidecar, views, None, None, None)  # a v2 gateway, as in v2_engine

    def _v2_delegate_tables(self, owner: Any, delegate: V2Delegate, dpath: tuple[Any, ...]) -> list[TableNode]:
        nodes = super()._v2_delegate_tables(owner, delegate, dpath)
        kept = []
        for node in nodes:
            child = node.table
            assert isinstance(child, RouteTableV2)
            own = child.spec.workload_selectors
            conflict = self._selector_conflict(own)
            if conflict:
                self.diags.add(child, Severity.ERROR, "workload-selector-conflict",
                               f"workloadSelectors set {conflict} differently from the parent's (E5): the child's "
                               "routes are left out of this sidecar", ("spec", "workloadSelectors"))
                continue
            if own and not selector_matches_workload(own, self.workload.labels):
                continue  # E5: inherited selectors ANDed with the child's own
            kept.append(node)
        return kept

    def _selector_conflict(self, own: list[WorkloadSelectorV2]) -> str | None:
        parent = [s.selector.labels for s in self._root_selectors if s.selector is not None]
        for s in own:
            if s.selector is None:
                continue  # `{}`: adds no constraint
            for key, value in s.selector.labels.items():
                if parent and all(key in p and p[key] != value for p in parent):
                    return f"label {key}={value}"
        return None


def sidecar_view(snapshot: Snapshot, workload: Workload) -> RoutingView:
    engine = SidecarEngine(snapshot, workload)
    gateway = engine.build_sidecar()
    from .v2_policies import attach_route_policies

    attach_route_policies(snapshot, engine.workspaces, gateway.virtual_hosts, engine.diags)
    return RoutingView([gateway], list(engine.diags.items))


def kubernetes_routing_note(workload: Workload, host: str | None = None) -> str:
    """What a sidecar does where no Gloo RouteTable applies: the mesh's plain Kubernetes service routing."""
    what = f"for host {host}" if host else "for any host"
    return f"no Gloo route {what} on the sidecar of {workload.display}: {KUBERNETES_ROUTING}"


def serves_host(view: RoutingView, host: str) -> bool:
    """Whether the sidecar has a Gloo virtual host for this authority (port stripped, as the listener does)."""
    name = host.rsplit(":", 1)[0].lower() if host.count(":") == 1 else host.lower()
    from .v2_binding import dns_matches

    return any(dns_matches(vh.name, name) for g in view.gateways for vh in g.virtual_hosts)
