"""Standalone checks of v2 resources: the reference's CEL/proto constraints as located findings."""

from __future__ import annotations

import re
from dataclasses import fields, is_dataclass
from typing import Any, Iterable

from ..checks import Reporter, check_matcher, wrongly_typed
from ..findings import Finding, Severity
from ..schema import Model
from ..snapshot import Snapshot
from .resources import (
    DestinationReference,
    ForwardToAction,
    HTTPRouteV2,
    ListenerV2,
    RouteTableV2,
    VirtualDestinationV2,
    VirtualGatewayV2,
)
from .validate_resilience import validate_resilience  # FailoverPolicy, OutlierDetectionPolicy

Path = tuple[Any, ...]
MAX_BODY = 1048576
VD_PROTOCOLS = {"HTTP", "HTTPS", "GRPC", "HTTP2", "MONGO", "TCP", "TLS"}
HTTP_APP_PROTOCOLS = {"GRPC", "GRPC-WEB", "HTTP", "HTTP_PROXY", "HTTP2"}
TCP_APP_PROTOCOLS = {"TCP", "MONGO", "REDIS", "MYSQL"}
_DNS_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$")


def v2_resources(snapshot: Snapshot, cls: type) -> list[Any]:
    """The v2 objects of one class (Snapshot.typed keys on the class name, which differs from the kind)."""
    kind = {"RouteTableV2": "RouteTable", "VirtualGatewayV2": "VirtualGateway",
            "VirtualDestinationV2": "VirtualDestination"}.get(cls.__name__, cls.__name__)
    return [r for r in snapshot.of_kind(kind) if isinstance(r, cls)]


def has_v2(snapshot: Snapshot) -> bool:
    return any(isinstance(r, (RouteTableV2, VirtualGatewayV2, VirtualDestinationV2)) for r in snapshot)


def validate_v2(snapshot: Snapshot) -> list[Finding]:
    rep = Reporter()
    for rt in v2_resources(snapshot, RouteTableV2):
        check_route_table(rep, rt)
    for vg in v2_resources(snapshot, VirtualGatewayV2):
        check_virtual_gateway(rep, vg)
    for vd in v2_resources(snapshot, VirtualDestinationV2):
        check_virtual_destination(rep, vd)
    findings = workspace_findings(snapshot)
    for r in snapshot:
        if isinstance(r, (RouteTableV2, VirtualGatewayV2, VirtualDestinationV2)):
            for path, key in unknown_fields(r.spec, ("spec",)):
                rep.add(r, Severity.WARNING, "unknown-field",
                        f"field {key!r} is not part of {r.kind} ({r.api_version}); it is kept but not used",
                        path + (key,))
    return rep.findings + findings + validate_resilience(snapshot)


def workspace_findings(snapshot: Snapshot) -> list[Finding]:
    """Workspace ownership and settings (W1-W8), ExternalService address conflicts (V4) and route policies' own
    constraints; the workspace findings only for configurations that use Gloo v2 routing or workspaces."""
    from .external_services import external_service_addresses
    from .policy_validate import policy_findings
    from .workspaces import has_workspace_kinds, workspaces_of

    conflicts = external_service_addresses(snapshot).findings() + policy_findings(snapshot)
    if not (has_v2(snapshot) or has_workspace_kinds(snapshot)):
        return conflicts
    return [*workspaces_of(snapshot).findings, *conflicts]


def unknown_fields(model: Any, path: Path) -> Iterable[tuple[Path, str]]:
    """(path of the mapping, key) for every key the model does not know, depth first."""
    if not isinstance(model, Model):
        return
    for k in model._extra:
        if isinstance(k, str):
            yield path, k
    by_attr = {f.name: f for f in fields(model)}
    for k in model._keys:
        attr = _attr_for_key(model, k)
        if attr is None or attr not in by_attr:
            continue
        value = getattr(model, attr)
        if isinstance(value, Model):
            yield from unknown_fields(value, path + (k,))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if is_dataclass(item):
                    yield from unknown_fields(item, path + (k, i))


def _attr_for_key(model: Model, key: str) -> str | None:
    from ..schema import _compile

    spec = _compile(type(model))[0].get(key)
    return spec[0] if spec else None


# -- hosts -------------------------------------------------------------------------------------------

def host_problem(host: str, allow_wildcard: bool = True) -> str | None:
    """Why a RouteTable/VirtualDestination host is invalid, or None (left-most wildcard only, no bare `*`)."""
    if not host:
        return "a host must not be empty"
    if host == "*":
        return "a bare '*' host is not allowed (2.5+); use a wildcard domain such as '*.example.com'"
    if "*" in host:
        if not allow_wildcard:
            return f"host {host!r} may not contain '*'"
        if host.count("*") > 1 or not host.split(".")[0].startswith("*"):
            return f"host {host!r}: a wildcard is allowed only in the left-most label"
        rest = host.split(".")[0][1:]
        if rest and not _DNS_LABEL.match(rest):
            return f"host {host!r} is not a valid domain name"
        labels = host.split(".")[1:]
    else:
        labels = host.split(".")
    if any(not _DNS_LABEL.match(label) for label in labels):
        return f"host {host!r} is not a valid domain name"
    return None


# -- RouteTable --------------------------------------------------------------------------------------

def check_route_table(rep: Reporter, rt: RouteTableV2) -> None:
    spec = rt.spec
    keys = spec._keys
    if not spec.hosts:
        for key, attr in (("virtualGateways", "virtual_gateways"), ("applyToDestinations", "apply_to_destinations"),
                          ("virtualServiceAnnotations", "virtual_service_annotations")):
            if getattr(spec, attr):
                rep.add(rt, Severity.ERROR, "child-field",
                        f"a RouteTable without hosts is a delegated child; it must not set {key}", ("spec", key))
        if "failureMode" in keys and "failureMode" not in spec._unread:
            rep.add(rt, Severity.ERROR, "child-field",
                    "a RouteTable without hosts is a delegated child; it must not set failureMode "
                    "(the root table's failureMode governs the whole tree)", ("spec", "failureMode"))
    for i, ws in enumerate(spec.workload_selectors):  # E4: label-only, KUBE workloads
        sel = ws.selector
        extra = [k for k in ("name", "namespace", "cluster", "workspace") if sel is not None and getattr(sel, k)]
        if extra:
            rep.add(rt, Severity.ERROR, "workload-selector-fields",
                    f"workloadSelectors select by labels only; {', '.join(extra)} must be empty",
                    ("spec", "workloadSelectors", i, "selector", extra[0]))
        if ws.kind != "KUBE":
            rep.add(rt, Severity.ERROR, "workload-selector-kind", "workloadSelectors support kind KUBE only",
                    ("spec", "workloadSelectors", i, "kind"))
    for i, host in enumerate(spec.hosts):
        problem = host_problem(host)
        if problem:
            rep.add(rt, Severity.ERROR, "bad-host", problem, ("spec", "hosts", i))
    if not spec.http and not spec.tcp and not spec.tls and not wrongly_typed(spec, "http", "tcp", "tls"):
        rep.add(rt, Severity.ERROR, "no-routes", "a RouteTable needs at least one of http, tcp, tls", ("spec",))
    if spec.tcp or spec.tls:
        key = "tcp" if spec.tcp else "tls"
        rep.add(rt, Severity.INFO, "unsupported-routes",
                f"{key} routes are loaded but not routed by meshctl (HTTP only)", ("spec", key))
    uses_forward = any(r.forward_to is not None for r in spec.http)
    if spec.default_destination is not None:
        if not uses_forward:
            rep.add(rt, Severity.ERROR, "default-destination-unused",
                    "defaultDestination is set but no http route uses forwardTo", ("spec", "defaultDestination"))
        _check_destination(rep, rt, spec.default_destination, ("spec", "defaultDestination"))
    for i, route in enumerate(spec.http):
        check_route(rep, rt, route, ("spec", "http", i))


def check_route(rep: Reporter, rt: RouteTableV2, route: HTTPRouteV2, path: Path) -> None:
    label = f"route {route.name!r}" if route.name else "route"
    actions = route.actions_set()
    if not actions and not wrongly_typed(route, "forwardTo", "delegate", "redirect", "directResponse", "graphql"):
        rep.add(rt, Severity.ERROR, "route-no-action",
                f"{label} has no action; expected exactly one of forwardTo, delegate, redirect, directResponse", path)
    elif len(actions) > 1:
        rep.add(rt, Severity.ERROR, "route-multiple-actions",
                f"{label} has {len(actions)} actions ({', '.join(actions)}); a route takes exactly one", path)
    for j, m in enumerate(route.matchers):
        mpath = path + ("matchers", j)
        check_matcher(rep, rt, m, mpath)
        if m.uri is not None and m.uri.suffix is not None:
            rep.add(rt, Severity.WARNING, "unsupported-field",
                    "uri.suffix is not supported by Gloo v2 (meshctl matches it as Envoy would, as a regex)",
                    mpath + ("uri", "suffix"))
        if m.uri is not None and m.uri.regex is not None and m.uri.ignore_case:
            rep.add(rt, Severity.WARNING, "ignored-field", "ignoreCase does not apply to a regex matcher",
                    mpath + ("uri", "ignoreCase"))
        if m.port is not None and not 0 <= m.port <= 65535:
            rep.add(rt, Severity.ERROR, "bad-port", f"port {m.port} is not 0-65535", mpath + ("port",))
    if route.graphql is not None:
        rep.add(rt, Severity.WARNING, "unsupported-action", "graphql routes are not modelled by meshctl",
                path + ("graphql",))
    if route.forward_to is not None:
        _check_forward(rep, rt, route, route.forward_to, path + ("forwardTo",))
    if route.delegate is not None:
        d = route.delegate
        if not d.route_tables and not wrongly_typed(d, "routeTables"):
            rep.add(rt, Severity.ERROR, "delegate-no-target", "delegate needs routeTables selectors",
                    path + ("delegate",))
        for j, m in enumerate(route.matchers):
            kinds = m.uri.kinds_set() if m.uri else []
            if kinds and kinds != ["prefix"]:
                wrong = next(k for k in kinds if k != "prefix")
                rep.add(rt, Severity.ERROR, "delegate-not-prefix",
                        f"{label} delegates, so its path matcher must be a prefix; got {wrong}",
                        path + ("matchers", j, "uri"))
    if route.direct_response is not None:
        direct = route.direct_response
        if wrongly_typed(direct, "status"):
            pass
        elif direct.status == 0 and ("status" not in direct._keys or "status" in direct._unread):
            rep.add(rt, Severity.ERROR, "missing-field", "directResponse needs a status (100 to 599)",
                    path + ("directResponse",))
        elif not 100 <= direct.status <= 599:
            rep.add(rt, Severity.ERROR, "bad-status",
                    f"directResponse.status must be an HTTP status from 100 to 599; got {direct.status}",
                    path + ("directResponse", "status"))
        elif direct.status < 200:
            rep.add(rt, Severity.WARNING, "informational-status",
                    f"directResponse.status {direct.status} is informational; the API text asks for 200-599",
                    path + ("directResponse", "status"))
        if direct.body is not None and len(direct.body.encode()) > MAX_BODY:
            rep.add(rt, Severity.ERROR, "body-too-large", "directResponse.body is limited to 1 MiB",
                    path + ("directResponse", "body"))
    if route.redirect is not None and not route.redirect._keys:
        rep.add(rt, Severity.WARNING, "empty-redirect",
                "redirect sets neither hostRedirect nor pathRedirect: it redirects to the same URL",
                path + ("redirect",))


def _check_forward(rep: Reporter, rt: RouteTableV2, route: HTTPRouteV2, fwd: ForwardToAction, path: Path) -> None:
    if not fwd.destinations and rt.spec.default_destination is None and not wrongly_typed(fwd, "destinations"):
        rep.add(rt, Severity.ERROR, "no-destination",
                "forwardTo has no destinations and the RouteTable has no defaultDestination", path)
    if len(fwd.destinations) > 100:
        rep.add(rt, Severity.ERROR, "too-many-destinations", "forwardTo takes at most 100 destinations",
                path + ("destinations",))
    for k, d in enumerate(fwd.destinations):
        _check_destination(rep, rt, d, path + ("destinations", k))
    problem = weight_problem([d.weight for d in fwd.destinations])
    if problem:
        rep.add(rt, Severity.ERROR, "bad-weights", problem, path + ("destinations",))
    if fwd.path_rewrite is not None and fwd.regex_rewrite is not None:
        rep.add(rt, Severity.ERROR, "exclusive-fields", "forwardTo takes pathRewrite or regexRewrite, not both",
                path + ("regexRewrite",))
    if fwd.host_rewrite is not None and fwd.auto_host_rewrite:
        rep.add(rt, Severity.ERROR, "exclusive-fields", "forwardTo takes hostRewrite or autoHostRewrite, not both",
                path + ("autoHostRewrite",))
    if fwd.host_rewrite is not None and host_problem(fwd.host_rewrite, allow_wildcard=False):
        rep.add(rt, Severity.ERROR, "bad-host", f"hostRewrite {fwd.host_rewrite!r} is not a valid host name",
                path + ("hostRewrite",))
    regex_matchers = [j for j, m in enumerate(route.matchers) if m.uri is not None and m.uri.regex is not None]
    if regex_matchers and fwd.path_rewrite is not None:
        rep.add(rt, Severity.ERROR, "rewrite-unsupported",
                "pathRewrite is not supported with a regex matcher (use regexRewrite with a prefix or exact matcher)",
                path + ("pathRewrite",))
    if regex_matchers and fwd.regex_rewrite is not None:
        rep.add(rt, Severity.ERROR, "rewrite-unsupported", "regexRewrite is not supported under a regex matcher",
                path + ("regexRewrite",))
    if fwd.regex_rewrite is not None:
        from ..regex import regex_error

        pattern = fwd.regex_rewrite.pattern.regex if fwd.regex_rewrite.pattern else ""
        err = regex_error(pattern) if pattern else "regexRewrite.pattern.regex is required"
        if err:
            rep.add(rt, Severity.ERROR, "bad-regex", f"regexRewrite pattern {pattern!r}: {err}",
                    path + ("regexRewrite", "pattern"))


def weight_problem(weights: list[int]) -> str | None:
    """R14: weights total at most 100; a total of exactly 100 leaves nothing for unweighted destinations."""
    if len(weights) <= 1:
        return None
    total = sum(weights)
    unweighted = sum(1 for w in weights if not w)
    if total > 100:
        return f"destination weights total {total}; they must total 100 at most"
    if unweighted and 100 - total < unweighted:
        return (f"destination weights total {total}, leaving {100 - total} for {unweighted} unweighted "
                "destination(s), each of which needs at least 1")
    return None


def _check_destination(rep: Reporter, rt: Any, d: DestinationReference, path: Path) -> None:
    if d.ref is None and d.aws_lambda is None and not wrongly_typed(d, "ref"):
        rep.add(rt, Severity.ERROR, "missing-field", "destination needs ref", path)
    elif d.ref is not None and not d.ref.name and not wrongly_typed(d.ref, "name"):
        rep.add(rt, Severity.ERROR, "missing-field", "destination ref needs a name", path + ("ref",))
    if d.subset and d.kind != "SERVICE":
        rep.add(rt, Severity.ERROR, "subset-not-allowed",
                f"subset is for Kubernetes Service destinations only, not {d.kind}", path + ("subset",))
    if d.weight < 0 or d.weight > 100:
        rep.add(rt, Severity.ERROR, "bad-weights", f"weight {d.weight} is not 0-100", path + ("weight",))
    if d.port is not None:
        _check_port_selector(rep, rt, d.port, path + ("port",))


def _check_port_selector(rep: Reporter, owner: Any, port: Any, path: Path) -> None:
    if port.number is not None and port.name is not None:
        rep.add(owner, Severity.ERROR, "exclusive-fields", "a port takes number or name, not both", path)
    elif port.number is None and port.name is None and not wrongly_typed(port, "number", "name"):
        rep.add(owner, Severity.ERROR, "missing-field", "a port needs number or name", path)
    elif port.number is not None and not 1 <= port.number <= 65535:
        rep.add(owner, Severity.ERROR, "bad-port", f"port {port.number} is not 1-65535", path + ("number",))


# -- VirtualGateway ----------------------------------------------------------------------------------

def check_virtual_gateway(rep: Reporter, vg: VirtualGatewayV2) -> None:
    if not vg.spec.listeners and not wrongly_typed(vg.spec, "listeners"):
        rep.add(vg, Severity.ERROR, "gateway-no-listener",
                "a VirtualGateway needs at least one listener; this one serves nothing", ("spec", "listeners"))
    for i, listener in enumerate(vg.spec.listeners):
        _check_listener(rep, vg, listener, ("spec", "listeners", i))


def _check_listener(rep: Reporter, vg: VirtualGatewayV2, ls: ListenerV2, path: Path) -> None:
    if ls.port is None:
        if not wrongly_typed(ls, "port"):
            rep.add(vg, Severity.ERROR, "missing-field", "a listener needs a port (number or name)", path)
    else:
        _check_port_selector(rep, vg, ls.port, path + ("port",))
    if ls.http is not None and ls.tcp is not None:
        rep.add(vg, Severity.ERROR, "exclusive-fields", "a listener is http or tcp, not both", path + ("tcp",))
    elif ls.http is None and ls.tcp is None:
        rep.add(vg, Severity.WARNING, "listener-type-default",
                "listener sets neither http nor tcp: Gloo 2.5+ treats it as tcp, so no HTTP routes bind to it", path)
    if ls.tls is not None and ls.https_redirect:
        rep.add(vg, Severity.ERROR, "exclusive-fields", "a listener takes tls or httpsRedirect, not both",
                path + ("httpsRedirect",))
    if ls.https_redirect and ls.tcp is not None:
        rep.add(vg, Severity.ERROR, "https-redirect-tcp", "httpsRedirect is not allowed on a tcp listener",
                path + ("httpsRedirect",))
    if isinstance(ls.tls, dict) and "mode" not in ls.tls:
        rep.add(vg, Severity.WARNING, "tls-mode-default",
                "tls without mode is PASSTHROUGH by proto3 rules (the enum's zero value); set mode: SIMPLE to "
                "terminate TLS", path + ("tls",))
    if ls.app_protocol:
        proto = ls.app_protocol.upper()
        tls = ls.tls is not None
        if ls.tcp is not None or ls.http is None:
            allowed = {"TLS"} if tls else TCP_APP_PROTOCOLS
        else:
            allowed = {"HTTPS"} if tls else HTTP_APP_PROTOCOLS
        if len(ls.app_protocol) > 10 or proto not in allowed:
            rep.add(vg, Severity.ERROR, "bad-app-protocol",
                    f"appProtocol {ls.app_protocol!r} does not fit this listener; allowed: {', '.join(sorted(allowed))}",
                    path + ("appProtocol",))
    for j, f in enumerate(ls.allowed_route_tables):
        fpath = path + ("allowedRouteTables", j)
        if not f.host and not wrongly_typed(f, "host"):
            rep.add(vg, Severity.ERROR, "missing-field", "allowedRouteTables entry needs a host ('*' for any)", fpath)
            continue
        problem = filter_host_problem(f.host)
        if problem:
            rep.add(vg, Severity.ERROR, "bad-host", problem, fpath + ("host",))


def filter_host_problem(host: str) -> str | None:
    _, _, dns = host.rpartition("/")
    if dns == "*":
        return None
    return host_problem(dns)


# -- VirtualDestination ------------------------------------------------------------------------------

def check_virtual_destination(rep: Reporter, vd: VirtualDestinationV2) -> None:
    spec = vd.spec
    backing = spec.services or spec.external_services or spec.external_workloads
    if not spec.hosts and not backing:
        rep.add(vd, Severity.ERROR, "missing-field",
                "a VirtualDestination needs at least one of hosts, services, externalServices, externalWorkloads",
                ("spec",))
    seen: set[str] = set()
    for i, host in enumerate(spec.hosts):
        problem = host_problem(host, allow_wildcard=False)
        if problem:
            rep.add(vd, Severity.ERROR, "bad-host", problem, ("spec", "hosts", i))
        if host.lower() in seen:
            rep.add(vd, Severity.ERROR, "duplicate-host", f"host {host!r} is listed twice", ("spec", "hosts", i))
        seen.add(host.lower())
    if not spec.ports and not wrongly_typed(spec, "ports"):
        rep.add(vd, Severity.ERROR, "missing-field", "a VirtualDestination needs at least one port",
                ("spec", "ports"))
    for i, p in enumerate(spec.ports):
        ppath = ("spec", "ports", i)
        if not 1 <= p.number <= 65535 and not wrongly_typed(p, "number"):
            rep.add(vd, Severity.ERROR, "bad-port", f"port number {p.number} is not 1-65535", ppath + ("number",))
        if not p.protocol and not wrongly_typed(p, "protocol"):
            rep.add(vd, Severity.ERROR, "missing-field", "a port needs a protocol", ppath)
        elif p.protocol and p.protocol.upper() not in VD_PROTOCOLS:
            rep.add(vd, Severity.ERROR, "bad-protocol",
                    f"protocol {p.protocol!r} is not one of {', '.join(sorted(VD_PROTOCOLS))}", ppath + ("protocol",))
        if p.target_port is not None:
            if not backing:
                rep.add(vd, Severity.ERROR, "target-port-without-backing",
                        "targetPort needs services, externalServices or externalWorkloads", ppath + ("targetPort",))
            _check_port_selector(rep, vd, p.target_port, ppath + ("targetPort",))
