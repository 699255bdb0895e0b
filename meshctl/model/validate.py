"""Semantic checks on a snapshot: what a well-typed configuration can still get wrong, located to the field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol, TypeVar

from .checks import Reporter, check_matcher, wrongly_typed
from .common import ACTION_FIELDS, Route, WeightedDestination
from .findings import Finding, Severity, sort_findings
from .resources import (
    ExternalService,
    Resource,
    RouteTable,
    TrafficPolicy,
    VirtualGateway,
    VirtualHost,
    VirtualHostSpec,
)
from .schema import camel
from .selection import select
from .snapshot import Snapshot
from .v2.validate import validate_v2  # the v2 kinds' own checks (CEL/proto constraints)

DESTINATION_KEYS = ("kubeService", "virtualDestination", "staticDestination", "clusterHeader")
R = TypeVar("R", bound=Resource)


class Lookups(Protocol):
    """What the checks of one resource read of the rest of the snapshot."""

    def get(self, kind: str, namespace: str, name: str, cluster: str = "") -> Resource | None: ...

    def typed(self, cls: type[R]) -> list[R]: ...


def validate(snapshot: Snapshot, memo: ValidationMemo | None = None) -> list[Finding]:
    """Every problem found by loading and checking the snapshot, sorted by location.

    `memo`: kept across the snapshots of one source, it checks again only what changed (same result)."""
    checked = (memo if memo is not None else ValidationMemo()).findings(snapshot)
    return sort_findings([*snapshot.findings, *checked, *validate_v2(snapshot)])


def _check_traffic_policy(rep: Reporter, _lookups: Lookups, tp: TrafficPolicy) -> None:
    for i, m in enumerate(tp.spec.http_request_matchers):
        check_matcher(rep, tp, m, ("spec", "httpRequestMatchers", i))


def _check_external_service(rep: Reporter, _lookups: Lookups, es: ExternalService) -> None:
    if es.spec.hosts and es.spec.addresses:
        rep.add(es, Severity.ERROR, "exclusive-fields", "hosts and addresses are mutually exclusive",
                ("spec", "addresses"))


# per kind, in the order findings are reported (sort_findings keeps it among findings at one spot)
_CHECKS: tuple[tuple[type[Any], Callable[[Reporter, Lookups, Any], None]], ...] = (
    (VirtualHost, lambda rep, lookups, vh: _check_vhost_spec(rep, lookups, vh, vh.spec, ("spec",))),
    (RouteTable, lambda rep, lookups, rt: _check_routes(rep, lookups, rt, rt.spec.routes, ("spec", "routes"))),
    (VirtualGateway, lambda rep, lookups, gw: _check_gateway(rep, lookups, gw)),
    (TrafficPolicy, _check_traffic_policy),
    (ExternalService, _check_external_service),
)


class _Reads:
    """The snapshot as one resource's checks see it, remembering each answer: the checks are redone when the
    resource is re-read or one of these answers changes (a RouteTable it names appears or goes away)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.answers: list[tuple[Any, ...]] = []

    def get(self, kind: str, namespace: str, name: str, cluster: str = "") -> Resource | None:
        found = self.snapshot.get(kind, namespace, name, cluster)
        self.answers.append(("get", (kind, namespace, name, cluster), found))
        return found

    def typed(self, cls: type[R]) -> list[R]:
        found = self.snapshot.typed(cls)
        self.answers.append(("typed", cls, found))
        return found


@dataclass(slots=True)
class _Checked:
    resource: Resource
    answers: list[tuple[Any, ...]]
    findings: list[Finding]


class ValidationMemo:
    """The per-resource checks of `validate` over successive snapshots of one source (not thread-safe: its owner
    serialises builds). Unchanged resources are the same objects across snapshots, so identity says what to redo."""

    def __init__(self) -> None:
        self._checked: dict[int, _Checked] = {}  # by id(resource); each entry holds its resource alive
        self.stats = {"checked": 0, "reused": 0}

    def findings(self, snapshot: Snapshot) -> list[Finding]:
        kept: dict[int, _Checked] = {}
        typed: dict[type[Any], list[Any]] = {}  # snapshot.typed answers of this snapshot, for _holds
        self.stats = {"checked": 0, "reused": 0}
        out: list[Finding] = []
        for cls, check in _CHECKS:
            for resource in snapshot.typed(cls):
                entry = self._checked.get(id(resource))
                if entry is not None and entry.resource is resource and _holds(snapshot, entry.answers, typed):
                    self.stats["reused"] += 1
                else:
                    self.stats["checked"] += 1
                    reads, rep = _Reads(snapshot), Reporter()
                    check(rep, reads, resource)
                    entry = _Checked(resource, reads.answers, rep.findings)
                kept[id(resource)] = entry
                out.extend(entry.findings)
        self._checked = kept  # resources gone from the snapshot are forgotten
        return out


def _holds(snapshot: Snapshot, answers: list[tuple[Any, ...]], typed: dict[type[Any], list[Any]]) -> bool:
    for how, what, then in answers:
        if how == "get":
            if snapshot.get(*what) is not then:
                return False
        else:
            if what not in typed:
                typed[what] = snapshot.typed(what)
            now = typed[what]
            if len(now) != len(then) or any(a is not b for a, b in zip(now, then, strict=True)):
                return False
    return True


def _check_vhost_spec(rep: Reporter, snapshot: Lookups, owner: Resource, spec: VirtualHostSpec,
                      path: tuple[Any, ...]) -> None:
    if not spec.domains and not wrongly_typed(spec, "domains"):
        rep.add(owner, Severity.WARNING, "no-domains", "a VirtualHost without domains never receives a request",
                path + ("domains",))
    _check_routes(rep, snapshot, owner, spec.routes, path + ("routes",))


def _check_routes(rep: Reporter, snapshot: Lookups, owner: Resource, routes: list[Route],
                  path: tuple[Any, ...]) -> None:
    for i, route in enumerate(routes):
        _check_route(rep, snapshot, owner, route, path + (i,))


def _check_route(rep: Reporter, snapshot: Lookups, owner: Resource, route: Route, path: tuple[Any, ...]) -> None:
    actions = route.actions_set()
    label = f"route {route.name!r}" if route.name else "route"
    if not actions and not wrongly_typed(route, *(camel(a) for a in ACTION_FIELDS)):
        rep.add(owner, Severity.ERROR, "route-no-action",
                f"{label} has no action; expected exactly one of routeAction, redirectAction, "
                "directResponseAction, delegateAction", path)
    elif len(actions) > 1:
        names = ", ".join(camel(a) for a in actions)
        rep.add(owner, Severity.ERROR, "route-multiple-actions",
                f"{label} has {len(actions)} actions ({names}); a route takes exactly one", path)

    for j, m in enumerate(route.matchers):
        check_matcher(rep, owner, m, path + ("matchers", j))

    if route.delegate_action is not None:
        for j, m in enumerate(route.matchers):
            kinds = m.uri.kinds_set() if m.uri else []
            if kinds and kinds != ["prefix"]:
                wrong = next(k for k in kinds if k != "prefix")  # name the offending kind, not "prefix"
                rep.add(owner, Severity.ERROR, "delegate-not-prefix",
                        f"{label} delegates, so its path matcher must be a prefix; got {wrong}",
                        path + ("matchers", j, "uri"))
        delegate = route.delegate_action
        for j, ref in enumerate(delegate.refs):
            ns = ref.namespace or owner.namespace
            if snapshot.get("RouteTable", ns, ref.name) is None:
                rep.add(owner, Severity.ERROR, "dangling-delegate-ref",
                        f"delegateAction refers to RouteTable {ns}/{ref.name}, which does not exist",
                        path + ("delegateAction", "refs", j))
        if not delegate.refs and delegate.selector is None and not wrongly_typed(delegate, "refs", "selector"):
            rep.add(owner, Severity.ERROR, "delegate-no-target",
                    "delegateAction needs refs or a selector to name its RouteTables", path + ("delegateAction",))

    if route.route_action is not None:
        for j, dest in enumerate(route.route_action.destinations):
            _check_destination(rep, owner, dest, path + ("routeAction", "destinations", j))
    if route.direct_response_action is not None:
        direct = route.direct_response_action
        status = direct.status
        if wrongly_typed(direct, "status"):
            pass
        elif status == 0 and ("status" not in direct._keys or "status" in direct._unread):  # absent or null
            rep.add(owner, Severity.ERROR, "missing-field", "directResponseAction needs a status (100 to 599)",
                    path + ("directResponseAction",))
        elif not 100 <= status <= 599:
            rep.add(owner, Severity.ERROR, "bad-status",
                    f"directResponseAction.status must be an HTTP status from 100 to 599; got {status}",
                    path + ("directResponseAction", "status"))
    if route.redirect_action is not None:
        r = route.redirect_action
        if r.path_redirect is not None and r.prefix_rewrite is not None:
            rep.add(owner, Severity.ERROR, "exclusive-fields",
                    "redirectAction takes pathRedirect or prefixRewrite, not both", path + ("redirectAction",))


def _check_destination(rep: Reporter, owner: Resource, dest: WeightedDestination, path: tuple[Any, ...]) -> None:
    kinds = dest.kinds_set()
    if not kinds and not wrongly_typed(dest, *DESTINATION_KEYS):
        rep.add(owner, Severity.ERROR, "destination-no-target",
                "destination needs one of kubeService, virtualDestination, staticDestination", path)
    elif len(kinds) > 1:
        rep.add(owner, Severity.ERROR, "destination-multiple-targets",
                f"destination sets {len(kinds)} targets; it takes exactly one", path)




def _check_gateway(rep: Reporter, snapshot: Lookups, gw: VirtualGateway) -> None:
    if len(gw.spec.connection_handlers) > 1:
        rep.add(gw, Severity.WARNING, "multiple-connection-handlers",
                "only one connection handler is supported; the others are ignored",
                ("spec", "connectionHandlers", 1))
    claimed: dict[str, str] = {}
    for where, spec, owner, spec_path in gateway_virtual_hosts(snapshot, gw):
        if owner is gw:
            _check_vhost_spec(rep, snapshot, gw, spec, spec_path)
        for d, domain in enumerate(spec.domains):
            low = domain.lower()
            if low in claimed and claimed[low] != where:
                rep.add(owner, Severity.ERROR, "duplicate-domain",
                        f"domain {domain!r} is also claimed by {claimed[low]} in gateway "
                        f"{gw.namespace}/{gw.name}; Envoy would reject the route configuration",
                        spec_path + ("domains", d))
            else:
                claimed.setdefault(low, where)


def gateway_virtual_hosts(
    snapshot: Lookups, gw: VirtualGateway
) -> Iterator[tuple[str, VirtualHostSpec, Resource, tuple[Any, ...]]]:
    """(label, spec, owning resource, path of the spec) for every VirtualHost a gateway serves, in order."""
    seen: set[tuple[str, str, str]] = set()
    vhosts = snapshot.typed(VirtualHost)
    for h, handler in enumerate(gw.spec.connection_handlers[:1]):
        if handler.http is None:
            continue
        for s, specifier in enumerate(handler.http.route_config):
            base = ("spec", "connectionHandlers", h, "http", "routeConfig", s)
            if specifier.virtual_host is not None:
                yield (f"inline virtualHost routeConfig[{s}]", specifier.virtual_host, gw, base + ("virtualHost",))
            if specifier.virtual_host_selector is not None:
                for vh in select(specifier.virtual_host_selector, gw.namespace, vhosts):
                    if vh.key in seen:
                        continue
                    seen.add(vh.key)
                    yield (f"VirtualHost {vh.namespace}/{vh.name}", vh.spec, vh, ("spec",))
