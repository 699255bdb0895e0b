"""The resource kinds meshctl understands: Gloo routing kinds, Kubernetes discovery kinds and meshctl's Cluster."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .common import (
    ClusterObjectRef,
    DestinationSelector,
    HttpMatcher,
    Locality,
    ObjectRef,
    ObjectSelector,
    OutlierDetection,
    Policy,
    Route,
)
from .schema import Model
from .yamldoc import Document

GLOO_ENTERPRISE = "networking.enterprise.mesh.gloo.solo.io/v1beta1"
GLOO_NETWORKING_V1 = "networking.mesh.gloo.solo.io/v1"
GLOO_V2 = "networking.gloo.solo.io/v2"
MESHCTL_V1ALPHA1 = "meshctl.io/v1alpha1"
CLUSTER_ANNOTATION = "meshctl.io/cluster"


@dataclass
class ObjectMeta(Model):
    name: str = ""
    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    resource_version: str = ""
    creation_timestamp: str = ""
    uid: str = ""
    generation: int | None = None


@dataclass
class Resource(Model):
    """Envelope shared by every kind. `doc` points back at the text it was read from (for positions)."""

    api_version: str = ""
    kind: str = ""
    metadata: ObjectMeta = field(default_factory=ObjectMeta)
    doc: Document | None = field(default=None, repr=False, compare=False, metadata={"skip": True})
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, metadata={"skip": True})

    NAMESPACED = True

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace

    @property
    def labels(self) -> dict[str, str]:
        return self.metadata.labels

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.metadata.namespace, self.metadata.name)

    @property
    def snapshot_key(self) -> tuple[str, str, str, str]:
        """Identity within a snapshot: discovery objects also carry their cluster (same Service, two clusters)."""
        cluster = self.cluster if self.kind in DISCOVERY_KINDS else ""
        return (self.kind, self.metadata.namespace, self.metadata.name, cluster)

    @property
    def ref(self) -> str:
        """"Kind/namespace/name" — the owner form used in JSON output and route names."""
        if self.NAMESPACED:
            return f"{self.kind}/{self.metadata.namespace}/{self.metadata.name}"
        return f"{self.kind}/{self.metadata.name}"

    @property
    def display(self) -> str:
        """"Kind namespace/name" — the form used in findings ("@cluster" added for discovery objects)."""
        where = f"@{self.cluster}" if self.kind in DISCOVERY_KINDS and self.cluster else ""
        if self.NAMESPACED:
            return f"{self.kind} {self.metadata.namespace}/{self.metadata.name}{where}"
        return f"{self.kind} {self.metadata.name}{where}"

    @property
    def cluster(self) -> str:
        """Cluster a discovery object belongs to (annotation, set by file authors or the kube source)."""
        return self.metadata.annotations.get(CLUSTER_ANNOTATION, "")

    def locate(self, path: tuple[Any, ...] = ()) -> tuple[str | None, int | None, int | None]:
        if self.doc is None:
            return None, None, None
        line, col = self.doc.locate(path)
        return self.doc.file, line, col


# --- Gloo routing kinds -----------------------------------------------------------------------

@dataclass
class InvalidRouteDirectResponse(Model):
    code: int = 404
    body: str = "No valid route configured"


@dataclass
class InvalidRoutePolicy(Model):
    drop: dict[str, Any] | None = None
    direct_response: InvalidRouteDirectResponse | None = None


@dataclass
class VirtualHostOptions(Model):
    traffic_policy: Policy | None = None
    invalid_route_policy: InvalidRoutePolicy | None = None


@dataclass
class VirtualHostSpec(Model):
    domains: list[str] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)
    options: VirtualHostOptions | None = None


@dataclass
class VirtualHost(Resource):
    spec: VirtualHostSpec = field(default_factory=VirtualHostSpec)


@dataclass
class RouteTableSpec(Model):
    routes: list[Route] = field(default_factory=list)
    weight: int = 0


@dataclass
class RouteTable(Resource):
    spec: RouteTableSpec = field(default_factory=RouteTableSpec)


@dataclass
class IngressGatewaySelector(Model):
    destination_selectors: list[DestinationSelector] = field(default_factory=list)
    port_name: str = "tls"


@dataclass
class RouteSpecifier(Model):
    virtual_host_selector: ObjectSelector | None = None
    virtual_host: VirtualHostSpec | None = None


@dataclass
class HttpRoutes(Model):
    route_config: list[RouteSpecifier] = field(default_factory=list)
    route_options: Any = None


@dataclass
class ConnectionMatch(Model):
    server_names: list[str] = field(default_factory=list)
    transport_protocol: str = ""


@dataclass
class ConnectionHandler(Model):
    connection_match: ConnectionMatch | None = None
    http: HttpRoutes | None = None
    tcp: Any = None
    connection_options: Any = None


@dataclass
class VirtualGatewaySpec(Model):
    ingress_gateway_selectors: list[IngressGatewaySelector] = field(default_factory=list)
    connection_handlers: list[ConnectionHandler] = field(default_factory=list)
    options: Any = None


@dataclass
class VirtualGateway(Resource):
    spec: VirtualGatewaySpec = field(default_factory=VirtualGatewaySpec)


@dataclass
class VirtualDestinationPort(Model):
    number: int = 0
    protocol: str = "HTTP"
    target_name: str | None = None
    target_number: int | None = None


@dataclass
class FailoverDirective(Model):
    from_: Locality | None = field(default=None, metadata={"key": "from"})
    to: list[Locality] = field(default_factory=list)


@dataclass
class LocalityConfig(Model):
    destination_selectors: list[DestinationSelector] = field(default_factory=list)
    failover_directives: list[FailoverDirective] = field(default_factory=list)
    outlier_detection: OutlierDetection | None = None


@dataclass
class BackingDestination(Model):
    kube_service: ClusterObjectRef | None = None


@dataclass
class StaticFailover(Model):
    destinations: list[BackingDestination] = field(default_factory=list)


@dataclass
class MeshList(Model):
    meshes: list[ObjectRef] = field(default_factory=list)


@dataclass
class VirtualDestinationSpec(Model):
    hostname: str = ""
    port: VirtualDestinationPort | None = None
    virtual_mesh: ObjectRef | None = None
    mesh_list: MeshList | None = None
    static: StaticFailover | None = None
    localized: LocalityConfig | None = None


@dataclass
class VirtualDestination(Resource):
    spec: VirtualDestinationSpec = field(default_factory=VirtualDestinationSpec)


@dataclass
class RouteSelector(Model):
    virtual_host_refs: list[ObjectRef] = field(default_factory=list)
    virtual_host_selector: ObjectSelector | None = None
    route_table_refs: list[ObjectRef] = field(default_factory=list)
    route_table_selector: ObjectSelector | None = None
    route_label_matcher: dict[str, str] = field(default_factory=dict)


@dataclass
class TrafficPolicySpec(Model):
    source_selector: list[Any] = field(default_factory=list)
    destination_selector: list[DestinationSelector] = field(default_factory=list)
    route_selector: list[RouteSelector] = field(default_factory=list)
    http_request_matchers: list[HttpMatcher] = field(default_factory=list)
    policy: Policy | None = None
    destination_ports: list[int] = field(default_factory=list)


@dataclass
class TrafficPolicy(Resource):
    spec: TrafficPolicySpec = field(default_factory=TrafficPolicySpec)


@dataclass
class ExternalServicePort(Model):
    number: int = 0
    name: str = ""
    protocol: str = "HTTP"
    target_port: Any = None
    clientside_tls: Any = None
    egress_gateway_routes: Any = None


@dataclass
class ExternalServiceSpec(Model):
    hosts: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    ports: list[ExternalServicePort] = field(default_factory=list)
    selector: dict[str, str] = field(default_factory=dict)
    subject_alt_names: list[str] = field(default_factory=list)


@dataclass
class ExternalService(Resource):
    spec: ExternalServiceSpec = field(default_factory=ExternalServiceSpec)


@dataclass
class NamedPort(Model):
    name: str = ""
    number: int = 0


@dataclass
class ExternalEndpointSpec(Model):
    address: str = ""
    ports: list[NamedPort] = field(default_factory=list)
    locality: Locality | None = None


@dataclass
class ExternalEndpoint(Resource):
    spec: ExternalEndpointSpec = field(default_factory=ExternalEndpointSpec)


# --- Kubernetes discovery kinds ---------------------------------------------------------------

@dataclass
class ServicePort(Model):
    name: str = ""
    port: int = 0
    target_port: Any = None
    protocol: str = "TCP"
    node_port: int | None = None
    app_protocol: str | None = None


@dataclass
class ServiceSpec(Model):
    ports: list[ServicePort] = field(default_factory=list)
    selector: dict[str, str] = field(default_factory=dict)
    type: str = "ClusterIP"
    cluster_ip: str | None = field(default=None, metadata={"key": "clusterIP"})


@dataclass
class Service(Resource):
    spec: ServiceSpec = field(default_factory=ServiceSpec)


@dataclass
class TargetRef(Model):
    kind: str = ""
    name: str = ""
    namespace: str = ""


@dataclass
class EndpointAddress(Model):
    ip: str = ""
    hostname: str | None = None
    node_name: str | None = None
    target_ref: TargetRef | None = None


@dataclass
class EndpointPort(Model):
    name: str = ""
    port: int = 0
    protocol: str = "TCP"


@dataclass
class EndpointSubset(Model):
    addresses: list[EndpointAddress] = field(default_factory=list)
    not_ready_addresses: list[EndpointAddress] = field(default_factory=list)
    ports: list[EndpointPort] = field(default_factory=list)


@dataclass
class Endpoints(Resource):
    subsets: list[EndpointSubset] = field(default_factory=list)


@dataclass
class EndpointConditions(Model):
    ready: bool | None = None
    serving: bool | None = None
    terminating: bool | None = None


@dataclass
class SliceEndpoint(Model):
    addresses: list[str] = field(default_factory=list)
    conditions: EndpointConditions | None = None
    node_name: str | None = None
    zone: str | None = None
    target_ref: TargetRef | None = None


@dataclass
class EndpointSlice(Resource):
    address_type: str = "IPv4"
    endpoints: list[SliceEndpoint] = field(default_factory=list)
    ports: list[EndpointPort] = field(default_factory=list)


@dataclass
class Node(Resource):
    NAMESPACED = False


@dataclass
class PodSpec(Model):
    node_name: str = ""


@dataclass
class PodStatus(Model):
    pod_ip: str = field(default="", metadata={"key": "podIP"})
    phase: str = ""


@dataclass
class Pod(Resource):
    spec: PodSpec = field(default_factory=PodSpec)
    status: PodStatus = field(default_factory=PodStatus)


# --- meshctl's own kind for offline multi-cluster setups --------------------------------------

@dataclass
class ClusterEndpoint(Model):
    address: str = ""
    port: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    locality: Locality | None = None
    healthy: bool = True


@dataclass
class ClusterServicePort(Model):
    name: str = ""
    port: int = 0
    protocol: str = "HTTP"


@dataclass
class ClusterService(Model):
    name: str = ""
    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    ports: list[ClusterServicePort] = field(default_factory=list)
    endpoints: list[ClusterEndpoint] = field(default_factory=list)


@dataclass
class ClusterSpec(Model):
    locality: Locality | None = None
    services: list[ClusterService] = field(default_factory=list)


@dataclass
class Cluster(Resource):
    NAMESPACED = False
    spec: ClusterSpec = field(default_factory=ClusterSpec)


@dataclass
class UnknownResource(Resource):
    """A document of a kind meshctl does not model; kept so it can be written back and exported."""


KINDS: dict[tuple[str, str], type[Resource]] = {
    (GLOO_ENTERPRISE, "VirtualGateway"): VirtualGateway,
    (GLOO_ENTERPRISE, "VirtualHost"): VirtualHost,
    (GLOO_ENTERPRISE, "RouteTable"): RouteTable,
    (GLOO_ENTERPRISE, "VirtualDestination"): VirtualDestination,
    (GLOO_NETWORKING_V1, "TrafficPolicy"): TrafficPolicy,
    (GLOO_V2, "ExternalService"): ExternalService,
    (GLOO_V2, "ExternalEndpoint"): ExternalEndpoint,
    ("v1", "Service"): Service,
    ("v1", "Endpoints"): Endpoints,
    ("discovery.k8s.io/v1", "EndpointSlice"): EndpointSlice,
    ("v1", "Node"): Node,
    ("v1", "Pod"): Pod,
    (MESHCTL_V1ALPHA1, "Cluster"): Cluster,
}
KNOWN_KIND_NAMES = {kind: api for (api, kind) in KINDS}
ROUTING_KINDS = ("VirtualGateway", "VirtualHost", "RouteTable", "VirtualDestination", "TrafficPolicy",
                 "ExternalService", "ExternalEndpoint")
DISCOVERY_KINDS = ("Service", "Endpoints", "EndpointSlice", "Node", "Pod", "Cluster")

# the v2 kinds live in their own module; registered here so the loader knows them (imported last: they build
# on Resource above)
from .v2.policies import POLICY_KINDS  # noqa: E402
from .v2.resources import V2_KINDS  # noqa: E402

KINDS.update(V2_KINDS)
KINDS.update(POLICY_KINDS)
