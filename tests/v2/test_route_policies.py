"""Route policies by route labels (P1-P5 with R5 inheritance) on the reference's example (a): std-retries applies to
health, legacy, list and all but not duplicate-all-1; one policy of a kind per route (the oldest), the others
reported; the options reach the sandbox, test-route and the Envoy route."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from meshctl.cli.main import main
from meshctl.model.snapshot import Snapshot, load_snapshot
from meshctl.routing.view import build_routing_view

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_A = REPO / "docs" / "examples" / "gloo-v2-reference-a"
STD_RETRIES = {"apiVersion": "resilience.policy.gloo.solo.io/v2", "kind": "RetryTimeoutPolicy",
               "metadata": {"name": "std-retries", "namespace": "gw-config",
                            "creationTimestamp": "2026-01-01T09:00:00Z"},
               "spec": {"applyToRoutes": [{"route": {"labels": {"retry": "std"}}}],
                        "config": {"retries": {"attempts": 3, "perTryTimeout": "2s"}}}}


def with_policies(tmp_path: Path, *policies: dict) -> tuple[Snapshot, list[str]]:
    extra = tmp_path / "policies.yaml"
    extra.write_text(yaml.safe_dump_all(list(policies)))
    return load_snapshot([EXAMPLE_A, extra]), [str(EXAMPLE_A), str(extra)]


def routes_by_name(snapshot: Snapshot) -> dict:
    view = build_routing_view(snapshot)
    return {r.name: r for g in view.gateways for v in g.virtual_hosts for r in v.routes}


def test_example_a_std_retries_by_inherited_labels(tmp_path: Path) -> None:
    snapshot, _ = with_policies(tmp_path, STD_RETRIES)
    routes = routes_by_name(snapshot)
    with_retries = sorted(n for n, r in routes.items() if r.options.retries is not None)
    assert with_retries == ["all", "health", "legacy", "list"]
    assert routes["duplicate-all-1"].applied_policies == []
    assert routes["list"].options.retries.attempts == 3 and routes["list"].options.retries.per_try_timeout == "2s"
    assert routes["list"].applied_policies == ["RetryTimeoutPolicy/gw-config/std-retries"]


def test_one_policy_of_a_kind_per_route_oldest_wins(tmp_path: Path) -> None:
    newer = json.loads(json.dumps(STD_RETRIES))
    newer["metadata"].update(name="all-retries", creationTimestamp="2026-01-01T10:00:00Z")
    newer["spec"] = {"config": {"requestTimeout": "1s", "retries": {"attempts": 7}}}  # every route
    fault = {"apiVersion": "resilience.policy.gloo.solo.io/v2", "kind": "FaultInjectionPolicy",
             "metadata": {"name": "abort-users", "namespace": "gw-config"},
             "spec": {"applyToRoutes": [{"route": {"labels": {"retry": "none"}}}],
                      "config": {"abort": {"httpStatus": 418}}}}
    snapshot, _ = with_policies(tmp_path, newer, STD_RETRIES, fault)
    routes = routes_by_name(snapshot)
    assert routes["list"].options.retries.attempts == 3  # std-retries is older
    assert routes["duplicate-all-1"].options.retries.attempts == 7  # only all-retries selects it
    assert routes["duplicate-all-1"].options.fault_injection.abort.http_status == 418
    assert routes["duplicate-all-1"].applied_policies == ["RetryTimeoutPolicy/gw-config/all-retries",
                                                          "FaultInjectionPolicy/gw-config/abort-users"]
    conflicts = [d for d in build_routing_view(snapshot).diagnostics if d.code == "policy-conflict"]
    assert {d.resource for d in conflicts} == {"RetryTimeoutPolicy gw-config/all-retries"}
    assert len(conflicts) == 4 and all("std-retries" in d.message for d in conflicts)


def test_policy_of_another_workspace_does_not_apply(tmp_path: Path) -> None:
    other = json.loads(json.dumps(STD_RETRIES))
    other["metadata"]["namespace"] = "elsewhere"
    workspaces = [{"apiVersion": "admin.gloo.solo.io/v2", "kind": "Workspace",
                   "metadata": {"name": name, "namespace": "gloo-mesh"},
                   "spec": {"workloadClusters": [{"name": "*", "namespaces": [{"name": ns} for ns in nss]}]}}
                  for name, nss in (("ops", ("gw-config", "istio-ingress", "shop")), ("other", ("elsewhere",)))]
    snapshot, _ = with_policies(tmp_path, other, *workspaces)
    assert all(not r.applied_policies for r in routes_by_name(snapshot).values())


def test_test_route_and_xds_show_the_policies(tmp_path: Path, capsys) -> None:
    header = {"apiVersion": "trafficcontrol.policy.gloo.solo.io/v2", "kind": "HeaderManipulationPolicy",
              "metadata": {"name": "tag", "namespace": "shop"},
              "spec": {"applyToRoutes": [{"route": {"labels": {"expose": "true"}}}],
                       "config": {"appendResponseHeaders": {"x-team": "shop"}}}}
    _, files = with_policies(tmp_path, STD_RETRIES, header)
    assert main(["test-route", *files, "-o", "json", "GET", "http://api.example.com/orders/1"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["route"]["name"] == "list"
    assert answer["route"]["policies"] == ["RetryTimeoutPolicy/gw-config/std-retries",
                                           "HeaderManipulationPolicy/shop/tag"]
    assert main(["test-route", *files, "GET", "http://api.example.com/orders/1"]) == 0
    assert "policies  RetryTimeoutPolicy/gw-config/std-retries" in capsys.readouterr().out
    assert main(["xds", "dump", *files, "--type", "rds", "-o", "json"]) == 0
    [config] = json.loads(capsys.readouterr().out)["routes"]
    [(host, listed)] = [(vh, r) for vh in config["virtualHosts"] for r in vh["routes"] if r["name"].endswith("#list")]
    # the route's own policy, or the host's when the routes share it (meshctl/xds/retry_hoist.py)
    assert listed["route"].get("retryPolicy", host.get("retryPolicy"))["numRetries"] == 3
    assert [h["header"] for h in listed["responseHeadersToAdd"]] == [{"key": "x-team", "value": "shop"}]


def test_bad_policies_are_located_findings_and_not_applied(tmp_path: Path) -> None:
    from meshctl.model.validate import validate

    bad = json.loads(json.dumps(STD_RETRIES))
    bad["spec"]["config"] = {"retries": {"attempts": "three", "perTryTimeout": "soon", "retryRemoteLocalities": "yes"}}
    fault = {"apiVersion": "resilience.policy.gloo.solo.io/v2", "kind": "FaultInjectionPolicy",
             "metadata": {"name": "f", "namespace": "gw-config"}, "spec": {"config": {"abort": {"httpStatus": 42}}}}
    snapshot, _ = with_policies(tmp_path, bad, fault)
    found = {(f.resource, f.path) for f in validate(snapshot) if f.code == "bad-policy"}
    assert found == {("RetryTimeoutPolicy gw-config/std-retries", "spec.config.retries.attempts"),
                     ("RetryTimeoutPolicy gw-config/std-retries", "spec.config.retries.perTryTimeout"),
                     ("RetryTimeoutPolicy gw-config/std-retries", "spec.config.retries.retryRemoteLocalities"),
                     ("FaultInjectionPolicy gw-config/f", "spec.config.abort.httpStatus")}
    assert all(f.line for f in validate(snapshot) if f.code == "bad-policy")
    assert all(not r.applied_policies for r in routes_by_name(snapshot).values())
