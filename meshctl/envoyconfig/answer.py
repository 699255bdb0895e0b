"""What Envoy does with a request once the route is chosen: cluster, rewrites, redirect Location, direct response;
and the answer as JSON (router_check keys included) and as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..model.regex import compile_re2
from ..routing.evaluate import Request
from .matching import (
    HostChoice,
    Matcher,
    Routed,
    RouteDecision,
    is_grpc,
    route_failure,
    routed_request,
    uncertainty,
    virtual_cluster,
)
from .routes import DirectTarget, EnvoyRoute, RedirectTarget, RouteTarget, template_rewrite

NO_ROUTE_STATUS = 404


def regex_replace_all(pattern: str, substitution: str, text: str) -> str:
    """RE2::GlobalReplace: \\N in the substitution is group N (\\0 the whole match), \\\\ a backslash."""

    def expand(m: Any) -> str:
        out = []
        i = 0
        while i < len(substitution):
            c = substitution[i]
            if c == "\\" and i + 1 < len(substitution):
                n = substitution[i + 1]
                if n.isdigit():
                    out.append(m.group(int(n)) or "")
                    i += 2
                    continue
                if n == "\\":
                    out.append("\\")
                    i += 2
                    continue
            out.append(c)
            i += 1
        return "".join(out)

    compiled = compile_re2(pattern)
    wanted = max((int(d) for d in _GROUP_REFS.findall(substitution)), default=0)
    if wanted > compiled.groups:
        return text  # RE2::GlobalReplace refuses a rewrite that names a group the pattern lacks: nothing replaced
    return compiled.sub(expand, text)


_GROUP_REFS = re.compile(r"(?<!\\)\\(\d)")


def matched_length(route: EnvoyRoute, path: str) -> int:
    """Envoy's matched_path for prefix_rewrite: the configured prefix/path; the whole path for regexes."""
    if route.path.kind in ("prefix", "path", "path_separated_prefix"):
        return len(route.path.value)
    return len(path.split("?", 1)[0])


def rewrite_path(route: EnvoyRoute, path: str, prefix: str | None, regex: tuple[str, str] | None) -> str:
    if prefix is not None:
        return prefix + path[matched_length(route, path):]
    if regex is not None:
        head, sep, query = path.partition("?")
        # an empty result leaves the path alone (the differential test shows Envoy 1.40 doing so)
        return (regex_replace_all(regex[0], regex[1], head) or head) + sep + query
    return path


def request_host(r: Routed, new_scheme: str, new_port: str) -> str:
    """Http::Utility processRequestHost: the request's host for a Location, port dropped when it would be wrong."""
    host = r.authority
    if not host:
        return host
    if host.startswith("["):
        end = host.rfind("]:")
        colon = end + 1 if end >= 0 else -1
    else:
        colon = host.rfind(":")
    if colon >= 0:
        port = host[colon:]
        proto = r.headers.get("x-forwarded-proto", r.request.scheme)
        remove = bool(new_port)
        if new_scheme != proto:
            remove |= (proto == "https" and port == ":443") or (proto == "http" and port == ":80")
        if remove:
            return host[:colon]
    return host


def new_uri(r: Routed, route: EnvoyRoute, redirect: RedirectTarget | None) -> str:
    """Http::Utility::newUri (plus RouteEntryImplBase's prefix/regex rewrite of the redirect path)."""
    # the request's scheme: x-forwarded-proto when it is http or https, else the connection's (the differential
    # test shows Envoy 1.40 ignoring e.g. "abc" here, while header matchers see the value as sent)
    proto = r.headers.get("x-forwarded-proto", r.request.scheme)
    if proto.lower() not in ("http", "https"):
        proto = r.request.scheme
    scheme = redirect.scheme if redirect is not None and redirect.scheme else proto
    port = f":{redirect.port}" if redirect is not None and redirect.port else ""
    host = redirect.host if redirect is not None and redirect.host else request_host(r, scheme, port)
    path = r.path
    has_query_redirect = False
    if redirect is not None and redirect.path is not None:
        has_query_redirect = "?" in redirect.path
        if has_query_redirect:
            path = redirect.path
        else:
            query = path[path.index("?"):] if "?" in path else ""
            path = redirect.path + query
    elif redirect is not None and (redirect.prefix_rewrite is not None or redirect.regex_rewrite is not None):
        path = rewrite_path(route, r.path, redirect.prefix_rewrite, redirect.regex_rewrite)
    if not path.startswith("/"):
        path = "/" + path
    if redirect is not None and redirect.strip_query and not has_query_redirect:
        path = path.split("?", 1)[0]
    return f"{scheme}://{host}{port}{path}"


def pick_weighted(target: RouteTarget, random_value: int) -> str:
    total = sum(w.weight for w in target.weighted)
    if total <= 0:
        return ""
    selected = random_value % total
    begin = 0
    for w in target.weighted:
        end = begin + w.weight
        if begin <= selected < end:
            return w.name
        begin = end
    return target.weighted[-1].name


def _apply(headers: dict[str, str], add: list[tuple[str, str, str]], remove: list[str]) -> None:
    for name in remove:
        headers.pop(name, None)
    for name, value, action in add:
        have = headers.get(name)
        if action == "ADD_IF_ABSENT":
            if have is None:
                headers[name] = value
        elif action == "OVERWRITE_IF_EXISTS":
            if have is not None:
                headers[name] = value
        elif action == "OVERWRITE_IF_EXISTS_OR_ADD":
            headers[name] = value
        else:
            headers[name] = f"{have},{value}" if have is not None else value


@dataclass
class EnvoyAnswer:
    """One request's fate in the proxy's configuration. Cheap to build; details computed when asked for."""

    matcher: Matcher
    request: Request
    routed: Routed
    decision: RouteDecision
    label: str  # listener/route configuration

    # -- what matched ---------------------------------------------------------------------------
    @property
    def host(self) -> HostChoice | None:
        return self.decision.host

    @property
    def route(self) -> EnvoyRoute | None:
        return self.decision.route

    @property
    def matched(self) -> bool:
        return self.decision.position is not None

    @property
    def virtual_host(self) -> Any:
        return self.host.virtual_host if self.host is not None else None

    @property
    def tls_redirect(self) -> bool:
        # VirtualHostImpl: decided on x-forwarded-proto (set from the connection when absent), before any route
        vh = self.virtual_host
        if vh is None or vh.require_tls in ("NONE", "", None) or self.routed.headers.get("x-forwarded-proto") == "https":
            return False
        return not (vh.require_tls == "EXTERNAL_ONLY" and self.routed.headers.get("x-envoy-internal") == "true")

    @property
    def action_type(self) -> str | None:
        """route | redirect | directResponse (the existing sandbox's words); None for no route."""
        if self.tls_redirect:
            return "redirect"
        route = self.route
        if route is None:
            return None
        return {"route": "route", "redirect": "redirect", "direct_response": "directResponse"}.get(route.kind,
                                                                                                  route.kind)

    # -- what happens next ----------------------------------------------------------------------
    @cached_property
    def cluster(self) -> str:
        route = self.route
        if route is None or route.kind != "route" or self.tls_redirect:
            return ""
        t = route.target
        assert isinstance(t, RouteTarget)
        if t.cluster is not None:
            return t.cluster
        if t.cluster_header is not None:
            return self.routed.headers.get(t.cluster_header, "")
        if t.weighted:
            return pick_weighted(t, self.weighted_random_value)
        return ""

    @property
    def weighted_random_value(self) -> int:
        route = self.route
        t = route.target if route is not None else None
        if isinstance(t, RouteTarget) and t.weighted_header:
            value = self.routed.headers.get(t.weighted_header, "")
            if value.isdigit():
                return int(value)
        return self.routed.random_value or 0

    @property
    def weighted(self) -> list[dict[str, Any]]:
        route = self.route
        t = route.target if route is not None else None
        if not isinstance(t, RouteTarget) or not t.weighted:
            return []
        total = sum(w.weight for w in t.weighted) or 1
        return [{"cluster": w.name, "weight": w.weight, "percent": round(100 * w.weight / total, 2)} for w in t.weighted]

    @cached_property
    def upstream_path(self) -> str | None:
        route = self.route
        if route is None or route.kind != "route" or self.tls_redirect:
            return None
        t = route.target
        assert isinstance(t, RouteTarget)
        if t.template_rewrite is not None:
            # the uri template sees the path with its path parameters (differential test)
            head = self.routed.path.split("?", 1)[0]
            rewritten = template_rewrite(route.path.value, t.template_rewrite, head)
            return (rewritten or head) + self.routed.path[len(head):]
        return rewrite_path(route, self.routed.path, t.prefix_rewrite, t.regex_rewrite)

    @cached_property
    def upstream_host(self) -> str | None:
        route = self.route
        if route is None or route.kind != "route" or self.tls_redirect:
            return None
        t = route.target
        assert isinstance(t, RouteTarget)
        for w in t.weighted:
            if w.name == self.cluster and w.host_rewrite_literal:
                return w.host_rewrite_literal
        if t.host_rewrite_literal:
            return t.host_rewrite_literal
        if t.host_rewrite_header:
            value = self.routed.headers.get(t.host_rewrite_header)
            if value:
                return value
        if t.host_rewrite_path_regex is not None:
            return regex_replace_all(*t.host_rewrite_path_regex, self.routed.path.split("?", 1)[0])
        return self.routed.authority

    @cached_property
    def location(self) -> str | None:
        if self.tls_redirect:  # the SSL redirect keeps the Host as sent, port included (differential test)
            return f"https://{self.routed.authority}{self.routed.path}"
        route = self.route
        if route is None:
            return None
        if route.kind == "redirect":
            assert isinstance(route.target, RedirectTarget)
            return new_uri(self.routed, route, route.target)
        if route.kind == "direct_response":
            assert isinstance(route.target, DirectTarget)
            status = route.target.status
            if status == 201 or 300 <= status < 400:
                return new_uri(self.routed, route, None)
        return None

    @property
    def status(self) -> int | None:
        """The status Envoy itself answers with (None when the request goes upstream)."""
        if self.tls_redirect:
            return 301
        route = self.route
        if route is None:
            return NO_ROUTE_STATUS
        t = route.target
        if isinstance(t, RedirectTarget):
            return t.status
        if isinstance(t, DirectTarget):
            return t.status
        if isinstance(t, RouteTarget):
            known = self.matcher.rc.clusters
            if not self.cluster or (known is not None and self.cluster not in known):
                return t.cluster_not_found_code
        return None

    @property
    def grpc(self) -> bool:
        return is_grpc(self.routed)

    @property
    def wire_status(self) -> int | None:
        """The HTTP status on the wire: Envoy answers a gRPC request's local replies (no route, redirect, direct
        response) as HTTP 200 with a grpc-status."""
        status = self.status
        return 200 if status is not None and self.grpc else status

    @property
    def body(self) -> str | None:
        route = self.route
        if route is None:
            return ""
        t = route.target
        return (t.body or "") if isinstance(t, DirectTarget) and not self.tls_redirect else None

    @property
    def virtual_cluster(self) -> str:
        vh = self.virtual_host
        return virtual_cluster(vh, self.routed) if vh is not None and self.route is not None else ""

    def upstream_headers(self) -> dict[str, str]:
        """Request headers as the upstream gets them (route, virtual host and configuration mutations)."""
        r = self.routed
        headers = {":method": r.request.method, ":authority": self.upstream_host or r.authority,
                   ":path": self.upstream_path or r.path, ":scheme": r.request.scheme, **r.headers}
        headers["host"] = headers[":authority"]
        for add, remove in self._levels("request"):
            _apply(headers, add, remove)
        return headers

    def response_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.location:
            headers["location"] = self.location
        if self.route is not None:
            for add, remove in self._levels("response"):
                _apply(headers, add, remove)
        return headers

    def _levels(self, which: str) -> list[tuple[list[tuple[str, str, str]], list[str]]]:
        rc, vh, route = self.matcher.rc, self.virtual_host, self.route
        levels = [obj for obj in (route, vh, rc) if obj is not None]
        if rc.most_specific_header_mutations_wins:
            levels.reverse()
        if which == "request":
            return [(o.request_headers_to_add, o.request_headers_to_remove) for o in levels]
        return [(o.response_headers_to_add, []) for o in levels]

    # -- why ------------------------------------------------------------------------------------
    @cached_property
    def trace(self) -> list["TraceStep"]:
        vh = self.virtual_host
        if vh is None:
            return []
        stop = self.decision.position if self.decision.position is not None else len(vh.routes) - 1
        steps = []
        for pos in range(stop + 1):
            route = vh.routes[pos]
            why = route_failure(route, self.routed)
            if why is None:
                doubt = uncertainty(route, self.routed)
                steps.append(TraceStep(pos, route, doubt is None, f"may match: {doubt}" if doubt else
                                       f"matched {route.describe_match()}"))
            else:
                steps.append(TraceStep(pos, route, False, why))
        return steps

    @property
    def unmodelled(self) -> list[str]:
        notes = list(self.matcher.rc.notes)
        if self.routed.headers.get("x-forwarded-proto") == "":
            notes.append("unmodelled: an empty x-forwarded-proto header (Envoy 1.40 answers 404 without routing)")
        vh = self.virtual_host
        if vh is not None:
            notes += [f"unmodelled: {u}" for u in vh.unmodelled]
        route = self.route
        if route is not None:
            notes += [f"unmodelled: {u}" for u in route.unmodelled]
        return notes

    @property
    def reason(self) -> str:
        if self.host is None:
            domains = sorted({d for vh in self.matcher.rc.virtual_hosts for d in vh.domains})
            listed = ", ".join(domains[:8]) + (", ..." if len(domains) > 8 else "") if domains else "none"
            return (f"no virtual host of {self.label} claims host {self.routed.authority!r} (domains: {listed}); "
                    f"Envoy answers 404")
        vh = self.host.virtual_host
        if self.tls_redirect:
            return f"virtual host {vh.name} requires TLS ({vh.require_tls}): Envoy redirects to https"
        route = self.route
        if route is None:
            return f"no route of virtual host {vh.name} matches ({len(vh.routes)} tried); Envoy answers 404"
        return f"route {route.label} (#{route.index} of {vh.name}) matched {route.describe_match()}"

    # -- output ---------------------------------------------------------------------------------
    def router_check(self) -> dict[str, Any]:
        """The answer in router_check's validate keys (what a case asserting this outcome would say)."""
        route = self.route
        kind = self.action_type
        out: dict[str, Any] = {
            "route_name": route.name if route is not None else "",
            "virtual_host_name": self.virtual_host.name if route is not None else "",
            "virtual_cluster_name": self.virtual_cluster,
            "cluster_name": self.cluster,
            "path_rewrite": self.upstream_path if kind == "route" else "",
            "host_rewrite": self.upstream_host if kind == "route" else "",
            "path_redirect": self.location or "" if kind == "redirect" else "",
            "code_redirect": self.status if kind in ("redirect", "directResponse") else None,
            "direct_response_status": self.status if kind == "directResponse" else None,
            "direct_response_body": self.body if kind == "directResponse" else None,
            "no_match": not self.matched,
        }
        return out

    def to_dict(self) -> dict[str, Any]:
        req = self.request
        route = self.route
        out: dict[str, Any] = {
            "request": {"method": req.method, "scheme": req.scheme, "authority": req.authority, "path": req.path,
                        "headers": dict(req.headers)},
            "matched": self.matched,
            "gateway": self.label,
            "virtualHost": self.virtual_host.name if self.virtual_host is not None else None,
            "domain": {"domain": self.host.domain, "kind": self.host.kind} if self.host is not None else None,
            "route": None if route is None else {
                "name": route.label, "index": route.index, "id": route.id, "matcher": route.raw.get("match", {})},
            "action": self.action_json(),
            "response": self.response_json(),
            "reason": self.reason,
            "trace": [s.to_dict() for s in self.trace],
            "dependsOn": [{"route": self.virtual_host.routes[p].label, "index": p, "why": why}
                          for p, why in self.decision.uncertain],
            "unmodelled": self.unmodelled,
            **self.router_check(),
        }
        return out

    def action_json(self) -> dict[str, Any] | None:
        kind = self.action_type
        if kind is None:
            return None
        out: dict[str, Any] = {"type": kind}
        if kind == "route":
            out["cluster"] = self.cluster
            if self.weighted:
                out["weightedClusters"] = self.weighted
            out["upstreamPath"] = self.upstream_path
            out["upstreamHost"] = self.upstream_host
        elif kind == "redirect":
            out["location"] = self.location
            out["status"] = self.status
        elif kind == "directResponse":
            out["status"] = self.status
            out["body"] = self.body
        return out

    def response_json(self) -> dict[str, Any] | None:
        if self.route is None and not self.tls_redirect:
            out_none: dict[str, Any] = {"status": NO_ROUTE_STATUS, "body": "", "from": "envoy (no route)"}
            if self.grpc:
                out_none["wireStatus"] = 200
            return out_none
        status = self.status
        if status is None:
            return None
        out: dict[str, Any] = {"status": status}
        if self.grpc:
            out["wireStatus"] = 200
            out["note"] = "gRPC request: Envoy sends this local reply as HTTP 200 with a grpc-status"
        if self.location:
            out["location"] = self.location
        if self.action_type == "directResponse":
            out["body"] = self.body
        elif self.action_type == "route":
            out["from"] = f"envoy (cluster {self.cluster or '(none)'} not found)"
        return out


@dataclass(frozen=True)
class TraceStep:
    position: int
    route: EnvoyRoute
    matched: bool
    reason: str

    @property
    def label(self) -> str:
        return self.route.label

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.position, "route": self.label, "matched": self.matched, "reason": self.reason}


def answer(matcher: Matcher, req: Request, label: str = "", random_value: int | None = None) -> EnvoyAnswer:
    r = routed_request(matcher.rc, req, random_value)
    return EnvoyAnswer(matcher, req, r, matcher.decide(r), label)
