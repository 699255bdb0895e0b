"""Failover targets: what an operator names (`cluster:`, `locality:`, `service:`) and the endpoints it means.

    cluster:cluster-1
    locality:us-east-1            locality:us-east-1/us-east-1a
    service:bookinfo/reviews      service:bookinfo/reviews@cluster-1,version=v1
    service:bookinfo/database@db-dallas        (an ExternalService; @ names the ExternalEndpoint)

Resolution is pure: a MeshIndex in, endpoints out, so the same target works for the demo apps and for EDS
health overrides against any configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..mesh.index import Endpoint, Locality, MeshIndex
from ..model.resources import ExternalService
from .eds_health import EndpointRef

KINDS = ("cluster", "locality", "service")
EXAMPLES = "cluster:NAME, locality:REGION[/ZONE], service:NAMESPACE/NAME[@CLUSTER][,LABEL=VALUE]"


class TargetError(ValueError):
    """The target text is malformed."""


@dataclass(frozen=True)
class Target:
    """A parsed target."""

    kind: str
    cluster: str = ""
    locality: Locality | None = None
    namespace: str = ""
    name: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> "Target":
        raw = (text or "").strip()
        kind, sep, rest = raw.partition(":")
        if not sep or kind not in KINDS or not rest:
            raise TargetError(f"target must be one of {EXAMPLES}; got {text!r}")
        if kind == "cluster":
            if "/" in rest or "," in rest:
                raise TargetError(f"cluster:NAME takes one cluster name, got {rest!r}")
            return cls("cluster", cluster=rest, text=raw)
        if kind == "locality":
            try:
                return cls("locality", locality=Locality.parse(rest), text=raw)
            except ValueError as err:
                raise TargetError(str(err)) from None
        head, *label_parts = rest.split(",")
        service, _, cluster = head.partition("@")
        namespace, slash, name = service.partition("/")
        if not slash or not namespace or not name or "/" in name:
            raise TargetError(f"service target must be service:NAMESPACE/NAME[@CLUSTER][,LABEL=VALUE], got {text!r}")
        if "@" in head and not cluster:
            raise TargetError(f"empty cluster after '@' in {text!r}")
        labels = []
        for part in label_parts:
            key, eq, value = part.partition("=")
            if not eq or not key.strip():
                raise TargetError(f"label selector must be LABEL=VALUE, got {part!r} in {text!r}")
            labels.append((key.strip(), value.strip()))
        return cls("service", cluster=cluster, namespace=namespace, name=name, labels=tuple(labels), text=raw)

    def __str__(self) -> str:
        return self.text or self.kind


@dataclass(frozen=True)
class TargetEndpoint:
    """One endpoint a target selects, with what it is in operator terms."""

    ref: EndpointRef
    cluster: str
    namespace: str
    service: str
    locality: Locality
    labels: tuple[tuple[str, str], ...] = field(default=())
    instance: str = ""

    def to_json(self) -> dict[str, object]:
        return {"address": self.ref.address, "port": self.ref.port, "cluster": self.cluster,
                "namespace": self.namespace, "service": self.service, "locality": str(self.locality),
                "labels": dict(self.labels), "instance": self.instance}


def all_endpoints(index: MeshIndex) -> list[TargetEndpoint]:
    """Every endpoint of every service (all clusters) and every ExternalService's ExternalEndpoints."""
    out: list[TargetEndpoint] = []
    for svc in sorted(index.services.values(), key=lambda s: s.key):
        for e in svc.endpoints:
            out.append(_target_endpoint(e, svc.namespace, svc.name))
    for es in sorted(index.snapshot.typed(ExternalService), key=lambda x: (x.namespace, x.name)):
        for e in index.backend_for_external_service(es).endpoints:
            out.append(_target_endpoint(e, es.namespace, es.name))
    return out


def _target_endpoint(e: Endpoint, namespace: str, service: str) -> TargetEndpoint:
    return TargetEndpoint(EndpointRef(e.address, e.port), e.cluster, namespace, service, e.locality, e.labels,
                          e.instance)


def _in_locality(have: Locality, want: Locality) -> bool:
    return (have.region == want.region and (not want.zone or have.zone == want.zone)
            and (not want.sub_zone or have.sub_zone == want.sub_zone))


def matches(target: Target, e: TargetEndpoint) -> bool:
    if target.kind == "cluster":
        return e.cluster == target.cluster
    if target.kind == "locality":
        return target.locality is not None and _in_locality(e.locality, target.locality)
    if (e.namespace, e.service) != (target.namespace, target.name):
        return False
    # For an ExternalEndpoint the "cluster" is "external"; the ExternalEndpoint's name also selects it.
    if target.cluster and target.cluster not in (e.cluster, e.instance):
        return False
    labels = dict(e.labels)
    return all(labels.get(k) == v for k, v in target.labels)


def resolve(target: Target | str, index: MeshIndex) -> list[TargetEndpoint]:
    """The endpoints a target selects (each address:port once), in a stable order."""
    parsed = target if isinstance(target, Target) else Target.parse(target)
    seen: set[EndpointRef] = set()
    out = []
    for e in all_endpoints(index):
        if e.ref.port and matches(parsed, e) and e.ref not in seen:
            seen.add(e.ref)
            out.append(e)
    return out
