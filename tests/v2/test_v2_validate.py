"""v2 CEL/proto constraints as findings, each placed at file:line:column with its field path."""

from __future__ import annotations

import pytest

from meshctl.model.v2.validate import host_problem, weight_problem
from meshctl.model.validate import validate

from .helpers import V2, delegate, fwd, gateway, snap, table


def _found(*docs: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in validate(snap(*docs)):
        assert f.file == "v2.yaml" and f.line and f.column, f
        out.setdefault(f.code, []).append(f.path or "")
    return out


def test_children_must_not_set_root_fields() -> None:
    child = table("kid", http=[fwd("r")], virtualGateways=[{"name": "gw"}], failureMode="FREEZE_CONFIG",
                  virtualServiceAnnotations={"a": "b"})
    assert sorted(_found(child)["child-field"]) == ["spec.failureMode", "spec.virtualGateways",
                                                   "spec.virtualServiceAnnotations"]


def test_route_with_no_or_two_actions() -> None:
    two = {"name": "two", "directResponse": {"status": 200}, "redirect": {"pathRedirect": "/"}}
    found = _found(table("t", hosts=["a.io"], http=[{"name": "none"}, two]))
    assert found["route-no-action"] == ["spec.http[0]"] and found["route-multiple-actions"] == ["spec.http[1]"]


@pytest.mark.parametrize("host,bad", [("*", True), ("a.*.io", True), ("*.io", False), ("*bar.foo.com", False),
                                      ("api.example.com", False), ("a..b", True), ("**.io", True)])
def test_hosts(host: str, bad: bool) -> None:
    assert (host_problem(host) is not None) is bad


def test_bare_star_host_is_placed() -> None:
    assert _found(table("t", hosts=["ok.io", "*"], http=[fwd("r")]))["bad-host"] == ["spec.hosts[1]"]


def test_weights_over_100() -> None:
    assert weight_problem([60, 50]) and weight_problem([100, 0]) and not weight_problem([90, 0])
    over = {"destinations": [{"ref": {"name": "a"}, "weight": 60}, {"ref": {"name": "b"}, "weight": 50}]}
    found = _found(table("t", hosts=["a.io"], http=[{"name": "r", "forwardTo": over}]))
    assert found["bad-weights"] == ["spec.http[0].forwardTo.destinations"]


def test_default_destination_without_forward_to_and_forward_to_without_destination() -> None:
    found = _found(table("t", hosts=["a.io"], defaultDestination={"ref": {"name": "x"}},
                         http=[{"name": "r", "directResponse": {"status": 200}}]),
                   table("u", hosts=["b.io"], http=[{"name": "r", "forwardTo": {}}]))
    assert found["default-destination-unused"] == ["spec.defaultDestination"]
    assert found["no-destination"] == ["spec.http[0].forwardTo"]


def test_rewrites_under_regex_matchers_and_exclusive_rewrites() -> None:
    route = fwd("r", {"uri": {"regex": "/a.*"}})
    route["forwardTo"]["regexRewrite"] = {"pattern": {"regex": "a"}, "substitution": "b"}
    route2 = fwd("r2", {"uri": {"prefix": "/"}})
    route2["forwardTo"].update(pathRewrite="/x", regexRewrite={"pattern": {"regex": "a"}, "substitution": "b"},
                               hostRewrite="h.io", autoHostRewrite=True)
    found = _found(table("t", hosts=["a.io"], http=[route, route2]))
    assert found["rewrite-unsupported"] == ["spec.http[0].forwardTo.regexRewrite"]
    assert sorted(found["exclusive-fields"]) == ["spec.http[1].forwardTo.autoHostRewrite",
                                                 "spec.http[1].forwardTo.regexRewrite"]


def test_direct_response_status_and_redirect_code_enum() -> None:
    found = _found(table("t", hosts=["a.io"], http=[
        {"name": "a", "directResponse": {"status": 700}},
        {"name": "b", "directResponse": {"status": 101}},
        {"name": "c", "redirect": {"pathRedirect": "/", "responseCode": "MOVED"}}]))
    assert found["bad-status"] == ["spec.http[0].directResponse.status"]
    assert found["informational-status"] == ["spec.http[1].directResponse.status"]
    assert found["wrong-type"] == ["spec.http[2].redirect.responseCode"]


def test_delegate_needs_selectors_and_a_prefix() -> None:
    bad = delegate("d", [])
    bad["matchers"] = [{"uri": {"exact": "/x"}}]
    found = _found(table("t", hosts=["a.io"], http=[bad]))
    assert found["delegate-no-target"] == ["spec.http[0].delegate"]
    assert found["delegate-not-prefix"] == ["spec.http[0].matchers[0].uri"]


def test_gateway_constraints() -> None:
    found = _found(gateway(listeners=[]),
                   gateway("g2", listeners=[{"port": {"number": 80}},
                                            {"http": {}, "tcp": {}, "port": {"number": 81}},
                                            {"tcp": {}, "httpsRedirect": True, "port": {"number": 82}},
                                            {"http": {}, "port": {"number": 83}, "appProtocol": "TCP"},
                                            {"http": {}, "allowedRouteTables": [{"host": "a.*"}],
                                             "port": {"number": 84}}]))
    assert found["gateway-no-listener"] == ["spec.listeners"]
    assert found["listener-type-default"] == ["spec.listeners[0]"]
    assert found["exclusive-fields"] == ["spec.listeners[1].tcp"]
    assert found["https-redirect-tcp"] == ["spec.listeners[2].httpsRedirect"]
    assert found["bad-app-protocol"] == ["spec.listeners[3].appProtocol"]
    assert found["bad-host"] == ["spec.listeners[4].allowedRouteTables[0].host"]


def test_virtual_destination_constraints() -> None:
    vd = {"apiVersion": V2, "kind": "VirtualDestination", "metadata": {"name": "vd", "namespace": "ops"},
          "spec": {"hosts": ["a.mesh", "a.mesh", "*.mesh"], "ports": [
              {"number": 70000, "protocol": "HTTP"}, {"number": 80, "protocol": "SMTP", "targetPort": {"number": 8}}]}}
    found = _found(vd)
    assert found["duplicate-host"] == ["spec.hosts[1]"] and found["bad-host"] == ["spec.hosts[2]"]
    assert found["bad-port"] == ["spec.ports[0].number"] and found["bad-protocol"] == ["spec.ports[1].protocol"]
    assert found["target-port-without-backing"] == ["spec.ports[1].targetPort"]


def test_unknown_fields_are_kept_and_warned_about() -> None:
    t = table("t", hosts=["a.io"], http=[fwd("r", {"uri": {"prefix": "/"}, "colour": "red"})], extraThing=1)
    s = snap(t)
    found = _found(t)
    assert sorted(found["unknown-field"]) == ["spec.extraThing", "spec.http[0].matchers[0].colour"]
    rt = s.get("RouteTable", "ops", "t")
    assert rt.spec._extra == {"extraThing": 1}


def test_workspace_loads_without_findings() -> None:
    ws = {"apiVersion": "admin.gloo.solo.io/v2", "kind": "Workspace", "metadata": {"name": "w", "namespace": "gloo-mesh"},
          "spec": {"workloadClusters": [{"name": "c1", "namespaces": [{"name": "*"}]}]}}
    assert _found(ws) == {}
    assert snap(ws).get("Workspace", "gloo-mesh", "w") is not None
