"""The request sandbox: gateway and virtual host by authority, first matching route, what happens next, and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..mesh.index import Backend, Locality, MeshIndex
from ..model.common import DirectResponseAction, RedirectAction, RouteAction
from ..model.snapshot import Snapshot
from ..routing.actions import action_dict
from ..routing.evaluate import Request
from ..routing.hosts import HostIndex, HostMatch, normalise_host
from ..routing.matchers import EffectiveMatcher
from ..routing.types import FlattenedRoute, GatewayView, RoutingView, VirtualHostView
from ..routing.view import build_routing_view
from .explain import TraceEntry, closest_misses, route_label, trace
from .index import RouteHit, RouteIndex
from .outcome import redirect_location, regex_rewrite_path, rewrite_path

NO_ROUTE_STATUS = 404  # Envoy's answer when no route matches (empty body)


class SandboxError(ValueError):
    """A question the sandbox cannot answer as asked (unknown gateway, no gateway at all)."""


@dataclass(frozen=True)
class RouteFacts:
    """What assertions and output need of a route, computed once per route."""

    label: str
    owner_ref: str
    chain: tuple[str, ...]
    action_type: str
    destinations: tuple[dict[str, Any], ...]  # stable action shape + effective namespace + envoyCluster


@dataclass(frozen=True)
class GatewayChoice:
    gateway: GatewayView
    note: str | None = None  # set when meshctl picked the gateway among several


class Sandbox:
    """Answers requests against one snapshot. Compiled indexes and resolved backends are cached per route."""

    def __init__(self, snapshot: Snapshot, view: RoutingView | None = None, mesh: MeshIndex | None = None) -> None:
        self.snapshot = snapshot
        self.view = view if view is not None else build_routing_view(snapshot)
        self._mesh = mesh
        self._host_indexes: dict[int, HostIndex] = {}  # by id() of a GatewayView the view keeps alive
        self._route_indexes: dict[int, RouteIndex] = {}
        self._backends: dict[int, tuple[FlattenedRoute, list[Backend]]] = {}
        self._facts: dict[int, tuple[FlattenedRoute, RouteFacts]] = {}
        self._choices: dict[str, GatewayChoice] = {}
        self._only = GatewayChoice(self.view.gateways[0]) if len(self.view.gateways) == 1 else None

    # -- lookups --------------------------------------------------------------------------------
    @property
    def mesh(self) -> MeshIndex:
        if self._mesh is None:
            self._mesh = MeshIndex(self.snapshot)
        return self._mesh

    @property
    def gateways(self) -> list[GatewayView]:
        return self.view.gateways

    def gateway(self, name: str) -> GatewayView:
        g = self.view.gateway(name)
        if g is None:
            known = ", ".join(x.name for x in self.gateways) or "none"
            raise SandboxError(f"unknown gateway {name!r} (known: {known})")
        return g

    def host_index(self, gateway: GatewayView) -> HostIndex:
        index = self._host_indexes.get(id(gateway))
        if index is None:
            index = self._host_indexes[id(gateway)] = HostIndex(gateway.virtual_hosts)
        return index

    def route_index(self, vhost: VirtualHostView) -> RouteIndex:
        index = self._route_indexes.get(id(vhost))
        if index is None:
            index = self._route_indexes[id(vhost)] = RouteIndex(vhost.routes)
        return index

    def choose_gateway(self, authority: str, requested: str | None = None) -> GatewayChoice:
        """The named gateway; else the only one; else the first (by name) whose virtual hosts claim the host."""
        if requested:
            return GatewayChoice(self.gateway(requested))
        if self._only is not None:
            return self._only
        if not self.gateways:
            raise SandboxError("the configuration has no VirtualGateway, so no request can be routed")
        host = normalise_host(authority)
        cached = self._choices.get(host)
        if cached is not None:
            return cached
        claiming = [g for g in self.gateways if self.host_index(g).select(authority) is not None]
        if claiming:
            others = f" (also claimed by {', '.join(g.name for g in claiming[1:])})" if len(claiming) > 1 else ""
            note = (f"{len(self.gateways)} gateways; chose {claiming[0].name}, the first by name whose virtual "
                    f"hosts claim {host!r}{others}; pass --gateway to pick another")
            choice = GatewayChoice(claiming[0], note)
        else:
            choice = GatewayChoice(self.gateways[0], f"{len(self.gateways)} gateways and none claims {host!r}; "
                                                      f"answered for the first by name, {self.gateways[0].name}")
        if len(self._choices) < 10_000:
            self._choices[host] = choice
        return choice

    def backends_for(self, route: FlattenedRoute) -> list[Backend]:
        """Every destination of a route resolved through the mesh index (cached per route)."""
        cached = self._backends.get(id(route))
        if cached is not None and cached[0] is route:
            return cached[1]
        action = route.action
        backends: list[Backend] = []
        if isinstance(action, RouteAction):
            backends = [self.mesh.resolve(d, route.owner.namespace) for d in action.destinations]
        self._backends[id(route)] = (route, backends)
        return backends

    def facts(self, route: FlattenedRoute) -> RouteFacts:
        cached = self._facts.get(id(route))
        if cached is not None and cached[0] is route:
            return cached[1]
        dests: list[dict[str, Any]] = []
        if route.action_type == "route":
            for d, backend in zip(action_dict(route).get("destinations", []), self.backends_for(route), strict=False):
                d = dict(d)
                if not d.get("namespace") and d["kind"] != "clusterHeader":
                    d["namespace"] = route.owner.namespace
                d["envoyCluster"] = backend.envoy_cluster
                dests.append(d)
        facts = RouteFacts(route_label(route), route.owner_ref, tuple(link.ref for link in route.chain),
                           route.action_type, tuple(dests))
        self._facts[id(route)] = (route, facts)
        return facts

    # -- the question ---------------------------------------------------------------------------
    def evaluate(self, req: Request, gateway: str | None = None, locality: Locality | None = None) -> "SandboxResult":
        choice = self.choose_gateway(req.authority, gateway)
        host = self.host_index(choice.gateway).select(req.authority)
        hit = self.route_index(host.virtual_host).first_match(req) if host is not None else None
        route = host.virtual_host.routes[hit.position] if hit is not None and host is not None else None
        return SandboxResult(self, req, choice.gateway, choice.note, host, hit, locality, route)

    def all_routes(self, gateway: str | None = None) -> list[tuple[GatewayView, VirtualHostView, FlattenedRoute]]:
        gateways = [self.gateway(gateway)] if gateway else self.gateways
        return [(g, v, r) for g in gateways for v in g.virtual_hosts for r in v.routes]


@dataclass
class SandboxResult:
    """One request's fate. Cheap to build; trace, backends and JSON are computed when first asked for."""

    sandbox: Sandbox = field(repr=False)
    request: Request
    gateway: GatewayView
    gateway_note: str | None
    host: HostMatch | None
    hit: RouteHit | None
    locality: Locality | None = None
    route: FlattenedRoute | None = None  # the matched route (hit.position in the virtual host's routes)

    # -- what matched ---------------------------------------------------------------------------
    @property
    def matched(self) -> bool:
        return self.hit is not None

    @property
    def virtual_host(self) -> VirtualHostView | None:
        return self.host.virtual_host if self.host is not None else None

    @property
    def matcher(self) -> EffectiveMatcher | None:
        route = self.route
        return route.matchers[self.hit.matcher_index] if route is not None and self.hit is not None else None

    @property
    def action_type(self) -> str | None:
        route = self.route
        return route.action_type if route is not None else None

    # -- what happens next ----------------------------------------------------------------------
    @cached_property
    def upstream_path(self) -> str | None:
        route, matcher = self.route, self.matcher
        if route is None or matcher is None or route.action_type != "route":
            return None
        action = route.action
        assert isinstance(action, RouteAction)
        regex_rewrite = getattr(action, "regex_rewrite", None)  # Gloo v2 forwardTo.regexRewrite
        if regex_rewrite is not None:
            return regex_rewrite_path(self.request.path, *regex_rewrite)
        if action.path_rewrite is None:
            return self.request.path
        return rewrite_path(self.request.path, matcher, action.path_rewrite)

    @cached_property
    def location(self) -> str | None:
        route, matcher = self.route, self.matcher
        if route is None or matcher is None:
            return None
        action = route.action
        if not isinstance(action, RedirectAction) or route.action_type != "redirect":
            return None
        return redirect_location(action, matcher, self.request)

    @property
    def status(self) -> int | None:
        """The status the gateway itself answers with (None when the request goes upstream)."""
        route = self.route
        if route is None:
            return NO_ROUTE_STATUS
        action = route.action
        if isinstance(action, (DirectResponseAction, RedirectAction)):
            return action.status
        return None

    @property
    def body(self) -> str | None:
        route = self.route
        if route is None:
            return ""
        action = route.action
        return action.body if isinstance(action, DirectResponseAction) else None

    @cached_property
    def backends(self) -> list[Backend]:
        route = self.route
        return self.sandbox.backends_for(route) if route is not None else []

    @property
    def destinations(self) -> list[dict[str, Any]]:
        """The route's destinations in the stable action shape, namespace defaulted, Envoy cluster added."""
        route = self.route
        if route is None:
            return []
        return [dict(d) for d in self.sandbox.facts(route).destinations]

    @property
    def envoy_cluster(self) -> str:
        """Envoy cluster of the first destination ('' for no route, a direct response or a redirect)."""
        route = self.route
        if route is None:
            return ""
        dests = self.sandbox.facts(route).destinations
        return str(dests[0]["envoyCluster"]) if dests else ""

    def weighted_cluster(self, random_value: int) -> str:
        """The cluster Envoy's weighted_clusters picks for `random_value` (router_check's input.random_value)."""
        dests = self.sandbox.facts(self.route).destinations if self.route is not None else ()
        total = sum(d["weight"] for d in dests)
        if not dests or total <= 0:
            return self.envoy_cluster
        selected = random_value % total
        running = 0
        for d in dests:
            running += d["weight"]
            if selected < running:
                return str(d["envoyCluster"])
        return str(dests[-1]["envoyCluster"])

    # -- why ------------------------------------------------------------------------------------
    @cached_property
    def trace(self) -> list[TraceEntry]:
        vh = self.virtual_host
        if vh is None:
            return []
        return trace(vh.routes, self.request, self.hit.position if self.hit is not None else None)

    @cached_property
    def closest(self) -> list[TraceEntry]:
        return [] if self.matched else closest_misses(self.trace)

    @property
    def reason(self) -> str:
        """One sentence: what decided the outcome."""
        if self.host is None:
            domains = sorted({d for vh in self.gateway.virtual_hosts for d in vh.domains})
            listed = ", ".join(domains[:8]) + (", ..." if len(domains) > 8 else "") if domains else "none"
            return (f"no virtual host of gateway {self.gateway.name} claims host "
                    f"{normalise_host(self.request.authority)!r} (domains: {listed}); Envoy answers 404")
        route = self.route
        vh = self.host.virtual_host
        if route is None:
            if vh.invalid:
                return f"virtual host {vh.name} is invalid and produces no routes; Envoy answers 404"
            return f"no route of virtual host {vh.name} matches ({len(vh.routes)} tried); Envoy answers 404"
        assert self.hit is not None and self.matcher is not None
        return f"route {route_label(route)} (#{self.hit.position} of {vh.name}) matched {self.matcher.describe()}"

    # -- output ---------------------------------------------------------------------------------
    def action_json(self) -> dict[str, Any] | None:
        route = self.route
        if route is None:
            return None
        out = action_dict(route)
        if out["type"] == "route":
            out["destinations"] = self.destinations
            out["upstreamPath"] = self.upstream_path
        elif out["type"] == "redirect":
            out["location"] = self.location
        return out

    def response_json(self) -> dict[str, Any] | None:
        if self.route is None:
            return {"status": NO_ROUTE_STATUS, "body": "", "from": "envoy (no route)"}
        kind = self.action_type
        if kind == "directResponse":
            return {"status": self.status, "body": self.body}
        if kind == "redirect":
            return {"status": self.status, "location": self.location}
        return None

    def route_json(self) -> dict[str, Any] | None:
        route = self.route
        if route is None or self.hit is None or self.matcher is None:
            return None
        return {"name": route_label(route), "owner": route.owner_ref, "chain": [link.ref for link in route.chain],
                "index": self.hit.position, "id": route.id, "matcher": self.matcher.to_dict(),
                "position": {"reason": route.position.reason, "detail": route.position.detail},
                **({"policies": list(route.applied_policies)} if route.applied_policies else {})}

    def to_dict(self) -> dict[str, Any]:
        req = self.request
        out: dict[str, Any] = {
            "request": {"method": req.method, "scheme": req.scheme, "authority": req.authority, "path": req.path,
                        "headers": dict(req.headers)},
            "matched": self.matched,
            "gateway": self.gateway.name,
        }
        if self.gateway_note:
            out["gatewayChoice"] = self.gateway_note
        out["virtualHost"] = self.virtual_host.name if self.virtual_host is not None else None
        out["domain"] = {"domain": self.host.domain, "kind": self.host.kind} if self.host is not None else None
        out["route"] = self.route_json()
        out["action"] = self.action_json()
        out["response"] = self.response_json()
        out["backends"] = [
            {"destination": i, **b.to_dict(self.locality)} for i, b in enumerate(self.backends)
        ] if self.action_type == "route" else []
        out["fromLocality"] = str(self.locality) if self.locality is not None else None
        out["reason"] = self.reason
        out["trace"] = [e.to_dict() for e in self.trace]
        if not self.matched:
            out["closestMisses"] = [e.to_dict() for e in self.closest]
        return out
