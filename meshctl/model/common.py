"""Building blocks shared by the Gloo kinds: refs, selectors, matchers, destinations and route options."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .schema import Duration, Model


@dataclass
class ObjectRef(Model):
    name: str = ""
    namespace: str = ""


@dataclass
class ClusterObjectRef(Model):
    name: str = ""
    namespace: str = ""
    cluster_name: str = ""


SelectorOperator = Literal[
    "Equals", "DoubleEquals", "NotEquals", "In", "NotIn", "Exists", "DoesNotExist", "GreaterThan", "LessThan"
]


@dataclass
class LabelExpression(Model):
    key: str = ""
    operator: SelectorOperator = "Equals"
    values: list[str] = field(default_factory=list)


@dataclass
class ObjectSelector(Model):
    """skv2 ObjectSelector: empty namespaces means the owner's namespace; "*" means every namespace."""

    namespaces: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    expressions: list[LabelExpression] = field(default_factory=list)


# A locality as a resource writes it (region / zone / subZone); the mesh's runtime value is
# meshctl.mesh.index.Locality. (No docstring: deploy/gen_crds.py would copy it into the CRDs.)
@dataclass
class LocalitySpec(Model):
    region: str = ""
    zone: str = ""
    sub_zone: str = ""


# --- request matchers -------------------------------------------------------------------------

@dataclass
class StringMatch(Model):
    exact: str | None = None
    prefix: str | None = None
    regex: str | None = None
    suffix: str | None = None
    ignore_case: bool = False

    def kinds_set(self) -> list[str]:
        return [k for k in ("exact", "prefix", "regex", "suffix") if getattr(self, k) is not None]


@dataclass
class HeaderMatcher(Model):
    name: str = ""
    value: str = ""  # empty: presence match
    regex: bool = False
    invert_match: bool = False


@dataclass
class QueryParameterMatcher(Model):
    name: str = ""
    value: str = ""  # empty: presence match
    regex: bool = False


@dataclass
class HttpMatcher(Model):
    name: str = ""
    uri: StringMatch | None = None
    headers: list[HeaderMatcher] = field(default_factory=list)
    query_parameters: list[QueryParameterMatcher] = field(default_factory=list)
    method: str = ""


# --- destinations -----------------------------------------------------------------------------

@dataclass
class KubeServiceDestination(Model):
    name: str = ""
    namespace: str = ""
    cluster_name: str = ""
    subset: dict[str, str] = field(default_factory=dict)
    port: int | None = None


@dataclass
class VirtualDestinationRef(Model):
    name: str = ""
    namespace: str = ""
    subset: dict[str, str] = field(default_factory=dict)


@dataclass
class HeaderManipulation(Model):
    remove_response_headers: list[str] = field(default_factory=list)
    append_response_headers: dict[str, str] = field(default_factory=dict)
    remove_request_headers: list[str] = field(default_factory=list)
    append_request_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class DestinationOptions(Model):
    header_manipulation: HeaderManipulation | None = None


@dataclass
class WeightedDestination(Model):
    weight: int | None = None
    kube_service: KubeServiceDestination | None = None
    virtual_destination: VirtualDestinationRef | None = None
    static_destination: ObjectRef | None = None
    cluster_header: str | None = None
    options: DestinationOptions | None = None

    def kinds_set(self) -> list[str]:
        return [
            k for k in ("kube_service", "virtual_destination", "static_destination", "cluster_header")
            if getattr(self, k) is not None
        ]


# --- destination selectors (gateway selection, VirtualDestination backing, TrafficPolicy) -------

@dataclass
class KubeServiceMatcher(Model):
    labels: dict[str, str] = field(default_factory=dict)
    namespaces: list[str] = field(default_factory=list)
    clusters: list[str] = field(default_factory=list)


@dataclass
class KubeServiceRefs(Model):
    services: list[ClusterObjectRef] = field(default_factory=list)


@dataclass
class LabelNamespaceMatcher(Model):
    labels: dict[str, str] = field(default_factory=dict)
    namespaces: list[str] = field(default_factory=list)


@dataclass
class ExternalServiceRefs(Model):
    external_services: list[ObjectRef] = field(default_factory=list)


@dataclass
class VirtualDestinationRefs(Model):
    virtual_destinations: list[ObjectRef] = field(default_factory=list)


@dataclass
class DestinationSelector(Model):
    kube_service_matcher: KubeServiceMatcher | None = None
    kube_service_refs: KubeServiceRefs | None = None
    external_service_matcher: LabelNamespaceMatcher | None = None
    external_service_refs: ExternalServiceRefs | None = None
    virtual_destination_matcher: LabelNamespaceMatcher | None = None
    virtual_destination_refs: VirtualDestinationRefs | None = None


# --- route options (TrafficPolicySpec.Policy) --------------------------------------------------

@dataclass
class TrafficShift(Model):
    destinations: list[WeightedDestination] = field(default_factory=list)


@dataclass
class FaultAbort(Model):
    http_status: int = 0


@dataclass
class FaultInjection(Model):
    fixed_delay: Duration | None = None
    abort: FaultAbort | None = None
    percentage: float | None = None


@dataclass
class RetryPolicy(Model):
    attempts: int = 0
    per_try_timeout: Duration | None = None
    # meshctl extensions (Envoy retry_on list, host predicate, priority predicate); Gloo v1 only has the two
    # fields above. retryRemoteLocalities is Gloo v2's (RetryTimeoutPolicy), offered to v1 options as well.
    retry_on: str | None = None
    retry_previous_hosts: bool | None = None
    retry_remote_localities: bool | None = None


@dataclass
class CorsPolicy(Model):
    allow_origins: list[StringMatch] = field(default_factory=list)
    allow_methods: list[str] = field(default_factory=list)
    allow_headers: list[str] = field(default_factory=list)
    expose_headers: list[str] = field(default_factory=list)
    max_age: Duration | None = None
    allow_credentials: bool | None = None


@dataclass
class Mirror(Model):
    kube_service: ClusterObjectRef | None = None
    percentage: float | None = None
    port: int | None = None


@dataclass
class OutlierDetection(Model):
    consecutive_errors: int | None = None
    interval: Duration | None = None
    base_ejection_time: Duration | None = None
    max_ejection_percent: int | None = None


@dataclass
class Policy(Model):
    """Route / VirtualHost options; inherited field by field down a delegation chain (child wins)."""

    traffic_shift: TrafficShift | None = None
    fault_injection: FaultInjection | None = None
    request_timeout: Duration | None = None
    retries: RetryPolicy | None = None
    cors_policy: CorsPolicy | None = None
    mirror: Mirror | None = None
    header_manipulation: HeaderManipulation | None = None
    outlier_detection: OutlierDetection | None = None
    mtls: Any = None
    csrf: Any = None
    rate_limit: Any = None
    extauth: Any = None
    rate_limit_settings: Any = None
    extauth_settings: Any = None
    connection_pool_settings: Any = None
    transformations: Any = None


POLICY_FIELDS = (
    "traffic_shift", "fault_injection", "request_timeout", "retries", "cors_policy", "mirror",
    "header_manipulation", "outlier_detection", "mtls", "csrf", "rate_limit", "extauth",
    "rate_limit_settings", "extauth_settings", "connection_pool_settings", "transformations",
)


# --- routes -----------------------------------------------------------------------------------

@dataclass
class RouteAction(Model):
    destinations: list[WeightedDestination] = field(default_factory=list)
    path_rewrite: str | None = None


RedirectCode = Literal["MOVED_PERMANENTLY", "FOUND", "SEE_OTHER", "TEMPORARY_REDIRECT", "PERMANENT_REDIRECT"]
REDIRECT_STATUS = {
    "MOVED_PERMANENTLY": 301, "FOUND": 302, "SEE_OTHER": 303, "TEMPORARY_REDIRECT": 307, "PERMANENT_REDIRECT": 308,
}


@dataclass
class RedirectAction(Model):
    host_redirect: str | None = None
    path_redirect: str | None = None
    prefix_rewrite: str | None = None
    response_code: RedirectCode = "MOVED_PERMANENTLY"
    https_redirect: bool = False
    strip_query: bool = False

    @property
    def status(self) -> int:
        return REDIRECT_STATUS[self.response_code]


@dataclass
class DirectResponseAction(Model):
    status: int = 0
    body: str | None = None


SortMethod = Literal["TABLE_WEIGHT", "ROUTE_SPECIFICITY"]


@dataclass
class DelegateAction(Model):
    refs: list[ObjectRef] = field(default_factory=list)
    selector: ObjectSelector | None = None
    sort_method: SortMethod = "TABLE_WEIGHT"


ACTION_FIELDS = ("route_action", "redirect_action", "direct_response_action", "delegate_action")


@dataclass
class Route(Model):
    name: str = ""
    matchers: list[HttpMatcher] = field(default_factory=list)
    route_action: RouteAction | None = None
    redirect_action: RedirectAction | None = None
    direct_response_action: DirectResponseAction | None = None
    delegate_action: DelegateAction | None = None
    options: Policy | None = None
    labels: dict[str, str] = field(default_factory=dict)

    def actions_set(self) -> list[str]:
        return [a for a in ACTION_FIELDS if getattr(self, a) is not None]

    @property
    def action(self) -> RouteAction | RedirectAction | DirectResponseAction | DelegateAction | None:
        for a in ACTION_FIELDS:
            value = getattr(self, a)
            if value is not None:
                return value
        return None
