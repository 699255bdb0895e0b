"""The Gloo v2 route policies meshctl applies by route labels: RetryTimeoutPolicy, FaultInjectionPolicy
(resilience), HeaderManipulationPolicy, MirrorPolicy (trafficcontrol) and CORSPolicy (security). Their specs stay
plain mappings, read by routing/v2_policies.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..resources import Resource

RESILIENCE = "resilience.policy.gloo.solo.io/v2"
TRAFFIC_CONTROL = "trafficcontrol.policy.gloo.solo.io/v2"
SECURITY = "security.policy.gloo.solo.io/v2"


@dataclass
class RoutePolicyV2(Resource):
    spec: dict[str, Any] = field(default_factory=dict)


@dataclass
class RetryTimeoutPolicy(RoutePolicyV2):
    pass


@dataclass
class FaultInjectionPolicy(RoutePolicyV2):
    pass


@dataclass
class HeaderManipulationPolicy(RoutePolicyV2):
    pass


@dataclass
class MirrorPolicy(RoutePolicyV2):
    pass


@dataclass
class CORSPolicy(RoutePolicyV2):
    pass


POLICY_KINDS: dict[tuple[str, str], type[Resource]] = {
    (RESILIENCE, "RetryTimeoutPolicy"): RetryTimeoutPolicy,
    (RESILIENCE, "FaultInjectionPolicy"): FaultInjectionPolicy,
    (TRAFFIC_CONTROL, "HeaderManipulationPolicy"): HeaderManipulationPolicy,
    (TRAFFIC_CONTROL, "MirrorPolicy"): MirrorPolicy,
    (SECURITY, "CORSPolicy"): CORSPolicy,
}
ROUTE_POLICY_KINDS = tuple(kind for _, kind in POLICY_KINDS)
