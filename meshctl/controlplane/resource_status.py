"""What status each routing resource should carry: its state, a file-less message and observedGeneration.

Pure (no Kubernetes client): findings in, status bodies out. v1beta1/v1 kinds carry Gloo Mesh 1.x's flat
`status: {state, message, observedGeneration}`; v2 kinds carry Gloo 2.x's `status.common.state:
{approval, message, observedGeneration}` (gloo-v2 reference §1.12). The shape is chosen by apiVersion alone,
so kinds added later are covered without touching this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..model.findings import Finding, Severity
from ..model.resources import DISCOVERY_KINDS, Resource

ACCEPTED, WARNING, INVALID = "ACCEPTED", "WARNING", "INVALID"
MAX_MESSAGE_FINDINGS = 10  # a status is read in `kubectl get -o yaml`; the rest is counted, not listed
MAX_MESSAGE_CHARS = 2000


@dataclass(frozen=True)
class ResourceStatus:
    """The outcome for one resource at one generation."""

    state: str
    message: str
    observed_generation: int | None


def is_v2(api_version: str) -> bool:
    """Gloo 2.x kinds (networking.gloo.solo.io/v2, admin.gloo.solo.io/v2, ...) use the `common` shape."""
    return api_version.rsplit("/", 1)[-1].startswith("v2")


def gets_status(resource: Resource) -> bool:
    """Routing resources (every Gloo kind) get a status; discovery objects (Services, Pods, ...) do not."""
    return resource.kind not in DISCOVERY_KINDS and bool(resource.api_version)


def describe_finding(finding: Finding) -> str:
    """One finding without its file: "error[code] Kind ns/name spec.path: message"."""
    where = " ".join(p for p in (finding.resource, finding.path) if p)
    return f"{finding.severity.value}[{finding.code}] {where + ': ' if where else ''}{finding.message}"


def findings_by_resource(findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """Errors and warnings keyed by the resource they name ("Kind ns/name"); notes do not change a state."""
    out: dict[str, list[Finding]] = {}
    for finding in findings:
        if finding.resource and finding.severity in (Severity.ERROR, Severity.WARNING):
            out.setdefault(finding.resource, []).append(finding)
    return out


def resource_status(resource: Resource, concerning: list[Finding]) -> ResourceStatus:
    errors = [f for f in concerning if f.severity is Severity.ERROR]
    state = INVALID if errors else WARNING if concerning else ACCEPTED
    ordered = errors + [f for f in concerning if f.severity is not Severity.ERROR]
    lines = list(dict.fromkeys(describe_finding(f) for f in ordered))
    shown = lines[:MAX_MESSAGE_FINDINGS]
    message = "; ".join(shown)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[:MAX_MESSAGE_CHARS - 1] + "…"
    if len(lines) > len(shown):
        message += f"; and {len(lines) - len(shown)} more"
    return ResourceStatus(state, message, resource.metadata.generation)


def status_body(api_version: str, status: ResourceStatus) -> dict[str, Any]:
    """The `status` object to write (an empty message is written as "" so an old one is cleared)."""
    if is_v2(api_version):
        state: dict[str, Any] = {"approval": status.state, "message": status.message}
        if status.observed_generation is not None:
            state["observedGeneration"] = status.observed_generation
        return {"common": {"state": state}}
    body: dict[str, Any] = {"state": status.state, "message": status.message}
    if status.observed_generation is not None:
        body["observedGeneration"] = status.observed_generation
    return body


def _covers(current: Any, wanted: Any) -> bool:
    """True when every field of `wanted` is already in `current` (other fields there are left alone)."""
    if isinstance(wanted, Mapping):
        return isinstance(current, Mapping) and all(_covers(current.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, int) and not isinstance(wanted, bool) and isinstance(current, str):
        return current == str(wanted)  # observedGeneration is int64: some writers store it as a string
    return current == wanted


def status_is_current(current: Any, wanted: Mapping[str, Any]) -> bool:
    return _covers(current or {}, wanted)


def desired_statuses(resources: Iterable[Resource], findings: Iterable[Finding]) -> dict[str, dict[str, Any]]:
    """Status body per resource ("Kind ns/name") for every resource that gets one."""
    by_resource = findings_by_resource(findings)
    return {r.display: status_body(r.api_version, resource_status(r, by_resource.get(r.display, [])))
            for r in resources if gets_status(r)}
