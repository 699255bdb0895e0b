"""Flattened routes to Envoy routes: matchers, actions and per-route options (timeouts, retries, headers,
fault injection, CORS, mirroring). One Envoy route per effective matcher, in flattened order.

Matcher semantics follow meshctl.routing.evaluate (the sandbox), which the differential test holds Envoy to.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from envoy_data_plane.envoy.config.core.v3 import (
    DataSource,
    HeaderValue,
    HeaderValueOption,
    RuntimeFractionalPercent,
)
from envoy_data_plane.envoy.config.route.v3 import (
    DirectResponseAction as EnvoyDirectResponse,
)
from envoy_data_plane.envoy.config.route.v3 import (
    HeaderMatcher,
    QueryParameterMatcher,
    RedirectActionRedirectResponseCode,
    RetryPolicyRetryHostPredicate,
    RetryPolicyRetryPriority,
    RouteActionRequestMirrorPolicy,
    RouteMatch,
    WeightedCluster,
    WeightedClusterClusterWeight,
)
from envoy_data_plane.envoy.config.route.v3 import (
    RedirectAction as EnvoyRedirect,
)
from envoy_data_plane.envoy.config.route.v3 import (
    RetryPolicy as EnvoyRetryPolicy,
)
from envoy_data_plane.envoy.config.route.v3 import (
    Route as EnvoyRoute,
)
from envoy_data_plane.envoy.config.route.v3 import (
    RouteAction as EnvoyRouteAction,
)
from envoy_data_plane.envoy.extensions.filters.common.fault.v3 import FaultDelay
from envoy_data_plane.envoy.extensions.filters.http.cors.v3 import CorsPolicy as EnvoyCorsPolicy
from envoy_data_plane.envoy.extensions.filters.http.fault.v3 import FaultAbort, HttpFault
from envoy_data_plane.envoy.extensions.retry.host.previous_hosts.v3 import PreviousHostsPredicate
from envoy_data_plane.envoy.extensions.retry.priority.previous_priorities.v3 import PreviousPrioritiesConfig
from envoy_data_plane.envoy.type.matcher.v3 import RegexMatchAndSubstitute, RegexMatcher, StringMatcher
from envoy_data_plane.envoy.type.v3 import FractionalPercent, FractionalPercentDenominatorType
from envoy_data_plane.google.protobuf import Any as AnyMessage

from ..mesh.index import Backend
from ..model.common import (
    CorsPolicy,
    DirectResponseAction,
    FaultInjection,
    HeaderManipulation,
    KubeServiceDestination,
    Mirror,
    Policy,
    RedirectAction,
    RetryPolicy,
    RouteAction,
    StringMatch,
    WeightedDestination,
)
from ..routing.actions import effective_weights
from ..routing.matchers import EffectiveMatcher, re2_escape
from ..routing.types import FlattenedRoute
from . import codec
from .translate_proto import duration, msg, shared

FAULT_FILTER = "envoy.filters.http.fault"
CORS_FILTER = "envoy.filters.http.cors"
DEFAULT_RETRY_ON = "5xx,connect-failure,reset"
PREVIOUS_HOSTS = "envoy.retry_host_predicates.previous_hosts"
PREVIOUS_PRIORITIES = "envoy.retry_priorities.previous_priorities"
REMOTE_LOCALITIES_AFTER = 2  # tries on the original priority load before retries leave a tried locality

_REDIRECT_CODES = {
    "MOVED_PERMANENTLY": RedirectActionRedirectResponseCode.MOVED_PERMANENTLY,
    "FOUND": RedirectActionRedirectResponseCode.FOUND,
    "SEE_OTHER": RedirectActionRedirectResponseCode.SEE_OTHER,
    "TEMPORARY_REDIRECT": RedirectActionRedirectResponseCode.TEMPORARY_REDIRECT,
    "PERMANENT_REDIRECT": RedirectActionRedirectResponseCode.PERMANENT_REDIRECT,
}

Resolve = Callable[[WeightedDestination, str], Backend]
AddCluster = Callable[[Backend], str]


@dataclass
class RouteContext:
    """What translating routes needs from the outside: destination resolution and the cluster collector."""

    resolve: Resolve
    add_cluster: AddCluster
    resolve_kube: Callable[[KubeServiceDestination, str], Backend]
    notes: list[str] = field(default_factory=list)  # translation warnings, one sentence each


def destination_key(d: WeightedDestination, owner_ns: str) -> tuple[Any, ...]:
    """What resolving a destination reads: equal keys resolve to the same backend in one mesh index."""
    if d.kube_service is not None:
        k = d.kube_service
        return ("kube", k.namespace or owner_ns, k.name, k.cluster_name, tuple(sorted(k.subset.items())), k.port)
    if d.virtual_destination is not None:
        v = d.virtual_destination
        return ("vd", v.namespace or owner_ns, v.name, tuple(sorted(v.subset.items())), getattr(d, "v2_port", None))
    external = getattr(d, "external_service", None)  # v2 EXTERNAL_SERVICE destination
    if external is not None:
        return ("es", external.namespace, external.name, getattr(d, "v2_port", None))
    if d.static_destination is not None:
        return ("static", d.static_destination.namespace, d.static_destination.name)
    return ("header", d.cluster_header)


# --- matchers ---------------------------------------------------------------------------------------------

def _regex(pattern: str) -> RegexMatcher:
    return msg(RegexMatcher, regex=pattern)


def _string_exact_or_regex(value: str, regex: bool) -> StringMatcher:
    return msg(StringMatcher, safe_regex=_regex(value)) if regex else msg(StringMatcher, exact=value)


def header_matcher(name: str, value: str, regex: bool, invert: bool) -> HeaderMatcher:
    if not value:
        # "absent" is a presence match that must fail, written without invert_match so it reads one way only
        return msg(HeaderMatcher, name=name, present_match=not invert)
    # Envoy (1.40) fails an inverted value match when the header is missing; that is what Gloo renders too.
    return msg(HeaderMatcher, name=name, string_match=_string_exact_or_regex(value, regex), invert_match=invert)


def route_match(m: EffectiveMatcher) -> RouteMatch:
    headers = []
    if m.method:
        headers.append(msg(HeaderMatcher, name=":method", string_match=msg(StringMatcher, exact=m.method)))
    headers.extend(header_matcher(h.name, h.value, h.regex, h.invert) for h in m.headers)
    query = [
        msg(QueryParameterMatcher, name=q.name, present_match=True) if not q.value
        else msg(QueryParameterMatcher, name=q.name, string_match=_string_exact_or_regex(q.value, q.regex))
        for q in m.query
    ]
    # case_sensitive applies to prefix and path only; Envoy ignores it for regexes (as Gloo's translation does),
    # so an ignoreCase regex stays case-sensitive. A suffix is our regex, so it carries the flag itself.
    case = False if m.ignore_case else None
    kind = m.path_kind
    if kind == "prefix":
        return msg(RouteMatch, prefix=m.path, case_sensitive=case, headers=headers, query_parameters=query)
    if kind == "exact":
        return msg(RouteMatch, path=m.path, case_sensitive=case, headers=headers, query_parameters=query)
    if kind == "regex":
        return msg(RouteMatch, safe_regex=_regex(m.path), case_sensitive=case, headers=headers, query_parameters=query)
    pattern = ("(?i)" if m.ignore_case else "") + ".*" + re2_escape(m.path)
    return msg(RouteMatch, safe_regex=_regex(pattern), headers=headers, query_parameters=query)


# --- options ----------------------------------------------------------------------------------------------

def _percent(value: float | None) -> FractionalPercent | None:
    if value is None:
        return None
    return msg(FractionalPercent, numerator=max(0, round(value * 10_000)),
               denominator=FractionalPercentDenominatorType.MILLION)


def _header_options(values: dict[str, str]) -> list[HeaderValueOption]:
    return [msg(HeaderValueOption, header=msg(HeaderValue, key=k, value=v)) for k, v in values.items()]


def _fault(f: FaultInjection) -> HttpFault:
    percentage = _percent(f.percentage if f.percentage is not None else 100.0)
    delay = (msg(FaultDelay, fixed_delay=duration(f.fixed_delay), percentage=percentage)
             if f.fixed_delay is not None else None)
    abort = msg(FaultAbort, http_status=f.abort.http_status, percentage=percentage) if f.abort is not None else None
    return msg(HttpFault, delay=delay, abort=abort)


def _origin(s: StringMatch) -> StringMatcher:
    ignore = True if s.ignore_case else False
    if s.exact is not None:
        return msg(StringMatcher, exact=s.exact, ignore_case=ignore)
    if s.prefix is not None:
        return msg(StringMatcher, prefix=s.prefix, ignore_case=ignore)
    if s.suffix is not None:
        return msg(StringMatcher, suffix=s.suffix, ignore_case=ignore)
    return msg(StringMatcher, safe_regex=_regex(s.regex or ".*"))


def _cors(c: CorsPolicy) -> EnvoyCorsPolicy:
    max_age = duration(c.max_age)
    return msg(EnvoyCorsPolicy,
               allow_origin_string_match=[_origin(o) for o in c.allow_origins],
               allow_methods=",".join(c.allow_methods), allow_headers=",".join(c.allow_headers),
               expose_headers=",".join(c.expose_headers),
               max_age=str(int(max_age.total_seconds())) if max_age is not None else "",
               allow_credentials=c.allow_credentials)


def _any(message: object) -> AnyMessage:
    return msg(AnyMessage, type_url=codec.type_url_of(message), value=codec.encode(message))  # type: ignore[arg-type]


def per_filter_config(options: Policy) -> dict[str, AnyMessage]:
    out: dict[str, AnyMessage] = {}
    if options.cors_policy is not None:
        out[CORS_FILTER] = _any(_cors(options.cors_policy))
    if options.fault_injection is not None and (options.fault_injection.abort or options.fault_injection.fixed_delay):
        out[FAULT_FILTER] = _any(_fault(options.fault_injection))
    return out


def retry_policy(r: RetryPolicy) -> EnvoyRetryPolicy | None:
    if not r.attempts:
        return None
    return _retry_policy(r.attempts, r.per_try_timeout, r.retry_on or DEFAULT_RETRY_ON, r.retry_previous_hosts is not False,
                         bool(r.retry_remote_localities))


@shared
def _retry_policy(attempts: int, per_try_timeout: str | None, retry_on: str, previous_hosts: bool,
                  remote_localities: bool = False) -> EnvoyRetryPolicy:
    predicates = []
    if previous_hosts:
        predicates.append(msg(RetryPolicyRetryHostPredicate, name=PREVIOUS_HOSTS,
                              typed_config=_any(msg(PreviousHostsPredicate))))
    priority = None
    if remote_localities:
        # Istio's translation of retryRemoteLocalities: the first two tries use the locality priorities as they
        # are; every later try leaves out the priorities already tried, so it goes to the next locality.
        priority = msg(RetryPolicyRetryPriority, name=PREVIOUS_PRIORITIES,
                       typed_config=_any(msg(PreviousPrioritiesConfig, update_frequency=REMOTE_LOCALITIES_AFTER)))
    return msg(EnvoyRetryPolicy, retry_on=retry_on, num_retries=attempts, per_try_timeout=duration(per_try_timeout),
               retry_host_predicate=predicates, host_selection_retry_max_attempts=5 if predicates else 0,
               retry_priority=priority)


def _mirror(m: Mirror, owner_ns: str, ctx: RouteContext) -> RouteActionRequestMirrorPolicy | None:
    if m.kube_service is None:
        return None
    ref = m.kube_service
    backend = ctx.resolve_kube(KubeServiceDestination(name=ref.name, namespace=ref.namespace,
                                                      cluster_name=ref.cluster_name, port=m.port), owner_ns)
    runtime = (msg(RuntimeFractionalPercent, default_value=_percent(m.percentage))
               if m.percentage is not None else None)
    return msg(RouteActionRequestMirrorPolicy, cluster=ctx.add_cluster(backend), runtime_fraction=runtime)


# --- actions ----------------------------------------------------------------------------------------------

def _direct(status: int, body: str | None) -> EnvoyDirectResponse:
    return msg(EnvoyDirectResponse, status=status,
               body=msg(DataSource, inline_string=body) if body else None)


def _redirect(a: RedirectAction, ctx: RouteContext, ref: str) -> EnvoyRedirect:
    path_redirect, prefix_rewrite = a.path_redirect, a.prefix_rewrite
    if path_redirect is not None and prefix_rewrite is not None:
        ctx.notes.append(f"{ref}: redirect sets both pathRedirect and prefixRewrite; pathRedirect is used")
        prefix_rewrite = None
    return msg(EnvoyRedirect, host_redirect=a.host_redirect or "", path_redirect=path_redirect,
               prefix_rewrite=prefix_rewrite, https_redirect=True if a.https_redirect else None,
               response_code=_REDIRECT_CODES[a.response_code], strip_query=a.strip_query)


def _substitution(text: str) -> str:
    return text.replace("\\", "\\\\")  # RE2 rewrite strings treat backslashes as escapes


def _rewrite_fields(m: EffectiveMatcher, rewrite: str) -> dict[str, object]:
    # A prefix match swaps the matched prefix; an exact match swaps the whole path (Envoy's prefix_rewrite on
    # a path match); regexes and suffixes have no literal prefix, so the whole path is replaced by regex.
    if m.path_kind in ("prefix", "exact"):
        return {"prefix_rewrite": rewrite}
    return {"regex_rewrite": msg(RegexMatchAndSubstitute, pattern=_regex("^.*$"), substitution=_substitution(rewrite))}


def _v2_rewrites(route_action: EnvoyRouteAction, action: RouteAction) -> None:
    """Gloo v2 forwardTo rewrites the v1beta1 action has no field for (see meshctl/routing/v2_convert.py)."""
    regex_rewrite = getattr(action, "regex_rewrite", None)
    if regex_rewrite is not None:
        pattern, substitution = regex_rewrite
        route_action.regex_rewrite = msg(RegexMatchAndSubstitute, pattern=_regex(pattern), substitution=substitution)
    host_rewrite = getattr(action, "host_rewrite", None)
    if host_rewrite:
        route_action.host_rewrite_literal = host_rewrite
    elif getattr(action, "auto_host_rewrite", False):
        route_action.auto_host_rewrite = True


def _destination_headers(d: WeightedDestination) -> HeaderManipulation | None:
    return d.options.header_manipulation if d.options is not None else None


@dataclass
class Target:
    """One weighted upstream of a route: a cluster (or a cluster header) and its header manipulation."""

    cluster: str | None
    cluster_header: str | None = None
    weight: int = 1
    headers: HeaderManipulation | None = None


def destination_targets(destinations: list[WeightedDestination], owner_ns: str, ctx: RouteContext) -> list[Target]:
    """Resolved destinations with their effective weights (zero-weight ones dropped)."""
    out = []
    for d, w in zip(destinations, effective_weights(destinations), strict=True):
        if w <= 0:
            continue
        if d.cluster_header is not None:
            out.append(Target(None, d.cluster_header, w, _destination_headers(d)))
        else:
            out.append(Target(ctx.add_cluster(ctx.resolve(d, owner_ns)), None, w, _destination_headers(d)))
    return out


def _route_action(targets: list[Target], rewrite: str | None, m: EffectiveMatcher, options: Policy,
                  owner_ns: str, ctx: RouteContext) -> EnvoyRouteAction:
    fields: dict[str, object] = {}
    if len(targets) == 1:
        t = targets[0]
        fields.update({"cluster_header": t.cluster_header} if t.cluster_header is not None else {"cluster": t.cluster})
    else:
        weighted = []
        for t in targets:
            target = {"cluster_header": t.cluster_header} if t.cluster_header is not None else {"name": t.cluster}
            extra = {}
            if t.headers is not None:
                hm = t.headers
                extra = dict(request_headers_to_add=_header_options(hm.append_request_headers),
                             request_headers_to_remove=list(hm.remove_request_headers),
                             response_headers_to_add=_header_options(hm.append_response_headers),
                             response_headers_to_remove=list(hm.remove_response_headers))
            weighted.append(msg(WeightedClusterClusterWeight, weight=t.weight, **target, **extra))
        fields["weighted_clusters"] = msg(WeightedCluster, clusters=weighted)
    if rewrite is not None:
        fields.update(_rewrite_fields(m, rewrite))
    if options.request_timeout is not None:
        fields["timeout"] = duration(options.request_timeout)
    if options.retries is not None:
        fields["retry_policy"] = retry_policy(options.retries)
    if options.mirror is not None:
        mirror = _mirror(options.mirror, owner_ns, ctx)
        if mirror is not None:
            fields["request_mirror_policies"] = [mirror]
    return msg(EnvoyRouteAction, **fields)


def route_names(route: FlattenedRoute) -> list[str]:
    """`Kind/ns/name#route` of the route's own resource; `~N` added when it yields several Envoy routes."""
    base = route.chain[-1].ref
    if len(route.matchers) <= 1:
        return [base]
    return [f"{base}~{i + 1}" for i in range(len(route.matchers))]


def envoy_routes(route: FlattenedRoute, ctx: RouteContext) -> list[EnvoyRoute]:
    """The Envoy routes for one flattened route (one per effective matcher)."""
    action = route.action
    if action is None:
        return []  # flatten marks such routes invalid; nothing to serve
    owner_ns = route.owner.namespace
    ref = route.chain[-1].ref
    targets: list[Target] | None = None
    if isinstance(action, RouteAction):
        targets = destination_targets(action.destinations, owner_ns, ctx)
        if not targets:
            problem = "the route has no destination" if not action.destinations else "no destination has a weight above 0"
            ctx.notes.append(f"{ref}: {problem}; answered with 503")
            action = DirectResponseAction(status=503, body=f"meshctl: {problem}")
    return [build_route(name, m, action, targets, route.options, owner_ns, ctx, ref)
            for m, name in zip(route.matchers, route_names(route), strict=False)]


def build_route(name: str, m: EffectiveMatcher, action: RouteAction | DirectResponseAction | RedirectAction,
                targets: list[Target] | None, options: Policy, owner_ns: str, ctx: RouteContext,
                ref: str = "") -> EnvoyRoute:
    """One Envoy route. A RouteAction needs its resolved `targets` (see destination_targets)."""
    fields: dict[str, object] = {"name": name, "match": route_match(m)}
    single = None
    if isinstance(action, RouteAction):
        assert targets, "a forwarding route needs at least one target"
        route_action = _route_action(targets, action.path_rewrite, m, options, owner_ns, ctx)
        _v2_rewrites(route_action, action)
        fields["route"] = route_action
        single = targets[0].headers if len(targets) == 1 else None
    elif isinstance(action, DirectResponseAction):
        fields["direct_response"] = _direct(action.status, action.body)
    else:
        fields["redirect"] = _redirect(action, ctx, ref or name)
    request_add: dict[str, str] = {}
    response_add: dict[str, str] = {}
    request_remove: list[str] = []
    response_remove: list[str] = []
    for source in (options.header_manipulation, single):
        if source is None:
            continue
        request_add.update(source.append_request_headers)
        response_add.update(source.append_response_headers)
        request_remove += source.remove_request_headers
        response_remove += source.remove_response_headers
    if request_add:
        fields["request_headers_to_add"] = _header_options(request_add)
    if response_add:
        fields["response_headers_to_add"] = _header_options(response_add)
    if request_remove:
        fields["request_headers_to_remove"] = request_remove
    if response_remove:
        fields["response_headers_to_remove"] = response_remove
    typed_per_filter = per_filter_config(options)
    if typed_per_filter:
        fields["typed_per_filter_config"] = typed_per_filter
    return msg(EnvoyRoute, **fields)
