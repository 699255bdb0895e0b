"""What the route engine produces: flattened routes in Envoy order with provenance, and the tree they came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..model.common import DirectResponseAction, Policy, RedirectAction, Route, RouteAction
from ..model.findings import Finding
from ..model.resources import Resource, VirtualGateway
from ..model.v2.resources import VirtualGatewayV2
from .matchers import EffectiveMatcher

ActionType = Literal["route", "directResponse", "redirect", "delegate", "none"]


@dataclass(slots=True)
class ChainLink:
    """One step from the VirtualHost down: which resource, which of its routes, and that resource's weight.

    Never changed after the engine creates it (not frozen only because that makes creating one five times
    slower, and the engine creates one per route)."""

    resource: Resource
    route_index: int
    route_name: str
    route_path: tuple[Any, ...]  # field path of the route inside the resource, e.g. ('spec', 'routes', 2)
    weight: int | None = None  # RouteTable weight (None for the VirtualHost / gateway)
    id_part: str = field(default="", compare=False)  # this link in route ids (ref, made unique); set by the engine

    @property
    def owner(self) -> str:
        return self.resource.ref

    @property
    def ref(self) -> str:
        """"Kind/ns/name#routeName" (the route's index when it has no name)."""
        return f"{self.resource.ref}#{self.route_name or self.route_index}"


@dataclass(slots=True)
class Position:
    """Why a route sits where it sits. Its place in the virtual host's Envoy route list is not here but in the
    view (`VirtualHostView.index_of`): an edit that moves routes then leaves every later route object as it was,
    so the next build, the route memo and shadowing can share them."""

    reason: str  # "written order", "table weight", "route specificity"
    detail: str  # one sentence an operator can read


@dataclass
class FlattenedRoute:
    """One route as Envoy will see it, with everything needed to explain where it came from."""

    id: str  # unique within the virtual host: the chain refs joined by " > " ("@index" added to ambiguous names)
    name: str
    chain: tuple[ChainLink, ...]
    matchers: tuple[EffectiveMatcher, ...]
    route: Route
    options: Policy
    position: Position
    valid: bool = True
    problems: list[str] = field(default_factory=list)
    replaced_by_direct_response: tuple[int, str] | None = None  # invalidRoutePolicy.directResponse
    labels: dict[str, str] = field(default_factory=dict)
    sort_method: str | None = None  # of the delegate that ordered it (None at the top level)
    branch_weight: int | None = None
    applied_policies: list[str] = field(default_factory=list)  # Gloo v2 route policies ("Kind/ns/name")

    @property
    def owner(self) -> Resource:
        return self.chain[-1].resource

    @property
    def owner_ref(self) -> str:
        return self.chain[-1].owner

    @property
    def action_type(self) -> ActionType:
        if self.replaced_by_direct_response is not None:
            return "directResponse"
        r = self.route
        if r.route_action is not None:
            return "route"
        if r.direct_response_action is not None:
            return "directResponse"
        if r.redirect_action is not None:
            return "redirect"
        return "none"

    @property
    def action(self) -> RouteAction | DirectResponseAction | RedirectAction | None:
        if self.replaced_by_direct_response is not None:
            code, body = self.replaced_by_direct_response
            return DirectResponseAction(status=code, body=body)
        r = self.route
        return r.route_action or r.direct_response_action or r.redirect_action

    def describe_match(self) -> str:
        return " | ".join(m.describe() for m in self.matchers) or "(nothing)"


@dataclass
class TableNode:
    """A RouteTable as reached from one delegating route."""

    table: Resource
    weight: int
    via: str  # "ref 1" / "selector"
    routes: list["TreeNode"] = field(default_factory=list)


@dataclass
class TreeNode:
    """A route as written, with the flattened routes it produced; delegating routes hold their tables."""

    link: ChainLink
    route: Route
    matchers: tuple[EffectiveMatcher, ...]
    flat_ids: list[str] = field(default_factory=list)
    tables: list[TableNode] = field(default_factory=list)
    sort_method: str | None = None  # effective sort method, for delegating routes
    sort_overridden: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def is_delegate(self) -> bool:
        return self.route.delegate_action is not None


@dataclass
class VirtualHostView:
    owner: Resource  # the VirtualHost, or the VirtualGateway for an inline virtual host
    name: str  # "ns/name" (inline: "ns/gateway-name/inline-N")
    domains: list[str]
    routes: list[FlattenedRoute]  # Envoy order
    tree: list[TreeNode]
    spec_path: tuple[Any, ...]
    invalid: bool = False  # invalid routes and no invalidRoutePolicy: no routes produced
    invalid_policy: str | None = None  # None / "drop" / "directResponse"
    all_routes: list[FlattenedRoute] = field(default_factory=list)  # including dropped invalid ones
    _indexes: tuple[list[FlattenedRoute], dict[str, int]] | None = field(default=None, init=False, repr=False,
                                                                         compare=False)

    def index_of(self, route_id: str) -> int | None:
        """The place of the route with this id in this host's Envoy route list (`routes`); None: not served."""
        cached = self._indexes
        if cached is None or cached[0] is not self.routes:  # built on first use: only readers pay for it
            cached = self._indexes = (self.routes, {r.id: i for i, r in enumerate(self.routes)})
        return cached[1].get(route_id)


@dataclass
class GatewayView:
    gateway: VirtualGateway | VirtualGatewayV2  # v2: one view per HTTP listener
    virtual_hosts: list[VirtualHostView]
    listener: str | None = None  # v2: the listener's label when the gateway has several HTTP listeners
    listener_index: int | None = None  # v2: index in spec.listeners
    default_port: int | None = None  # v2: the listener's own port (the xDS listener port unless overridden)

    @property
    def name(self) -> str:
        base = f"{self.gateway.namespace}/{self.gateway.name}"
        return f"{base}/{self.listener}" if self.listener else base


@dataclass
class RoutingView:
    gateways: list[GatewayView]
    diagnostics: list[Finding]

    def gateway(self, name: str) -> GatewayView | None:
        for g in self.gateways:
            if g.name == name:
                return g
        return None

    def all_routes(self) -> list[tuple[GatewayView, VirtualHostView, FlattenedRoute]]:
        return [(g, v, r) for g in self.gateways for v in g.virtual_hosts for r in v.routes]
