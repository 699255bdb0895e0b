"""Which status each resource gets: state from its findings, file-less message, shape by apiVersion."""

from __future__ import annotations

import pytest

from meshctl.controlplane.resource_status import (
    describe_finding,
    desired_statuses,
    is_v2,
    status_body,
    status_is_current,
)
from meshctl.model.findings import Finding, Severity
from meshctl.model.loader import resource_from_document
from meshctl.model.yamldoc import Document, SourceText

V1BETA1 = "networking.enterprise.mesh.gloo.solo.io/v1beta1"
V2 = "networking.gloo.solo.io/v2"


def _resource(api_version: str, kind: str, name: str, generation: int | None = 4):
    raw = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name, "namespace": "ns"}, "spec": {}}
    if generation is not None:
        raw["metadata"]["generation"] = generation
    resource, _ = resource_from_document(Document(SourceText("kube:ctx/x", render=lambda: ""), 0, raw))
    assert resource is not None
    return resource


def _finding(severity: Severity, resource: str, code: str = "c", path: str | None = "spec.routes[0]") -> Finding:
    return Finding(severity, code, f"{code} happened", file="/tmp/x.yaml", line=3, column=1, resource=resource,
                   path=path)


@pytest.mark.parametrize("severities, state", [
    ((), "ACCEPTED"),
    ((Severity.INFO,), "ACCEPTED"),
    ((Severity.WARNING,), "WARNING"),
    ((Severity.WARNING, Severity.ERROR), "INVALID"),
])
def test_state_follows_the_worst_finding(severities: tuple[Severity, ...], state: str) -> None:
    rt = _resource(V1BETA1, "RouteTable", "rt")
    findings = [_finding(s, "RouteTable ns/rt", code=f"c{i}") for i, s in enumerate(severities)]
    body = desired_statuses([rt], findings)["RouteTable ns/rt"]
    assert body["state"] == state and body["observedGeneration"] == 4
    if state == "INVALID":  # errors first, then warnings; no file, no line
        assert body["message"].startswith("error[c1] RouteTable ns/rt spec.routes[0]: c1 happened; warning[c0]")
    assert "/tmp/x.yaml" not in body["message"]


def test_findings_about_other_resources_do_not_count() -> None:
    rt, other = _resource(V1BETA1, "RouteTable", "rt"), _resource(V1BETA1, "RouteTable", "other")
    wanted = desired_statuses([rt, other], [_finding(Severity.ERROR, "RouteTable ns/other")])
    assert wanted["RouteTable ns/rt"]["state"] == "ACCEPTED" and wanted["RouteTable ns/other"]["state"] == "INVALID"


def test_v2_kinds_use_the_common_state_shape() -> None:
    es = _resource(V2, "ExternalService", "db")
    body = desired_statuses([es], [_finding(Severity.WARNING, "ExternalService ns/db", path=None)])
    assert body == {"ExternalService ns/db": {"common": {"state": {
        "approval": "WARNING", "message": "warning[c] ExternalService ns/db: c happened", "observedGeneration": 4}}}}
    # keyed on apiVersion alone: a kind this module has never heard of
    assert is_v2("admin.gloo.solo.io/v2") and is_v2("networking.gloo.solo.io/v2alpha1")
    assert not is_v2(V1BETA1) and not is_v2("networking.mesh.gloo.solo.io/v1")


def test_discovery_objects_get_no_status() -> None:
    service = _resource("v1", "Service", "svc")
    assert desired_statuses([service], []) == {}


def test_long_messages_are_cut_and_counted() -> None:
    rt = _resource(V1BETA1, "RouteTable", "rt")
    findings = [_finding(Severity.ERROR, "RouteTable ns/rt", code=f"c{i:02}") for i in range(25)]
    message = desired_statuses([rt], findings)["RouteTable ns/rt"]["message"]
    assert message.count("error[") == 10 and message.endswith("; and 15 more")


def test_current_status_is_recognised_with_extra_fields_and_string_generation() -> None:
    wanted = status_body(V1BETA1, desired_statuses_body())
    assert status_is_current({"state": "ACCEPTED", "message": "", "observedGeneration": "2", "extra": 1}, wanted)
    assert not status_is_current({"state": "ACCEPTED", "message": "", "observedGeneration": 1}, wanted)
    assert not status_is_current(None, wanted)


def desired_statuses_body():
    from meshctl.controlplane.resource_status import ResourceStatus

    return ResourceStatus("ACCEPTED", "", 2)


def test_describe_finding_without_resource() -> None:
    assert describe_finding(Finding(Severity.ERROR, "x", "broken")) == "error[x] broken"
