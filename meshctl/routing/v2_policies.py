"""Route policies of Gloo v2 attached by route labels (P1-P5, R5): which RetryTimeout / FaultInjection /
HeaderManipulation / CORS / Mirror policy applies to each flattened route, translated into the route's options
(so the sandbox and the xDS translation use them like v1beta1 options). One policy per kind and route: the
oldest wins, the others are reported."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..model.common import (
    ClusterObjectRef,
    CorsPolicy,
    FaultAbort,
    FaultInjection,
    HeaderManipulation,
    Mirror,
    Policy,
    RetryPolicy,
    StringMatch,
)
from ..model.findings import Severity
from ..model.schema import Duration
from ..model.snapshot import Snapshot
from ..model.v2.policies import ROUTE_POLICY_KINDS, RoutePolicyV2
from ..model.v2.policy_validate import problems_of
from ..model.v2.workspaces import WorkspaceModel
from .types import FlattenedRoute, VirtualHostView

# which Policy field each kind fills
FIELDS = {"RetryTimeoutPolicy": ("retries", "request_timeout"), "FaultInjectionPolicy": ("fault_injection",),
          "HeaderManipulationPolicy": ("header_manipulation",), "CORSPolicy": ("cors_policy",),
          "MirrorPolicy": ("mirror",)}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def policy_order(p: RoutePolicyV2) -> tuple[str, str, str]:
    return (p.metadata.creation_timestamp, p.namespace, p.name)


def _route_workspaces(model: WorkspaceModel, route: FlattenedRoute) -> list[str]:
    """P4 (our decision, as the reference's model): the workspace of the route's own table first, then those of its
    delegation ancestors (reached through inherited labels)."""
    out: list[str] = []
    for link in reversed(route.chain):
        ws = model.owner(link.resource)
        if ws is not None and ws not in out:
            out.append(ws)
    return out


def _route_selector_matches(model: WorkspaceModel, sel: dict[str, Any], route: FlattenedRoute) -> bool:
    table = route.chain[-1].resource
    labels = _dict(sel.get("labels"))
    if not all(route.labels.get(str(k)) == str(v) for k, v in labels.items()):
        return False
    if sel.get("namespace") and sel["namespace"] != table.namespace:
        return False
    if sel.get("cluster") and table.cluster and sel["cluster"] != table.cluster:
        return False
    return not (sel.get("workspace") and model.owner(table) != sel["workspace"])


def _destinations_match(sel: dict[str, Any], route: FlattenedRoute) -> bool:
    """`withDestinations`: a forwardTo route with a destination the selector matches (name / namespace)."""
    action = route.route.route_action
    if action is None:
        return False
    obj = _dict(sel.get("selector"))
    for d in action.destinations:
        ref = d.kube_service or d.virtual_destination or getattr(d, "external_service", None)
        if ref is None:
            continue
        if (not obj.get("name") or obj["name"] == ref.name) and \
                (not obj.get("namespace") or obj["namespace"] == ref.namespace):
            return True
    return False


def selects(model: WorkspaceModel, policy: RoutePolicyV2, route: FlattenedRoute) -> bool:
    """P1/P2: no applyToRoutes = every route of the policy's workspace; else any selector (OR)."""
    where = model.owner(policy)
    workspaces = _route_workspaces(model, route)
    if where not in workspaces:
        return False
    selectors = [s for s in policy.spec.get("applyToRoutes") or [] if isinstance(s, dict)]
    if not selectors:
        return workspaces[0] == where or model.owner(route.chain[0].resource) == where
    for s in selectors:
        if "route" in s and _route_selector_matches(model, _dict(s["route"]), route):
            return True
        if "withDestinations" in s and _destinations_match(_dict(s["withDestinations"]), route):
            return True
    return False


def _duration(value: Any) -> Duration | None:
    return Duration(str(value)) if value not in (None, "") else None


def _string_match(raw: dict[str, Any]) -> StringMatch:
    return StringMatch(exact=raw.get("exact"), prefix=raw.get("prefix"), regex=raw.get("regex"),
                       suffix=raw.get("suffix"), ignore_case=bool(raw.get("ignoreCase")))


def options_of(policy: RoutePolicyV2) -> dict[str, Any]:
    """The Policy fields a v2 policy sets (its `config`, with the reference's defaults)."""
    config = _dict(policy.spec.get("config"))
    if policy.kind == "RetryTimeoutPolicy":
        out: dict[str, Any] = {}
        if config.get("requestTimeout"):
            out["request_timeout"] = _duration(config["requestTimeout"])
        if "retries" in config:
            retries = _dict(config["retries"])
            attempts = int(retries.get("attempts", 2))  # §8.3: default 2; 0 disables retries
            if attempts > 0:
                out["retries"] = RetryPolicy(attempts=attempts, per_try_timeout=_duration(retries.get("perTryTimeout")),
                                             retry_on=retries.get("retryOn"),
                                             retry_remote_localities=retries.get("retryRemoteLocalities") or None)
        return out
    if policy.kind == "FaultInjectionPolicy":
        delay, abort = _dict(config.get("delay")), _dict(config.get("abort"))
        # one percentage for both in the route model: (our decision) the delay's when set, else the abort's
        percentage = delay.get("percentage", abort.get("percentage"))
        return {"fault_injection": FaultInjection(
            fixed_delay=_duration(delay.get("fixedDelay")),
            abort=FaultAbort(http_status=int(abort["httpStatus"])) if abort.get("httpStatus") else None,
            percentage=float(percentage) if percentage is not None else None)}
    if policy.kind == "HeaderManipulationPolicy":
        return {"header_manipulation": HeaderManipulation(
            remove_response_headers=list(config.get("removeResponseHeaders") or []),
            append_response_headers={str(k): str(v) for k, v in _dict(config.get("appendResponseHeaders")).items()},
            remove_request_headers=list(config.get("removeRequestHeaders") or []),
            append_request_headers={str(k): str(v) for k, v in _dict(config.get("appendRequestHeaders")).items()})}
    if policy.kind == "CORSPolicy":
        return {"cors_policy": CorsPolicy(
            allow_origins=[_string_match(o) for o in config.get("allowOrigins") or [] if isinstance(o, dict)],
            allow_methods=list(config.get("allowMethods") or []), allow_headers=list(config.get("allowHeaders") or []),
            expose_headers=list(config.get("exposeHeaders") or []), max_age=_duration(config.get("maxAge")),
            allow_credentials=config.get("allowCredentials"))}
    if policy.kind == "MirrorPolicy":
        dest = _dict(config.get("destination"))
        ref, port = _dict(dest.get("ref")), _dict(dest.get("port"))
        percentage = config.get("percentage")
        return {"mirror": Mirror(kube_service=ClusterObjectRef(name=str(ref.get("name", "")),
                                                               namespace=str(ref.get("namespace") or policy.namespace),
                                                               cluster_name=str(ref.get("cluster", ""))),
                                 percentage=float(percentage) if percentage is not None else None,
                                 port=int(port["number"]) if port.get("number") else None)}
    return {}


Conflict = tuple[str, RoutePolicyV2, RoutePolicyV2]  # kind, the policy skipped, the one applied


class RoutePolicies:
    """The route policies of one snapshot, attached to flattened routes."""

    def __init__(self, snapshot: Snapshot, model: WorkspaceModel) -> None:
        self.model = model
        self.by_kind: dict[str, list[RoutePolicyV2]] = {
            kind: sorted((p for p in snapshot.of_kind(kind) if isinstance(p, RoutePolicyV2) and model.config_counts(p)
                          and not problems_of(p)),  # a policy with an error (reported by validate) is not applied
                         key=policy_order) for kind in ROUTE_POLICY_KINDS}
        self._reported: set[tuple[Any, ...]] = set()

    def attach(self, views: list[VirtualHostView], diags: Any) -> None:
        for view in views:
            for route in view.all_routes:
                self.attach_route(route, diags)

    def attach_route(self, route: FlattenedRoute, diags: Any) -> None:
        values, applied, conflicts = self.choose(route)
        self.report(route, conflicts, diags)
        attach(route, values, applied)

    def choose(self, route: FlattenedRoute) -> tuple[dict[str, Any], list[str], list[Conflict]]:
        """The options the policies applying to `route` set, their names, and the conflicts among them (P5)."""
        values: dict[str, Any] = {}
        applied: list[str] = []
        conflicts: list[Conflict] = []
        for kind, policies in self.by_kind.items():
            matching = [p for p in policies if selects(self.model, p, route)]
            if not matching:
                continue
            winner = matching[0]  # P5: the oldest applies
            values.update(options_of(winner))
            applied.append(f"{kind}/{winner.namespace}/{winner.name}")
            conflicts += [(kind, loser, winner) for loser in matching[1:]]
        return values, applied, conflicts

    def report(self, route: FlattenedRoute, conflicts: list[Conflict], diags: Any) -> None:
        """`policy-conflict` for each policy skipped on `route` (once per policy pair and route)."""
        for kind, loser, winner in conflicts:
            key = (loser.key, winner.key, route.id)
            if key in self._reported:
                continue
            self._reported.add(key)
            diags.add(loser, Severity.WARNING, "policy-conflict",
                      f"{kind} {winner.namespace}/{winner.name} (older) already applies to route "
                      f"{route.name or route.id}; only one {kind} applies per route, so this one is skipped there",
                      ("spec", "applyToRoutes"), routes=(route.id,))


def attach(route: FlattenedRoute, values: dict[str, Any], applied: list[str]) -> None:
    """Give `route` the options its policies set and their names."""
    if values:
        route.options = dataclasses.replace(route.options or Policy(), **values)
    route.applied_policies = applied


def attach_route_policies(snapshot: Snapshot, model: WorkspaceModel, views: list[VirtualHostView],
                          diags: Any) -> None:
    if any(snapshot.of_kind(kind) for kind in ROUTE_POLICY_KINDS):
        RoutePolicies(snapshot, model).attach(views, diags)
