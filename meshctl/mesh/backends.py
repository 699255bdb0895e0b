"""What a destination resolves to: backends, their endpoints and localities, and the names clusters get.

The data types the mesh index builds and the sandbox and xDS translator read; kept apart from the index so the
resolution of Gloo v2 destinations (v2_backends.py) can build them without importing the index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from ..model.common import OutlierDetection

if TYPE_CHECKING:  # a v2 FailoverPolicy's plan is built from these types (v2_failover.py imports this module)
    from .v2_failover import FailoverPlan

REGION_LABEL = "topology.kubernetes.io/region"
ZONE_LABEL = "topology.kubernetes.io/zone"
SUBZONE_LABEL = "topology.istio.io/subzone"
DEFAULT_CLUSTER = "default"


@dataclass(frozen=True)
class Locality:
    region: str = ""
    zone: str = ""
    sub_zone: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.region, self.zone, self.sub_zone) if p) or "(unknown)"

    @classmethod
    def parse(cls, text: str | None) -> "Locality | None":
        """"REGION[/ZONE[/SUBZONE]]" as typed by the operator."""
        if not text:
            return None
        parts = text.strip().split("/")
        if not parts[0] or len(parts) > 3 or any(not p for p in parts):
            raise ValueError(f"locality must be REGION[/ZONE[/SUBZONE]], got {text!r}")
        return cls(*parts)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Endpoint:
    cluster: str
    address: str
    port: int
    labels: tuple[tuple[str, str], ...]
    locality: Locality
    healthy: bool = True
    instance: str = ""  # pod or workload name, for display

    @property
    def label_dict(self) -> dict[str, str]:
        return dict(self.labels)

    def to_dict(self) -> dict[str, object]:
        return {"cluster": self.cluster, "address": self.address, "port": self.port,
                "labels": dict(self.labels), "locality": str(self.locality), "healthy": self.healthy,
                "instance": self.instance}


@dataclass
class ServiceInstance:
    """One Kubernetes service in one cluster."""

    cluster: str
    namespace: str
    name: str
    labels: dict[str, str]
    ports: list[tuple[str, int, str]]  # (name, port, protocol)
    endpoints: list[Endpoint] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.cluster, self.namespace, self.name)

    def port(self, wanted: int | None = None, name: str | None = None) -> int | None:
        if wanted:
            return wanted
        if name:
            for n, p, _ in self.ports:
                if n == name:
                    return p
            return None
        return self.ports[0][1] if len(self.ports) == 1 else None


@dataclass
class Backend:
    """Where one destination of a route really goes."""

    kind: str  # kubeService | virtualDestination | externalService | unresolved
    display: str
    envoy_cluster: str
    port: int | None
    endpoints: list[Endpoint]
    hostname: str = ""
    outlier_detection: OutlierDetection | None = None
    failover_regions: dict[str, list[str]] = field(default_factory=dict)  # client region -> ordered regions
    problems: list[str] = field(default_factory=list)
    dns_hosts: list[str] = field(default_factory=list)  # external hosts without endpoints: resolve by DNS
    failover_plan: FailoverPlan | None = None  # from a Gloo v2 FailoverPolicy (meshctl/mesh/v2_resilience.py)

    def priorities(self, client: Locality | None) -> list[list[Endpoint]]:
        if self.failover_plan is not None:
            return self.failover_plan.priorities(self.endpoints, client)
        return locality_priorities(self.endpoints, client, self.failover_regions)

    def to_dict(self, client: Locality | None = None) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "name": self.display, "envoyCluster": self.envoy_cluster,
                                  "port": self.port}
        if self.hostname:
            out["hostname"] = self.hostname
        out["priorities"] = [
            {"priority": i, "endpoints": [e.to_dict() for e in group]}
            for i, group in enumerate(self.priorities(client))
        ]
        if self.failover_plan is not None:
            out["failoverPolicy"] = self.failover_plan.policy
            weights = {str(e.locality): w for group in self.priorities(client) for e in group
                       if (w := self.failover_plan.locality_weight(client, e.locality)) is not None}
            if weights:
                out["localityWeights"] = weights
        if self.problems:
            out["problems"] = list(self.problems)
        return out


def locality_priorities(endpoints: Iterable[Endpoint], client: Locality | None,
                        failover: dict[str, list[str]] | None = None) -> list[list[Endpoint]]:
    """P0 same region and zone, P1 same region, then regions named in failover directives for the client's
    region (in order), then everything else. Empty levels are dropped, as Envoy needs contiguous priorities."""
    eps = list(endpoints)
    if client is None or not client.region:
        return [eps] if eps else []
    order = (failover or {}).get(client.region, [])

    def level(e: Endpoint) -> int:
        if e.locality.region == client.region:
            return 0 if (client.zone and e.locality.zone == client.zone) else 1
        if e.locality.region in order:
            return 2 + order.index(e.locality.region)
        return 2 + len(order)

    levels: dict[int, list[Endpoint]] = {}
    for e in eps:
        levels.setdefault(level(e), []).append(e)
    return [levels[k] for k in sorted(levels)]


def subset_name(subset: dict[str, str] | None) -> str:
    return "-".join(f"{k}-{v}" for k, v in sorted((subset or {}).items()))


def kube_cluster_name(cluster: str, namespace: str, name: str, port: int | None, subset: dict[str, str] | None) -> str:
    """Istio-style cluster name, with the Kubernetes cluster in the host so clusters stay distinct."""
    return f"outbound|{port or 0}|{subset_name(subset)}|{name}.{namespace}.svc.{cluster or DEFAULT_CLUSTER}"
