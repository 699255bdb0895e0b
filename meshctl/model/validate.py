"""Semantic checks on a snapshot: what a well-typed configuration can still get wrong, located to the field."""

from __future__ import annotations

from typing import Any, Iterator

from .common import ACTION_FIELDS, HttpMatcher, Route, StringMatch, WeightedDestination
from .findings import Finding, Severity, format_path, sort_findings
from .regex import regex_error
from .resources import (
    ExternalService,
    Resource,
    RouteTable,
    TrafficPolicy,
    VirtualGateway,
    VirtualHost,
    VirtualHostSpec,
)
from .schema import Model, camel
from .selection import select
from .snapshot import Snapshot


class _Reporter:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, resource: Resource, severity: Severity, code: str, message: str, path: tuple[Any, ...]) -> None:
        file, line, col = resource.locate(path)
        self.findings.append(Finding(severity, code, message, file=file, line=line, column=col,
                                     resource=resource.display, path=format_path(path) or None))


def _wrongly_typed(model: Model, *keys: str) -> bool:
    """A key was written with a wrong type: already reported as wrong-type, so it is not also 'missing'."""
    return any(model._unread.get(k) is not None for k in keys)


DESTINATION_KEYS = ("kubeService", "virtualDestination", "staticDestination", "clusterHeader")


def validate(snapshot: Snapshot) -> list[Finding]:
    """Every problem found by loading and checking the snapshot, sorted by location."""
    rep = _Reporter()
    for vh in snapshot.typed(VirtualHost):
        _check_vhost_spec(rep, snapshot, vh, vh.spec, ("spec",))
    for rt in snapshot.typed(RouteTable):
        _check_routes(rep, snapshot, rt, rt.spec.routes, ("spec", "routes"))
    for gw in snapshot.typed(VirtualGateway):
        _check_gateway(rep, snapshot, gw)
    for tp in snapshot.typed(TrafficPolicy):
        for i, m in enumerate(tp.spec.http_request_matchers):
            _check_matcher(rep, tp, m, ("spec", "httpRequestMatchers", i))
    for es in snapshot.typed(ExternalService):
        if es.spec.hosts and es.spec.addresses:
            rep.add(es, Severity.ERROR, "exclusive-fields", "hosts and addresses are mutually exclusive",
                    ("spec", "addresses"))
    from .v2.validate import validate_v2  # the v2 kinds' own checks (CEL/proto constraints)

    return sort_findings([*snapshot.findings, *rep.findings, *validate_v2(snapshot)])


def _check_vhost_spec(rep: _Reporter, snapshot: Snapshot, owner: Resource, spec: VirtualHostSpec,
                      path: tuple[Any, ...]) -> None:
    if not spec.domains and not _wrongly_typed(spec, "domains"):
        rep.add(owner, Severity.WARNING, "no-domains", "a VirtualHost without domains never receives a request",
                path + ("domains",))
    _check_routes(rep, snapshot, owner, spec.routes, path + ("routes",))


def _check_routes(rep: _Reporter, snapshot: Snapshot, owner: Resource, routes: list[Route],
                  path: tuple[Any, ...]) -> None:
    for i, route in enumerate(routes):
        _check_route(rep, snapshot, owner, route, path + (i,))


def _check_route(rep: _Reporter, snapshot: Snapshot, owner: Resource, route: Route, path: tuple[Any, ...]) -> None:
    actions = route.actions_set()
    label = f"route {route.name!r}" if route.name else "route"
    if not actions and not _wrongly_typed(route, *(camel(a) for a in ACTION_FIELDS)):
        rep.add(owner, Severity.ERROR, "route-no-action",
                f"{label} has no action; expected exactly one of routeAction, redirectAction, "
                "directResponseAction, delegateAction", path)
    elif len(actions) > 1:
        names = ", ".join(camel(a) for a in actions)
        rep.add(owner, Severity.ERROR, "route-multiple-actions",
                f"{label} has {len(actions)} actions ({names}); a route takes exactly one", path)

    for j, m in enumerate(route.matchers):
        _check_matcher(rep, owner, m, path + ("matchers", j))

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
        if not delegate.refs and delegate.selector is None and not _wrongly_typed(delegate, "refs", "selector"):
            rep.add(owner, Severity.ERROR, "delegate-no-target",
                    "delegateAction needs refs or a selector to name its RouteTables", path + ("delegateAction",))

    if route.route_action is not None:
        for j, dest in enumerate(route.route_action.destinations):
            _check_destination(rep, owner, dest, path + ("routeAction", "destinations", j))
    if route.direct_response_action is not None:
        direct = route.direct_response_action
        status = direct.status
        if _wrongly_typed(direct, "status"):
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


def _check_destination(rep: _Reporter, owner: Resource, dest: WeightedDestination, path: tuple[Any, ...]) -> None:
    kinds = dest.kinds_set()
    if not kinds and not _wrongly_typed(dest, *DESTINATION_KEYS):
        rep.add(owner, Severity.ERROR, "destination-no-target",
                "destination needs one of kubeService, virtualDestination, staticDestination", path)
    elif len(kinds) > 1:
        rep.add(owner, Severity.ERROR, "destination-multiple-targets",
                f"destination sets {len(kinds)} targets; it takes exactly one", path)


def _check_string_match(rep: _Reporter, owner: Resource, sm: StringMatch, path: tuple[Any, ...]) -> None:
    kinds = sm.kinds_set()
    if len(kinds) > 1:
        rep.add(owner, Severity.ERROR, "exclusive-fields",
                f"a path matcher takes one of exact, prefix, regex, suffix; got {', '.join(kinds)}", path)
    if sm.regex is not None:
        err = regex_error(sm.regex)
        if err:
            rep.add(owner, Severity.ERROR, "bad-regex", f"RE2 rejects regex {sm.regex!r}: {err}", path + ("regex",))
    if sm.prefix is not None and sm.prefix and not sm.prefix.startswith("/"):
        rep.add(owner, Severity.WARNING, "path-no-slash", f"prefix {sm.prefix!r} does not start with '/'",
                path + ("prefix",))
    if sm.exact is not None and not sm.exact.startswith("/"):
        rep.add(owner, Severity.WARNING, "path-no-slash", f"exact path {sm.exact!r} does not start with '/'",
                path + ("exact",))


def _check_matcher(rep: _Reporter, owner: Resource, m: HttpMatcher, path: tuple[Any, ...]) -> None:
    if m.uri is not None:
        _check_string_match(rep, owner, m.uri, path + ("uri",))
    for k, h in enumerate(m.headers):
        if not h.name and not _wrongly_typed(h, "name"):
            rep.add(owner, Severity.ERROR, "missing-field", "header matcher needs a name", path + ("headers", k))
        if h.regex and h.value:
            err = regex_error(h.value)
            if err:
                rep.add(owner, Severity.ERROR, "bad-regex", f"RE2 rejects regex {h.value!r}: {err}",
                        path + ("headers", k, "value"))
    for k, q in enumerate(m.query_parameters):
        if not q.name and not _wrongly_typed(q, "name"):
            rep.add(owner, Severity.ERROR, "missing-field", "query parameter matcher needs a name",
                    path + ("queryParameters", k))
        if q.regex and q.value:
            err = regex_error(q.value)
            if err:
                rep.add(owner, Severity.ERROR, "bad-regex", f"RE2 rejects regex {q.value!r}: {err}",
                        path + ("queryParameters", k, "value"))


def _check_gateway(rep: _Reporter, snapshot: Snapshot, gw: VirtualGateway) -> None:
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
    snapshot: Snapshot, gw: VirtualGateway
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
