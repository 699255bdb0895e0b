"""Envoy's routing decision over a compiled RouteConfiguration: the HTTP connection manager's changes to the
request, virtual host by domain, then the first route whose match holds (RouteMatcher::route in Envoy).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ..model.regex import literal_prefix
from ..routing.evaluate import Request
from ..sandbox.index import _PrefixTable
from .routes import EnvoyRoute, EnvoyRouteConfig, EnvoyVirtualHost, HeaderMatch


@dataclass
class Routed:
    """The request as the router sees it, after the connection manager (port strip, merge_slashes, XFP)."""

    request: Request  # as sent
    authority: str
    path: str  # :path, query included
    path_only: str  # what path matchers see (query removed; path parameters too when configured)
    headers: dict[str, str]
    query: dict[str, str]
    random_value: int | None = None

    def header(self, name: str) -> str | None:
        if name[:1] == ":":
            if name == ":authority":
                return self.authority
            if name == ":path":
                return self.path
            if name == ":method":
                return self.request.method
            if name == ":scheme":
                return self.request.scheme
            return None
        if name == "host":  # HTTP/1 Host is :authority inside Envoy
            return self.authority
        return self.headers.get(name)


def split_port(authority: str) -> tuple[str, str | None]:
    """Http::HeaderUtility::getPortStart: the port of host:port or [v6]:port; a bare v6 address has none."""
    if authority.startswith("["):
        end = authority.rfind("]:")
        return (authority[:end + 1], authority[end + 2:]) if end >= 0 else (authority, None)
    colon = authority.rfind(":")
    if colon < 0 or ":" in authority[:colon]:
        return authority, None
    return authority[:colon], authority[colon + 1:]


def merge_slashes(path: str) -> str:
    """PathUtil::mergeSlashes: the segments rejoined, keeping one leading and one trailing slash ("//" stays)."""
    head, sep, query = path.partition("?")
    if "//" not in head:
        return path
    lead = "/" if head.startswith("/") else ""
    trail = "/" if head.endswith("/") else ""
    return lead + "/".join(s for s in head.split("/") if s) + trail + sep + query


def routed_request(rc: EnvoyRouteConfig, req: Request, random_value: int | None = None) -> Routed:
    authority = req.authority
    if rc.strip_any_host_port or rc.strip_matching_host_port:
        host, port = split_port(authority)
        if port is not None and (rc.strip_any_host_port or (rc.listener_port is not None
                                                            and port == str(rc.listener_port))):
            authority = host
    path = merge_slashes(req.path) if rc.merge_slashes else req.path
    path_only = path.split("?", 1)[0]
    if rc.ignore_path_parameters and ";" in path_only:
        path_only = path_only[:path_only.index(";")]
    headers = req.headers
    if "x-forwarded-proto" not in headers:  # the connection manager sets it before routing when absent
        headers = {**headers, "x-forwarded-proto": req.scheme}
    query: dict[str, str] = {}
    if "?" in path:
        for part in path.split("?", 1)[1].split("&"):
            name, _, value = part.partition("=")
            if name not in query:
                query[name] = value
    return Routed(req, authority, path, path_only, headers, query, random_value)


# -- virtual hosts ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class HostChoice:
    virtual_host: EnvoyVirtualHost
    domain: str
    kind: str  # exact | suffix | prefix | any


class DomainIndex:
    """RouteMatcher::findVirtualHost: exact, then the longest `*` suffix wildcard, then the longest prefix
    wildcard, then `*`. Domains compare lower-case; a wildcard never matches an empty remainder."""

    def __init__(self, rc: EnvoyRouteConfig) -> None:
        self.ignore_port = rc.ignore_port_in_host_matching
        self.exact: dict[str, HostChoice] = {}
        self.suffix: dict[int, dict[str, HostChoice]] = {}
        self.prefix: dict[int, dict[str, HostChoice]] = {}
        self.default: HostChoice | None = None
        for vh in rc.virtual_hosts:
            for domain in vh.domains:
                low = domain.lower()
                if low == "*":
                    self.default = self.default or HostChoice(vh, domain, "any")
                elif low.startswith("*"):
                    self.suffix.setdefault(len(low) - 1, {}).setdefault(low[1:], HostChoice(vh, domain, "suffix"))
                elif low.endswith("*"):
                    self.prefix.setdefault(len(low) - 1, {}).setdefault(low[:-1], HostChoice(vh, domain, "prefix"))
                else:
                    self.exact.setdefault(low, HostChoice(vh, domain, "exact"))
        self.suffix_lengths = sorted(self.suffix, reverse=True)
        self.prefix_lengths = sorted(self.prefix, reverse=True)
        self._cache: dict[str, HostChoice | None] = {}

    def select(self, authority: str) -> HostChoice | None:
        try:
            return self._cache[authority]
        except KeyError:
            pass
        found = self._select(authority)
        if len(self._cache) < 10_000:
            self._cache[authority] = found
        return found

    def _select(self, authority: str) -> HostChoice | None:
        if not (self.exact or self.suffix or self.prefix):
            return self.default
        host = split_port(authority)[0] if self.ignore_port else authority
        host = host.lower()
        hit = self.exact.get(host)
        if hit is not None:
            return hit
        n = len(host)
        for length in self.suffix_lengths:
            if length < n:
                hit = self.suffix[length].get(host[n - length:])
                if hit is not None:
                    return hit
        for length in self.prefix_lengths:
            if length < n:
                hit = self.prefix[length].get(host[:length])
                if hit is not None:
                    return hit
        return self.default


# -- routes ------------------------------------------------------------------------------------------

UNDECIDED = "undecided"


def runtime_verdict(route: EnvoyRoute, random_value: int | None) -> bool | str:
    """Envoy's featureEnabled with the default fraction (the runtime key is assumed not overridden)."""
    assert route.runtime is not None
    numerator, denominator, _ = route.runtime
    if random_value is not None:
        return random_value % denominator < numerator
    if numerator >= denominator:
        return True
    if numerator <= 0:
        return False
    return UNDECIDED


def is_grpc(r: Routed) -> bool:
    ct = r.headers.get("content-type", "")
    return ct == "application/grpc" or (ct.startswith("application/grpc") and ct[16:17] in ("+", ";"))


def route_failure(route: EnvoyRoute, r: Routed) -> str | None:
    """The first condition of the route the request fails (None when every modelled condition holds)."""
    # the uri template matcher sees the path before ignore_path_parameters_in_path_matching (differential test)
    kind = route.path.kind
    if kind == "connect":
        if r.request.method != "CONNECT":
            return "connect_matcher: only CONNECT requests"
    elif kind != "none":  # "none": a path_match_policy we do not model; uncertainty() says so
        target = r.path.split("?", 1)[0] if kind == "uri_template" else r.path_only
        if route.path.matched_length(target) is None:
            return f"{route.path.describe()} does not match {r.path_only}"
    for h in route.headers:
        if not h.holds(r.header):
            return f"{h.describe()} does not hold (got {r.header(h.name)!r})"
    for q in route.query:
        if not q.holds(r.query):
            return f"{q.describe()} does not hold (got {r.query.get(q.name)!r})"
    if route.grpc and not is_grpc(r):
        return "grpc: content-type is not application/grpc"
    if route.runtime is not None and runtime_verdict(route, r.random_value) is False:
        return f"runtime fraction {route.runtime[0]}/{route.runtime[1]} not taken"
    return None


def uncertainty(route: EnvoyRoute, r: Routed) -> str | None:
    """Why a route whose modelled conditions hold may still not take the request."""
    notes = [f"unmodelled: {u}" for u in route.unmodelled_match]
    if route.runtime is not None and runtime_verdict(route, r.random_value) == UNDECIDED:
        n, d, key = route.runtime
        notes.append(f"depends on runtime: {key or 'runtime_fraction'} takes {100 * n / d:g}% of requests")
    return "; ".join(notes) or None


class RouteIndex:
    """Candidates by path (exact dict, prefix walk); the rest is checked in route order. Same answer as a scan."""

    def __init__(self, routes: Sequence[EnvoyRoute]) -> None:
        self.routes = list(routes)
        self.exact: dict[str, list[int]] = {}
        self.exact_ci: dict[str, list[int]] = {}
        self.prefix = _PrefixTable()
        self.prefix_ci = _PrefixTable()
        self.always: list[int] = []
        for pos, route in enumerate(self.routes):
            p = route.path
            if p.kind == "path":
                (self.exact_ci if p.ignore_case else self.exact).setdefault(
                    p.value.lower() if p.ignore_case else p.value, []).append(pos)
            elif p.kind in ("prefix", "path_separated_prefix"):
                if p.ignore_case:
                    self.prefix_ci.add(p.value.lower(), pos)
                else:
                    self.prefix.add(p.value, pos)
            elif p.kind == "safe_regex" and literal_prefix(p.value):
                self.prefix.add(literal_prefix(p.value), pos)
            else:
                self.always.append(pos)
        self.prefix.freeze()
        self.prefix_ci.freeze()

    def candidates(self, path_only: str) -> list[int]:
        found: list[int] = []
        hit = self.exact.get(path_only)
        if hit:
            found.extend(hit)
        self.prefix.prefixes_of(path_only, found)
        if self.exact_ci or self.prefix_ci.by_key:
            lower = path_only.lower()
            hit = self.exact_ci.get(lower)
            if hit:
                found.extend(hit)
            self.prefix_ci.prefixes_of(lower, found)
        found.extend(self.always)
        return sorted(set(found))


@dataclass
class RouteDecision:
    """Which route takes the request; the routes that might take it first (runtime, unmodelled conditions)."""

    host: HostChoice | None
    position: int | None
    uncertain: list[tuple[int, str]] = field(default_factory=list)

    @property
    def route(self) -> EnvoyRoute | None:
        return self.host.virtual_host.routes[self.position] if self.host is not None and self.position is not None \
            else None


class Matcher:
    """Answers requests for one route configuration (indexes built lazily per virtual host)."""

    def __init__(self, rc: EnvoyRouteConfig) -> None:
        self.rc = rc
        self.domains = DomainIndex(rc)
        self._indexes: dict[int, RouteIndex] = {}

    def index(self, vh: EnvoyVirtualHost) -> RouteIndex:
        ix = self._indexes.get(id(vh))
        if ix is None:
            ix = self._indexes[id(vh)] = RouteIndex(vh.routes)
        return ix

    def decide(self, r: Routed) -> RouteDecision:
        host = self.domains.select(r.authority)
        if host is None:
            return RouteDecision(None, None)
        routes = host.virtual_host.routes
        uncertain: list[tuple[int, str]] = []
        for pos in self.index(host.virtual_host).candidates(r.path_only):
            route = routes[pos]
            if route_failure(route, r) is None:
                why = uncertainty(route, r)
                if why is None:
                    return RouteDecision(host, pos, uncertain)
                uncertain.append((pos, why))
        return RouteDecision(host, None, uncertain)


def scan(routes: Sequence[EnvoyRoute], r: Routed) -> int | None:
    """The plain reading (every route in order), for tests of the index."""
    for pos, route in enumerate(routes):
        if route_failure(route, r) is None and uncertainty(route, r) is None:
            return pos
    return None


def virtual_cluster(vh: EnvoyVirtualHost, r: Routed) -> str:
    for vc in vh.virtual_clusters:
        if all(h.holds(r.header) for h in vc.headers):
            return vc.name
    return ""


def header_conditions(headers: Sequence[HeaderMatch], r: Routed) -> bool:
    return all(h.holds(r.header) for h in headers)
