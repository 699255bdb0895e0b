"""Typed views of the Gloo v2 resilience policies: FailoverPolicy and OutlierDetectionPolicy."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..common import OutlierDetection
from ..resources import Resource
from ..schema import Duration, Model
from .resources import DestinationKind, ObjectSelectorV2, PortSelector

RESILIENCE_V2 = "resilience.policy.gloo.solo.io/v2"


@dataclass
class DestinationSelectorV2(Model):
    """A policy's applyToDestinations entry (reference §1.7)."""

    selector: ObjectSelectorV2 | None = None
    kind: DestinationKind = "SERVICE"
    port: PortSelector | None = None


@dataclass
class LocalityV2(Model):
    region: str = ""
    zone: str = ""
    sub_zone: str = ""


@dataclass
class LocalityTarget(LocalityV2):
    weight: int | None = None


@dataclass
class LocalityMapping(Model):
    from_: LocalityV2 | None = None
    to: list[LocalityTarget] = field(default_factory=list)


@dataclass
class PriorityLabels(Model):
    labels: list[str] = field(default_factory=list)


@dataclass
class FailoverConfig(Model):
    locality_mappings: list[LocalityMapping] = field(default_factory=list)
    priority_labels: PriorityLabels | None = None


@dataclass
class FailoverPolicySpec(Model):
    apply_to_destinations: list[DestinationSelectorV2] = field(default_factory=list)
    config: FailoverConfig | None = None


@dataclass
class FailoverPolicyV2(Resource):
    spec: FailoverPolicySpec = field(default_factory=FailoverPolicySpec)


@dataclass
class OutlierDetectionConfig(Model):
    consecutive_errors: int | None = None
    interval: Duration | None = None
    base_ejection_time: Duration | None = None
    max_ejection_percent: int | None = None
    consecutive_gateway_errors: int | None = None


@dataclass
class OutlierDetectionPolicySpec(Model):
    apply_to_destinations: list[DestinationSelectorV2] = field(default_factory=list)
    config: OutlierDetectionConfig | None = None


@dataclass
class OutlierDetectionPolicyV2(Resource):
    spec: OutlierDetectionPolicySpec = field(default_factory=OutlierDetectionPolicySpec)


@dataclass
class OutlierDetectionV2(OutlierDetection):
    """The cluster-level outlier settings with the v2 extra (gateway errors); what translation reads."""

    consecutive_gateway_errors: int | None = None


# Reference §8.2 defaults.
DEFAULT_CONSECUTIVE_ERRORS = 5
DEFAULT_INTERVAL = Duration("10s")
DEFAULT_BASE_EJECTION = Duration("30s")
DEFAULT_MAX_EJECTION_PERCENT = 100
ISTIO_ZERO_EJECTION_PERCENT = 10  # maxEjectionPercent 0 means Istio's default of 10 %


def effective_outlier(config: OutlierDetectionConfig | None) -> OutlierDetectionV2:
    """The policy's settings with the reference's defaults filled in."""
    c = config or OutlierDetectionConfig()
    errors = c.consecutive_errors if c.consecutive_errors is not None else DEFAULT_CONSECUTIVE_ERRORS
    percent = c.max_ejection_percent if c.max_ejection_percent is not None else DEFAULT_MAX_EJECTION_PERCENT
    gateway = c.consecutive_gateway_errors
    return OutlierDetectionV2(
        consecutive_errors=errors,
        interval=c.interval if c.interval is not None else DEFAULT_INTERVAL,
        base_ejection_time=c.base_ejection_time if c.base_ejection_time is not None else DEFAULT_BASE_EJECTION,
        max_ejection_percent=percent if percent else ISTIO_ZERO_EJECTION_PERCENT,
        # "no effect if ≥ consecutiveErrors" (and 0 disables it)
        consecutive_gateway_errors=gateway if gateway and gateway < errors else None,
    )


RESILIENCE_KINDS: dict[tuple[str, str], type[Resource]] = {
    (RESILIENCE_V2, "FailoverPolicy"): FailoverPolicyV2,
    (RESILIENCE_V2, "OutlierDetectionPolicy"): OutlierDetectionPolicyV2,
}
