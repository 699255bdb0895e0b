"""Witness requests for Envoy routes, and which earlier routes shadow each one (the route table as Envoy holds it).

A route's conditions are turned into the route engine's EffectiveMatcher where they can be said that way, so the
one witness generator (routing/shadow.py) serves both sides; every witness is then proved with the Envoy matcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..routing.evaluate import Request
from ..routing.matchers import EffectiveMatcher, HeaderCondition, QueryCondition, re2_escape
from ..routing.shadow import covers, witness_for
from .answer import answer
from .matching import Matcher, route_failure, routed_request, uncertainty
from .routes import EnvoyRoute, EnvoyRouteConfig, EnvoyVirtualHost, StringMatch, template_regex


def _string_regex(s: StringMatch) -> tuple[str, bool]:
    """(value, is_regex) of a StringMatch in the engine's terms."""
    if s.kind == "regex":
        return s.value, True
    if s.kind == "exact" and not s.ignore_case:
        return s.value, False
    core = re2_escape(s.value)
    pattern = {"exact": core, "prefix": core + ".*", "suffix": ".*" + core, "contains": ".*" + core + ".*"}[s.kind]
    return ("(?i)" + pattern if s.ignore_case else pattern), True


def as_effective(route: EnvoyRoute) -> EffectiveMatcher | None:
    """The route's match in the engine's terms; None when a condition has no such form (range, grpc, runtime)."""
    if route.unmodelled_match or route.grpc or route.runtime is not None:
        return None
    p = route.path
    if p.kind == "prefix":
        kind, path, ignore = "prefix", p.value, p.ignore_case
    elif p.kind == "path":
        kind, path, ignore = "exact", p.value, p.ignore_case
    elif p.kind == "safe_regex":
        kind, path, ignore = "regex", p.value, False
    elif p.kind == "path_separated_prefix":
        kind, path, ignore = "regex", re2_escape(p.value) + "(?:/.*)?", False
        if p.ignore_case:
            path = "(?i)" + path
    elif p.kind == "uri_template":
        kind, path, ignore = "regex", template_regex(p.value), False
    else:
        return None
    headers = []
    method = None
    for h in route.headers:
        if h.missing_as_empty or h.range is not None:
            return None
        if h.name == ":method" and h.string is not None and h.string.kind == "exact" and not h.invert \
                and not h.string.ignore_case:
            method = h.string.value
            continue
        if h.name.startswith(":") or h.name == "host":
            return None
        if h.present is not None:
            headers.append(HeaderCondition(h.name, "", False, h.invert != (not h.present)))
        else:
            assert h.string is not None
            value, regex = _string_regex(h.string)
            if not value and not regex:
                return None  # "": the engine reads an empty value as presence
            headers.append(HeaderCondition(h.name, value, regex, h.invert))
    query = []
    for q in route.query:
        if q.present is False:
            return None
        if q.string is None:
            query.append(QueryCondition(q.name))
        else:
            value, regex = _string_regex(q.string)
            if not value:
                return None
            query.append(QueryCondition(q.name, value, regex))
    return EffectiveMatcher(kind, path, ignore, tuple(headers), tuple(query), method, route.name)  # type: ignore[arg-type]


def authority_for(domains: list[str]) -> str:
    """A host the virtual host claims: an exact domain, else a wildcard filled in."""
    for d in domains:
        if "*" not in d:
            return d
    for d in domains:
        if d.startswith("*") and d != "*":
            return "meshctl" + d[1:] if d[1:2] in (".", "-") else "meshctl." + d[1:]
        if d.endswith("*") and d != "*":
            return d[:-1] + "meshctl"
    return "meshctl.example"


def envoy_witness(matcher: Matcher, vh: EnvoyVirtualHost, route: EnvoyRoute) -> Request | None:
    """A request the route's own conditions take (it may still go to an earlier route), proved by the matcher."""
    m = as_effective(route)
    if m is None:
        return None
    req = witness_for(m, authority_for(vh.domains))
    if req is None:
        return None
    r = routed_request(matcher.rc, req)
    if route_failure(route, r) is not None or uncertainty(route, r) is not None:
        return None
    return req


@dataclass
class RouteRow:
    virtual_host: str
    route: EnvoyRoute
    witness: Request | None
    taker: EnvoyRoute | None  # where the witness goes (the route itself unless shadowed)
    full: bool  # the taker takes every request the route takes (proved by covers())

    @property
    def shadowed(self) -> bool:
        return self.taker is not None and self.taker is not self.route

    def to_dict(self) -> dict[str, Any]:
        r = self.route
        out: dict[str, Any] = {"virtualHost": self.virtual_host, "index": r.index, "name": r.name,
                               "match": r.describe_match(), "action": describe_action(r)}
        if r.unmodelled or r.unmodelled_match:
            out["unmodelled"] = r.unmodelled_match + r.unmodelled
        if self.shadowed:
            assert self.taker is not None and self.witness is not None
            out["shadowedBy"] = {"index": self.taker.index, "name": self.taker.label,
                                 "fully": self.full, "witness": describe_request(self.witness)}
        elif self.witness is None:
            out["witness"] = None
        return out


def describe_request(req: Request) -> str:
    return req.describe()


def describe_action(route: EnvoyRoute) -> str:
    from .routes import DirectTarget, RedirectTarget, RouteTarget

    t = route.target
    if isinstance(t, RouteTarget):
        if t.cluster is not None:
            text = f"→ {t.cluster}"
        elif t.cluster_header is not None:
            text = f"→ cluster from header {t.cluster_header}"
        elif t.weighted:
            text = "→ " + ", ".join(f"{w.name} ({w.weight})" for w in t.weighted)
        else:
            text = "→ (cluster not modelled)"
        if t.prefix_rewrite is not None:
            text += f", prefix rewrite {t.prefix_rewrite}"
        if t.regex_rewrite is not None:
            text += f", regex rewrite {t.regex_rewrite[0]} → {t.regex_rewrite[1]}"
        if t.host_rewrite_literal:
            text += f", host {t.host_rewrite_literal}"
        return text
    if isinstance(t, RedirectTarget):
        parts = [f"redirect {t.status}"]
        for label, value in (("scheme", t.scheme), ("host", t.host), ("port", t.port), ("path", t.path),
                             ("prefix", t.prefix_rewrite)):
            if value:
                parts.append(f"{label} {value}")
        return " ".join(parts)
    if isinstance(t, DirectTarget):
        return f"direct response {t.status}" + (f" {t.body!r}" if t.body else "")
    return route.kind


def _partial_loss(matcher: Matcher, vh: EnvoyVirtualHost, route: EnvoyRoute, witness: Request
                  ) -> tuple[Request, EnvoyRoute] | None:
    """A request the route wants that an earlier route takes (the route's witness plus the earlier route's
    header, query and method conditions), proved with the matcher; None when no earlier candidate overlaps."""
    r = routed_request(matcher.rc, witness)
    for pos in matcher.index(vh).candidates(r.path_only):
        if pos >= route.index:
            break
        earlier = vh.routes[pos]
        theirs = envoy_witness(matcher, vh, earlier)
        if theirs is None:
            continue
        path = witness.path
        extra = [f"{k}={v}" for k, v in theirs.query.items() if k not in witness.query]
        if extra:
            path += ("&" if "?" in path else "?") + "&".join(extra)
        merged = Request(method=theirs.method if theirs.method != "GET" else witness.method,
                         authority=witness.authority, path=path, headers={**witness.headers, **theirs.headers},
                         scheme=witness.scheme)
        rm = routed_request(matcher.rc, merged)
        if route_failure(route, rm) is None and uncertainty(route, rm) is None:
            taker = answer(matcher, merged).route
            if taker is not None and taker.index < route.index:
                return merged, taker
    return None


def route_table(rc: EnvoyRouteConfig, matcher: Matcher | None = None) -> list[RouteRow]:
    """Every route in Envoy order with a witness and, when the witness goes to an earlier route, that route."""
    matcher = matcher or Matcher(rc)
    rows = []
    for vh in rc.virtual_hosts:
        effective: dict[int, EffectiveMatcher] = {}
        for route in vh.routes:
            witness = envoy_witness(matcher, vh, route)
            taker = None
            full = False
            if witness is not None:
                taker = answer(matcher, witness).route
                if taker is not None and taker is not route and taker.index < route.index:
                    ma, mb = effective.get(id(taker)), as_effective(route)
                    full = ma is not None and mb is not None and covers(ma, mb)
            if witness is not None and taker is route:
                partial = _partial_loss(matcher, vh, route, witness)
                if partial is not None:
                    witness, taker = partial
            m = as_effective(route)
            if m is not None:
                effective[id(route)] = m
            rows.append(RouteRow(vh.name, route, witness, taker, full))
    return rows


def render_route_table(rows: list[RouteRow], label: str, notes: list[str] | None = None) -> str:
    lines = [f"route configuration {label}"]
    lines.extend(f"  note: {n}" for n in notes or [])
    current = None
    for row in rows:
        if row.virtual_host != current:
            current = row.virtual_host
            lines.append(f"  virtual host {current}")
        r = row.route
        lines.append(f"    [{r.index}] {r.label}  {r.describe_match()}  {describe_action(r)}")
        if row.shadowed:
            assert row.taker is not None and row.witness is not None
            how = "shadowed by" if row.full else "loses requests to"
            lines.append(f"        {how} [{row.taker.index}] {row.taker.label}, e.g. {row.witness.describe()}")
        for note in r.unmodelled_match + r.unmodelled:
            lines.append(f"        unmodelled: {note}")
    return "\n".join(lines)
