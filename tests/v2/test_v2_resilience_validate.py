"""Located findings for bad FailoverPolicy / OutlierDetectionPolicy objects; the fixture itself is clean."""

from __future__ import annotations

from pathlib import Path

from meshctl.model.snapshot import snapshot_from_text
from meshctl.model.validate import validate

FIXTURE = Path(__file__).parent / "data" / "resilience.yaml"
BAD = """
apiVersion: resilience.policy.gloo.solo.io/v2
kind: FailoverPolicy
metadata: {name: bad-failover, namespace: ops}
spec:
  applyToDestinations: [{kind: SERVICE}]
  config:
    localityMappings:
    - to: []
    priorityLabels: {labels: [region, "tier=gold"]}
---
apiVersion: resilience.policy.gloo.solo.io/v2
kind: OutlierDetectionPolicy
metadata: {name: bad-outlier, namespace: ops}
spec:
  applyToDestinations: [{kind: SERVICE}]
  config: {consecutiveErrors: 0, maxEjectionPercent: 150, interval: soon, baseEjectionTime: 0s}
"""


def codes(text: str) -> list[tuple[str, str, int | None, str | None]]:
    return [(f.severity.name, f.code, f.line, f.path) for f in validate(snapshot_from_text(text, "bad.yaml"))]


def test_the_fixture_has_no_resilience_findings() -> None:
    found = [f for f in validate(snapshot_from_text(FIXTURE.read_text(), "r.yaml"))
             if "Policy" in (f.resource or "")]
    assert found == []


def test_bad_policies_are_reported_with_file_line_and_path() -> None:
    found = codes(BAD)
    assert ("WARNING", "unsupported-destination-kind", 6, "spec.applyToDestinations[0].kind") in found
    assert ("ERROR", "unsupported-destination-kind", 16, "spec.applyToDestinations[0].kind") in found
    assert any(c == "missing-field" and p == "spec.config.localityMappings[0].from" for _, c, _, p in found)
    assert any(c == "missing-field" and p == "spec.config.localityMappings[0].to" for _, c, _, p in found)
    assert any(c == "priority-labels-ignored" for _, c, _, _ in found)
    assert any(c == "mixed-priority-labels" for _, c, _, _ in found)
    bad_values = {p for _, c, _, p in found if c in ("bad-value", "bad-duration", "wrong-type")}
    assert bad_values == {"spec.config.consecutiveErrors", "spec.config.maxEjectionPercent", "spec.config.interval",
                          "spec.config.baseEjectionTime"}
