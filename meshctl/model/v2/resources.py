"""Typed views of the v2 routing kinds: VirtualGateway, RouteTable, VirtualDestination and Workspace.

Class names end in V2 so that `Snapshot.typed(RouteTable)` (v1beta1) never returns a v2 object; the `kind`
string is the one written in YAML, so owners print as `RouteTable/ns/name` like v1beta1 ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..common import HttpMatcher
from ..resources import Resource
from ..schema import Model

GLOO_V2 = "networking.gloo.solo.io/v2"
ADMIN_V2 = "admin.gloo.solo.io/v2"


@dataclass
class ObjectReferenceV2(Model):
    name: str = ""
    namespace: str = ""
    cluster: str = ""


@dataclass
class ObjectSelectorV2(Model):
    labels: dict[str, str] = field(default_factory=dict)
    name: str = ""
    namespace: str = ""
    cluster: str = ""
    workspace: str = ""


@dataclass
class PortSelector(Model):
    number: int | None = None
    name: str | None = None


DestinationKind = Literal["SERVICE", "VIRTUAL_DESTINATION", "EXTERNAL_SERVICE"]


@dataclass
class DestinationReference(Model):
    ref: ObjectReferenceV2 | None = None
    aws_lambda: Any = None
    kind: DestinationKind = "SERVICE"
    port: PortSelector | None = None
    subset: dict[str, str] = field(default_factory=dict)
    weight: int = 0


@dataclass
class HttpMatcherV2(HttpMatcher):
    """v2 HTTPRequestMatcher: the v1 fields plus `port` (the listener port the request arrived on)."""

    port: int | None = None


@dataclass
class RegexPattern(Model):
    regex: str = ""


@dataclass
class RegexRewrite(Model):
    pattern: RegexPattern | None = None
    substitution: str = ""


@dataclass
class ForwardToAction(Model):
    destinations: list[DestinationReference] = field(default_factory=list)
    path_rewrite: str | None = None
    regex_rewrite: RegexRewrite | None = None
    host_rewrite: str | None = None
    auto_host_rewrite: bool | None = None


RedirectCodeV2 = Literal["MOVED_PERMANENTLY", "FOUND", "SEE_OTHER", "TEMPORARY_REDIRECT", "PERMANENT_REDIRECT"]


@dataclass
class RedirectActionV2(Model):
    host_redirect: str | None = None
    path_redirect: str | None = None
    response_code: RedirectCodeV2 = "MOVED_PERMANENTLY"


@dataclass
class DirectResponseActionV2(Model):
    status: int = 0
    body: str | None = None


SortMethodV2 = Literal["TABLE_WEIGHT", "ROUTE_SPECIFICITY"]


@dataclass
class DelegateActionV2(Model):
    route_tables: list[ObjectSelectorV2] = field(default_factory=list)
    allowed_routes: list[Any] = field(default_factory=list)
    sort_method: SortMethodV2 = "TABLE_WEIGHT"


V2_ACTION_KEYS = ("forwardTo", "delegate", "redirect", "directResponse", "graphql")


@dataclass
class HTTPRouteV2(Model):
    name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    matchers: list[HttpMatcherV2] = field(default_factory=list)
    forward_to: ForwardToAction | None = None
    delegate: DelegateActionV2 | None = None
    redirect: RedirectActionV2 | None = None
    direct_response: DirectResponseActionV2 | None = None
    graphql: Any = None

    def actions_set(self) -> list[str]:
        return [k for k, v in (("forwardTo", self.forward_to), ("delegate", self.delegate),
                               ("redirect", self.redirect), ("directResponse", self.direct_response),
                               ("graphql", self.graphql)) if v is not None]


@dataclass
class WorkloadSelectorV2(Model):
    selector: ObjectSelectorV2 | None = None
    kind: Literal["KUBE", "VM"] = "KUBE"
    port: PortSelector | None = None


FailureMode = Literal["ROUTE_REPLACEMENT", "FREEZE_CONFIG"]


@dataclass
class RouteTableSpecV2(Model):
    hosts: list[str] = field(default_factory=list)
    virtual_gateways: list[ObjectReferenceV2] = field(default_factory=list)
    workload_selectors: list[WorkloadSelectorV2] = field(default_factory=list)
    apply_to_destinations: list[Any] = field(default_factory=list)
    default_destination: DestinationReference | None = None
    http: list[HTTPRouteV2] = field(default_factory=list)
    tcp: list[Any] = field(default_factory=list)
    tls: list[Any] = field(default_factory=list)
    weight: int = 0
    portal_metadata: Any = None
    failure_mode: FailureMode = "ROUTE_REPLACEMENT"
    virtual_service_annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class RouteTableV2(Resource):
    spec: RouteTableSpecV2 = field(default_factory=RouteTableSpecV2)

    @property
    def is_root(self) -> bool:
        return bool(self.spec.hosts)


@dataclass
class RouteTableFilter(Model):
    host: str = ""
    selector: ObjectSelectorV2 | None = None
    allowed_routes: list[Any] = field(default_factory=list)


@dataclass
class ListenerV2(Model):
    port: PortSelector | None = None
    tls: Any = None
    https_redirect: bool | None = None
    http: dict[str, Any] | None = None
    tcp: dict[str, Any] | None = None
    allowed_route_tables: list[RouteTableFilter] = field(default_factory=list)
    exposed_external_services: list[Any] = field(default_factory=list)
    app_protocol: str = ""

    @property
    def is_http(self) -> bool:
        return self.http is not None and self.tcp is None

    def label(self, index: int) -> str:
        """How the listener is named in gateway names: its port number (or name), else its index."""
        if self.port is not None and self.port.number:
            return str(self.port.number)
        if self.port is not None and self.port.name:
            return self.port.name
        return f"listener-{index}"


@dataclass
class VirtualGatewaySpecV2(Model):
    workloads: list[WorkloadSelectorV2] = field(default_factory=list)
    listeners: list[ListenerV2] = field(default_factory=list)

    # the v1beta1 gateway fields that downstream code (xDS port discovery, locality) reads: none in v2
    @property
    def ingress_gateway_selectors(self) -> list[Any]:
        return []

    @property
    def connection_handlers(self) -> list[Any]:
        return []


@dataclass
class VirtualGatewayV2(Resource):
    spec: VirtualGatewaySpecV2 = field(default_factory=VirtualGatewaySpecV2)


@dataclass
class PortMapping(Model):
    number: int = 0
    protocol: str = ""
    target_port: PortSelector | None = None


@dataclass
class VirtualDestinationSpecV2(Model):
    hosts: list[str] = field(default_factory=list)
    services: list[ObjectSelectorV2] = field(default_factory=list)
    external_services: list[ObjectSelectorV2] = field(default_factory=list)
    external_workloads: list[ObjectSelectorV2] = field(default_factory=list)
    ports: list[PortMapping] = field(default_factory=list)
    client_mode: Any = None


@dataclass
class VirtualDestinationV2(Resource):
    spec: VirtualDestinationSpecV2 = field(default_factory=VirtualDestinationSpecV2)


@dataclass
class WorkspaceV2(Resource):
    """Loaded so a configuration that carries one is accepted; its semantics come with workspaces support."""

    spec: dict[str, Any] = field(default_factory=dict)


@dataclass
class WorkspaceSettingsV2(Resource):
    spec: dict[str, Any] = field(default_factory=dict)


V2_KINDS: dict[tuple[str, str], type[Resource]] = {
    (GLOO_V2, "VirtualGateway"): VirtualGatewayV2,
    (GLOO_V2, "RouteTable"): RouteTableV2,
    (GLOO_V2, "VirtualDestination"): VirtualDestinationV2,
    (ADMIN_V2, "Workspace"): WorkspaceV2,
    (ADMIN_V2, "WorkspaceSettings"): WorkspaceSettingsV2,
}
