"""Standalone checks of the v2 resilience policies (FailoverPolicy, OutlierDetectionPolicy) as located findings."""

from __future__ import annotations

from typing import Any

from ..checks import Reporter
from ..findings import Severity
from ..schema import duration_seconds
from ..snapshot import Snapshot
from .resilience import DestinationSelectorV2, FailoverPolicyV2, OutlierDetectionPolicyV2

SUPPORTED_KINDS = ("VIRTUAL_DESTINATION", "EXTERNAL_SERVICE")
_LOCALITY_KEYS = {"region", "zone", "subzone", "subZone", "topology.kubernetes.io/region",
                  "topology.kubernetes.io/zone", "topology.istio.io/subzone"}


def _policies(snapshot: Snapshot, kind: str, cls: type) -> list[Any]:
    return [r for r in snapshot.of_kind(kind) if isinstance(r, cls)]


def _check_selectors(rep: Reporter, policy: Any, selectors: list[DestinationSelectorV2]) -> None:
    for i, sel in enumerate(selectors):
        if sel.kind not in SUPPORTED_KINDS:
            severity = Severity.ERROR if policy.kind == "OutlierDetectionPolicy" else Severity.WARNING
            rep.add(policy, severity, "unsupported-destination-kind",
                    f"{policy.kind} applies to VIRTUAL_DESTINATION and EXTERNAL_SERVICE destinations; kind "
                    f"{sel.kind} is not translated", ("spec", "applyToDestinations", i, "kind"))


def _check_duration(rep: Reporter, policy: Any, value: Any, path: tuple[Any, ...]) -> None:
    if value is None:
        return
    try:
        seconds = duration_seconds(str(value))
    except ValueError:
        rep.add(policy, Severity.ERROR, "bad-duration", f"{value!r} is not a duration (e.g. 10s, 500ms)", path)
        return
    if seconds < 0.001:
        rep.add(policy, Severity.ERROR, "bad-duration", f"{value!r} is below the minimum of 1ms", path)


def check_failover(rep: Reporter, policy: FailoverPolicyV2) -> None:
    _check_selectors(rep, policy, policy.spec.apply_to_destinations)
    config = policy.spec.config
    if config is None:
        return
    for i, mapping in enumerate(config.locality_mappings):
        path = ("spec", "config", "localityMappings", i)
        if mapping.from_ is None or not mapping.from_.region:
            rep.add(policy, Severity.ERROR, "missing-field", "a locality mapping needs from.region", path + ("from",))
        if not mapping.to:
            rep.add(policy, Severity.ERROR, "missing-field", "a locality mapping needs at least one `to` locality",
                    path + ("to",))
        for j, target in enumerate(mapping.to):
            if not target.region:
                rep.add(policy, Severity.ERROR, "missing-field", "a `to` locality needs a region",
                        path + ("to", j))
    labels = config.priority_labels.labels if config.priority_labels else []
    if labels and config.locality_mappings:
        rep.add(policy, Severity.INFO, "priority-labels-ignored",
                "priorityLabels is ignored: localityMappings is set and wins", ("spec", "config", "priorityLabels"))
    pairs = [label for label in labels if "=" in label]
    if pairs and len(pairs) != len(labels):
        rep.add(policy, Severity.ERROR, "mixed-priority-labels",
                "priorityLabels are either all keys or all key=value pairs, not mixed",
                ("spec", "config", "priorityLabels", "labels"))
    for i, label in enumerate(labels):
        if "=" not in label and label not in _LOCALITY_KEYS:
            rep.add(policy, Severity.INFO, "client-label-unknown",
                    f"priority label {label!r} compares with the client's own labels, which a gateway node or "
                    "--from-locality does not have: no endpoint matches it there",
                    ("spec", "config", "priorityLabels", "labels", i))


def check_outlier(rep: Reporter, policy: OutlierDetectionPolicyV2) -> None:
    _check_selectors(rep, policy, policy.spec.apply_to_destinations)
    c = policy.spec.config
    if c is None:
        return
    path = ("spec", "config")
    if c.consecutive_errors is not None and c.consecutive_errors < 1:
        rep.add(policy, Severity.ERROR, "bad-value", "consecutiveErrors must be at least 1",
                path + ("consecutiveErrors",))
    if c.max_ejection_percent is not None and not 0 <= c.max_ejection_percent <= 100:
        rep.add(policy, Severity.ERROR, "bad-value", "maxEjectionPercent must be 0-100", path + ("maxEjectionPercent",))
    _check_duration(rep, policy, c.interval, path + ("interval",))
    _check_duration(rep, policy, c.base_ejection_time, path + ("baseEjectionTime",))


def validate_resilience(snapshot: Snapshot) -> list[Any]:
    rep = Reporter()
    for fp in _policies(snapshot, "FailoverPolicy", FailoverPolicyV2):
        check_failover(rep, fp)
    for od in _policies(snapshot, "OutlierDetectionPolicy", OutlierDetectionPolicyV2):
        check_outlier(rep, od)
    return rep.findings
