"""`meshctl verify`: what the configuration says (the route engine and its sandbox) against what the proxy holds
(the Envoy-config sandbox), compared semantically with one witness request per route.

For every matcher of every configured route: a witness request, the route and action the configuration gives
it, and the route and action the proxy gives it. For every proxy route the configuration does not name: a
witness from the proxy's side. Verdicts: same, different action, missing, extra, shadowed differently,
unverified (no witness could be built; not a failure).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..routing.evaluate import Request
from ..routing.shadow import witness_for
from ..routing.types import FlattenedRoute, GatewayView
from ..sandbox.engine import Sandbox, SandboxResult
from ..sandbox.explain import route_label
from .answer import EnvoyAnswer, answer
from .matching import Matcher
from .shadow import authority_for, envoy_witness

SAME, DIFFERENT, MISSING, EXTRA, SHADOWED, UNVERIFIED = (
    "same", "different action", "missing", "extra", "shadowed differently", "unverified")
FAILING = (DIFFERENT, MISSING, EXTRA, SHADOWED)
SCHEMA = "meshctl.verify/v1"


def envoy_route_names(route: FlattenedRoute) -> list[str]:
    """The names the xDS translation gives the route's Envoy routes (one per matcher); see
    xds/translate_routes.route_names, which this mirrors so that verify needs no protobuf import."""
    base = route.chain[-1].ref
    if len(route.matchers) <= 1:
        return [base]
    return [f"{base}~{i + 1}" for i in range(len(route.matchers))]


@dataclass
class Verdict:
    status: str
    gateway: str
    virtual_host: str
    route: str  # the configuration's route (label), or the proxy route's name for "extra"
    envoy_route: str  # the name the proxy should have (or has, for "extra")
    request: Request | None
    expected: dict[str, Any] = field(default_factory=dict)
    actual: dict[str, Any] = field(default_factory=dict)
    differences: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "gateway": self.gateway, "virtualHost": self.virtual_host,
                "route": self.route, "envoyRoute": self.envoy_route,
                "request": self.request.describe() if self.request is not None else None,
                "expected": self.expected, "actual": self.actual, "differences": self.differences}

    def render(self) -> str:
        head = f"{self.status.upper():<21} {self.route}"
        lines = [head]
        if self.request is not None:
            lines.append(f"    request  {self.request.describe()}")
        if self.expected:
            lines.append(f"    config   {_summary(self.expected)}")
        if self.actual:
            lines.append(f"    proxy    {_summary(self.actual)}")
        lines.extend(f"    differs  {d}" for d in self.differences)
        return "\n".join(lines)


def _summary(outcome: dict[str, Any]) -> str:
    route = outcome.get("route") or "(no route)"
    action = outcome.get("action") or {}
    kind = action.get("type")
    if kind == "route":
        what = "→ " + ", ".join(f"{c} ({w})" for c, w in action.get("clusters", [])) + f" path {action.get('path')}"
    elif kind == "redirect":
        what = f"redirect {action.get('status')} {action.get('location')}"
    elif kind == "directResponse":
        what = f"direct response {action.get('status')} {action.get('body')!r}"
    else:
        what = "404 no route"
    return f"{route}: {what}"


@dataclass
class VerifyReport:
    source: str
    verdicts: list[Verdict]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(v.status in FAILING for v in self.verdicts)

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in (SAME, DIFFERENT, MISSING, EXTRA, SHADOWED, UNVERIFIED)}
        for v in self.verdicts:
            out[v.status] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "proxy": self.source, "ok": self.ok, "counts": self.counts(),
                "seconds": round(self.seconds, 3), "routes": [v.to_dict() for v in self.verdicts]}

    def render(self) -> str:
        lines = [v.render() for v in self.verdicts if v.status != SAME]
        counts = self.counts()
        lines.append(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no routes")
        lines.append("configuration and proxy agree" if self.ok else "configuration and proxy DIFFER")
        return "\n".join(lines)


# -- the two sides in one shape ---------------------------------------------------------------------

def _weights(pairs: list[tuple[str, int]]) -> list[tuple[str, float]]:
    total = sum(w for _, w in pairs) or 1
    return sorted((c, round(w / total, 4)) for c, w in pairs if w > 0)


def config_outcome(result: SandboxResult, names: dict[int, list[str]]) -> dict[str, Any]:
    route = result.route
    if route is None:
        return {"route": None, "action": None}
    hit = result.hit
    index = hit.matcher_index if hit is not None else 0
    route_names = names.get(id(route)) or envoy_route_names(route)
    out: dict[str, Any] = {"route": route_names[min(index, len(route_names) - 1)]}
    kind = result.action_type
    if kind == "route":
        dests = result.destinations
        out["action"] = {"type": "route", "clusters": _weights([(str(d["envoyCluster"]), int(d.get("weight") or 1))
                                                                for d in dests]) if len(dests) > 1
                         else [(str(dests[0]["envoyCluster"]), 1.0)] if dests else [],
                         "path": result.upstream_path}
    elif kind == "redirect":
        out["action"] = {"type": "redirect", "status": result.status, "location": result.location}
    elif kind == "directResponse":
        out["action"] = {"type": "directResponse", "status": result.status, "body": result.body or ""}
    else:
        out["action"] = {"type": kind}
    return out


def proxy_outcome(a: EnvoyAnswer) -> dict[str, Any]:
    route = a.route
    if route is None and not a.tls_redirect:
        return {"route": None, "action": None}
    out: dict[str, Any] = {"route": route.name if route is not None else "(require_tls)"}
    kind = a.action_type
    if kind == "route":
        weighted = a.weighted
        clusters = _weights([(w["cluster"], w["weight"]) for w in weighted]) if len(weighted) > 1 \
            else [(a.cluster, 1.0)]
        out["action"] = {"type": "route", "clusters": clusters, "path": a.upstream_path}
    elif kind == "redirect":
        out["action"] = {"type": "redirect", "status": a.status, "location": a.location}
    elif kind == "directResponse":
        out["action"] = {"type": "directResponse", "status": a.status, "body": a.body or ""}
    else:
        out["action"] = {"type": kind}
    if a.unmodelled:
        out["unmodelled"] = a.unmodelled
    return out


def _action_differences(expected: dict[str, Any] | None, actual: dict[str, Any] | None) -> list[str]:
    expected, actual = expected or {}, actual or {}
    out = []
    for key in sorted(set(expected) | set(actual)):
        e, a = expected.get(key), actual.get(key)
        if isinstance(e, list):
            e = [tuple(x) for x in e]
        if isinstance(a, list):
            a = [tuple(x) for x in a]
        if e != a:
            out.append(f"{key}: config {e!r}, proxy {a!r}")
    return out


# -- the comparison ---------------------------------------------------------------------------------

def verify(sandbox: Sandbox, gateways: list[GatewayView], matcher: Matcher, label: str,
           only_hosts: set[str] | None = None) -> VerifyReport:
    """`only_hosts`: look for extra proxy routes only in virtual hosts serving one of these domains (a sidecar's
    route configuration also holds the per-service hosts of plain Kubernetes routing, which no Gloo route defines)."""
    started = time.perf_counter()
    rc = matcher.rc
    proxy_names = {r.name for _, r in rc.all_routes()}
    names: dict[int, list[str]] = {}
    config_names: set[str] = set()
    for g in gateways:
        for vh in g.virtual_hosts:
            for route in vh.routes:
                names[id(route)] = envoy_route_names(route)
                config_names.update(names[id(route)])
    verdicts: list[Verdict] = []
    for g in gateways:
        for vh in g.virtual_hosts:
            authority = authority_for(list(vh.domains))
            for route in vh.routes:
                if not route.valid:
                    continue  # the translation serves no invalid route, and the engine reports it already
                for mi, m in enumerate(route.matchers):
                    name = names[id(route)][min(mi, len(names[id(route)]) - 1)]
                    verdicts.append(_one(sandbox, g, vh.name, route_label(route), name, witness_for(m, authority),
                                         matcher, label, names, proxy_names))
    for proxy_vh, proxy_route in rc.all_routes():
        if proxy_route.name in config_names:
            continue
        if only_hosts is not None and not only_hosts.intersection(proxy_vh.domains):
            continue
        witness = envoy_witness(matcher, proxy_vh, proxy_route)
        v = Verdict(EXTRA, gateways[0].name if gateways else "", proxy_vh.name, proxy_route.label, proxy_route.name,
                    witness)
        if witness is not None:
            v.actual = proxy_outcome(answer(matcher, witness, label))
            if gateways:
                v.expected = config_outcome(sandbox.evaluate(witness, gateways[0].name), names)
            if v.actual.get("route") != proxy_route.name:
                v.differences.append("the witness goes to an earlier proxy route, so this one is never used")
        else:
            v.differences.append("no witness request could be built for this proxy route")
        verdicts.append(v)
    return VerifyReport(label, verdicts, time.perf_counter() - started)


def _one(sandbox: Sandbox, g: GatewayView, vhost: str, label: str, name: str, witness: Request | None,
         matcher: Matcher, proxy_label: str, names: dict[int, list[str]], proxy_names: set[str]) -> Verdict:
    if witness is None:
        status = UNVERIFIED if name in proxy_names else MISSING
        v = Verdict(status, g.name, vhost, label, name, None)
        v.differences.append("no witness request could be built for this route"
                             + ("" if status == UNVERIFIED else "; the proxy has no route of this name"))
        return v
    expected = config_outcome(sandbox.evaluate(witness, g.name), names)
    actual = proxy_outcome(answer(matcher, witness, proxy_label))
    v = Verdict(SAME, g.name, vhost, label, name, witness, expected, actual)
    if expected["route"] == actual["route"]:
        v.differences = _action_differences(expected.get("action"), actual.get("action"))
        if v.differences:
            v.status = DIFFERENT
    elif name not in proxy_names:
        v.status = MISSING
        v.differences.append(f"the proxy has no route {name}")
    else:
        v.status = SHADOWED
        v.differences.append(f"the configuration sends this request to {expected['route'] or '(no route)'}, "
                             f"the proxy to {actual['route'] or '(no route)'}")
    return v
