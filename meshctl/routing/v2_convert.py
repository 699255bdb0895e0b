"""v2 HTTP routes in the engine's route shape (the v1beta1 `Route`), so flattening, the sandbox, shadow analysis
and xDS translation work on them unchanged. Adds the v2-only action fields as subclasses the YAML never reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..model.common import (
    DelegateAction,
    DirectResponseAction,
    KubeServiceDestination,
    ObjectRef,
    RedirectAction,
    Route,
    RouteAction,
    VirtualDestinationRef,
    WeightedDestination,
)
from ..model.resources import Resource
from ..model.v2.resources import DestinationReference, HTTPRouteV2, RouteTableV2
from ..model.v2.validate import weight_problem


@dataclass
class V2Destination(WeightedDestination):
    """A v2 DestinationReference: kube_service / virtual_destination as in v1beta1, or an ExternalService."""

    external_service: ObjectRef | None = None
    v2_kind: str = "SERVICE"
    v2_port: int | None = None  # port number as written (VIRTUAL_DESTINATION / EXTERNAL_SERVICE)
    v2_port_name: str | None = None
    v2_cluster: str = ""

    def kinds_set(self) -> list[str]:
        return ["external_service"] if self.external_service is not None else super().kinds_set()


@dataclass
class V2RouteAction(RouteAction):
    regex_rewrite: tuple[str, str] | None = None  # (pattern, substitution)
    host_rewrite: str | None = None
    auto_host_rewrite: bool = False
    weight_problem: str | None = None


@dataclass
class V2Delegate(DelegateAction):
    """The v2 delegate: ObjectSelectors (labels / name / namespace) instead of refs + skv2 selector."""

    route_tables: list[Any] = field(default_factory=list)


def v2_route_names(routes: list[HTTPRouteV2]) -> list[str]:
    """R9: a leading `insecure-` is stripped; repeats become `duplicate-<name>-<n>` in order of appearance."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for r in routes:
        name = r.name[len("insecure-"):] if r.name.startswith("insecure-") else r.name
        if name and name in seen:
            seen[name] += 1
            out.append(f"duplicate-{name}-{seen[name]}")
        else:
            seen.setdefault(name, 0)
            out.append(name)
    return out


def remainder_weights(weights: list[int]) -> list[int] | None:
    """R14: given weights as written; the remainder to 100 is split over unweighted destinations (each at least
    1; our decision: evenly, the first ones taking one more when it does not divide). None: no split needed."""
    if len(weights) <= 1:
        return None
    unweighted = [i for i, w in enumerate(weights) if not w]
    out = list(weights)
    if unweighted:
        remainder = max(0, 100 - sum(weights))
        share, extra = divmod(remainder, len(unweighted))
        for k, i in enumerate(unweighted):
            out[i] = max(1, share + (1 if k < extra else 0))
    return out


def convert_destination(d: DestinationReference, owner: Resource, weight: int | None) -> V2Destination:
    ref = d.ref
    name, ns, cluster = (ref.name, ref.namespace or owner.namespace, ref.cluster) if ref else ("", owner.namespace, "")
    number = d.port.number if d.port is not None else None
    port_name = d.port.name if d.port is not None else None
    out = V2Destination(weight=weight, v2_kind=d.kind, v2_port=number, v2_port_name=port_name, v2_cluster=cluster)
    if d.kind == "VIRTUAL_DESTINATION":
        out.virtual_destination = VirtualDestinationRef(name=name, namespace=ns, subset=dict(d.subset))
    elif d.kind == "EXTERNAL_SERVICE":
        out.external_service = ObjectRef(name=name, namespace=ns)
    else:
        out.kube_service = KubeServiceDestination(name=name, namespace=ns, cluster_name=cluster,
                                                  subset=dict(d.subset), port=number)
    return out


def convert_route(route: HTTPRouteV2, name: str, table: RouteTableV2) -> Route:
    """One v2 route as an engine Route; its labels carry the table's labels under its own (R5)."""
    out = Route(name=name, matchers=list(route.matchers), labels={**table.labels, **route.labels})
    out._keys = route._keys
    if route.forward_to is not None:
        fwd = route.forward_to
        refs = fwd.destinations
        if not refs and table.spec.default_destination is not None:
            refs = [table.spec.default_destination]  # R13
        weights = [d.weight for d in refs]
        effective = remainder_weights(weights)
        dests = [convert_destination(d, table, effective[i] if effective else None) for i, d in enumerate(refs)]
        rewrite = None
        if fwd.regex_rewrite is not None:
            pattern = fwd.regex_rewrite.pattern.regex if fwd.regex_rewrite.pattern else ""
            rewrite = (pattern, fwd.regex_rewrite.substitution)
        out.route_action = V2RouteAction(destinations=dests, path_rewrite=fwd.path_rewrite, regex_rewrite=rewrite,
                                         host_rewrite=fwd.host_rewrite, auto_host_rewrite=bool(fwd.auto_host_rewrite),
                                         weight_problem=weight_problem(weights))
    if route.delegate is not None:
        d = route.delegate
        delegate = V2Delegate(sort_method=d.sort_method, route_tables=list(d.route_tables))
        delegate._keys = d._keys
        out.delegate_action = delegate
    if route.redirect is not None:
        r = route.redirect
        out.redirect_action = RedirectAction(host_redirect=r.host_redirect, path_redirect=r.path_redirect,
                                             response_code=r.response_code)
    if route.direct_response is not None:
        dr = route.direct_response
        direct = DirectResponseAction(status=dr.status, body=dr.body)
        direct._keys = dr._keys
        out.direct_response_action = direct
    return out


def converted_routes(table: RouteTableV2, cache: dict[tuple[str, str, str], list[Route]]) -> list[Route]:
    hit = cache.get(table.key)
    if hit is None:
        names = v2_route_names(table.spec.http)
        hit = cache[table.key] = [convert_route(r, n, table) for r, n in zip(table.spec.http, names)]
    return hit
