"""What happens once a route matches: rewrites, redirects, direct responses, backends, gateway choice, misses."""

from __future__ import annotations

import json
from typing import Callable

import pytest

from meshctl.mesh.index import Locality
from meshctl.model.snapshot import load_snapshot
from meshctl.sandbox.engine import Sandbox, SandboxError
from meshctl.sandbox.request import parse_request

from .conftest import gateway_yaml, vhost_yaml

REWRITES = """  - name: prefix-rewrite
    matchers: [{uri: {prefix: /api/v1}}]
    routeAction:
      destinations: [{kubeService: {name: api, namespace: apps}}]
      pathRewrite: /v2
  - name: exact-rewrite
    matchers: [{uri: {exact: /old}}]
    routeAction:
      destinations: [{kubeService: {name: api, namespace: apps}}]
      pathRewrite: /new/place
  - name: two-matchers
    matchers: [{uri: {prefix: /first}}, {uri: {prefix: /second/}}]
    routeAction:
      destinations: [{kubeService: {name: api, namespace: apps}}]
      pathRewrite: /x/
  - name: to-https
    matchers: [{uri: {prefix: /secure}}]
    redirectAction: {httpsRedirect: true}
  - name: moved
    matchers: [{uri: {prefix: /moved}}]
    redirectAction: {hostRedirect: new.example.com, pathRedirect: /landing, responseCode: FOUND}
  - name: moved-query
    matchers: [{uri: {prefix: /mq}}]
    redirectAction: {pathRedirect: "/landing?from=mq", stripQuery: true}
  - name: prefix-swap
    matchers: [{uri: {prefix: /docs/}}]
    redirectAction: {prefixRewrite: /manual/, stripQuery: true, responseCode: PERMANENT_REDIRECT}
  - name: canary
    matchers: [{uri: {prefix: /cart}, headers: [{name: x-canary, value: "1"}], method: POST}]
    directResponseAction: {status: 202, body: canary}
  - name: split
    matchers: [{uri: {prefix: /split}}]
    routeAction:
      destinations:
      - {kubeService: {name: api, namespace: apps, subset: {version: v1}}, weight: 80}
      - {kubeService: {name: api, namespace: apps, subset: {version: v2}}, weight: 20}
"""


@pytest.fixture
def sb(sandbox_from: Callable[..., Sandbox]) -> Sandbox:
    return sandbox_from(gateway_yaml(), vhost_yaml("vh", ["www.example.com"], REWRITES))


def ask(sb: Sandbox, line: str, *headers: str):  # type: ignore[no-untyped-def]
    return sb.evaluate(parse_request([line], list(headers)))


@pytest.mark.parametrize("line, route, upstream", [
    ("GET http://www.example.com/api/v1/users?page=2", "prefix-rewrite", "/v2/users?page=2"),
    ("GET http://www.example.com/api/v1", "prefix-rewrite", "/v2"),
    ("GET http://www.example.com/old?q=1", "exact-rewrite", "/new/place?q=1"),  # exact: whole path, query kept
    ("GET http://www.example.com/second/a/b", "two-matchers", "/x/a/b"),  # the matcher that matched is swapped
    ("GET http://www.example.com/first/a", "two-matchers", "/x//a"),
])
def test_upstream_path_after_rewrite(sb: Sandbox, line: str, route: str, upstream: str) -> None:
    result = ask(sb, line)
    assert result.route is not None and result.route.name == route
    assert result.upstream_path == upstream
    assert result.to_dict()["action"]["upstreamPath"] == upstream


@pytest.mark.parametrize("line, status, location", [
    ("GET http://www.example.com/secure/a?x=1", 301, "https://www.example.com/secure/a?x=1"),
    ("GET http://www.example.com:80/secure", 301, "https://www.example.com/secure"),  # default port dropped
    ("GET http://www.example.com:8080/secure", 301, "https://www.example.com/secure"),  # the listener strips the port
    ("GET http://www.example.com/moved/x?y=1", 302, "http://new.example.com/landing?y=1"),
    ("GET http://www.example.com/mq?y=1", 301, "http://www.example.com/landing?from=mq"),
    ("GET http://www.example.com/docs/intro?y=1", 308, "http://www.example.com/manual/intro"),
])
def test_redirect_location_and_code(sb: Sandbox, line: str, status: int, location: str) -> None:
    result = ask(sb, line)
    assert result.action_type == "redirect"
    assert (result.status, result.location) == (status, location)
    data = result.to_dict()
    assert data["action"]["type"] == "redirect"
    assert (data["action"]["location"], data["action"]["status"]) == (location, status)


def test_direct_response_needs_every_condition(sb: Sandbox) -> None:
    hit = ask(sb, "POST http://www.example.com/cart", "x-canary: 1")
    assert (hit.status, hit.body) == (202, "canary")
    miss = ask(sb, "GET http://www.example.com/cart", "x-canary: 1")
    assert not miss.matched
    assert "method POST required, got GET" in {e.reason for e in miss.trace}


def test_closest_misses_rank_how_far_a_route_got(sb: Sandbox) -> None:
    result = ask(sb, "POST http://www.example.com/cart", "x-canary: 2")
    assert not result.matched and result.status == 404
    closest = result.closest[0]
    assert closest.route.name == "canary"
    assert closest.reason == "header x-canary=1 required, got '2'"
    # every other route failed on the path, so they rank below
    assert all(e.progress < closest.progress for e in result.closest[1:])
    data = result.to_dict()
    assert data["matched"] is False and data["route"] is None and data["action"] is None
    assert data["closestMisses"][0]["route"] == "canary"
    assert len(data["trace"]) == len(result.virtual_host.routes)  # type: ignore[union-attr]


def test_weighted_destinations_and_clusters(sb: Sandbox) -> None:
    result = ask(sb, "GET http://www.example.com/split")
    dests = result.to_dict()["action"]["destinations"]
    assert [(d["subset"], d["weight"], d["namespace"]) for d in dests] == [
        ({"version": "v1"}, 80, "apps"), ({"version": "v2"}, 20, "apps")]
    assert dests[0]["envoyCluster"].startswith("outbound|0|version-v1|api.apps.svc")
    assert result.weighted_cluster(0) == dests[0]["envoyCluster"]
    assert result.weighted_cluster(85) == dests[1]["envoyCluster"]
    assert result.weighted_cluster(100) == dests[0]["envoyCluster"]  # random_value wraps modulo the total


def test_trace_names_the_first_failed_condition(guide_sandbox: Callable[[str], Sandbox]) -> None:
    result = guide_sandbox("04-second-table-ref").evaluate(parse_request(["http://www.example.com/reviews/v2/1"]))
    assert [e.matched for e in result.trace] == [False, False, True]
    assert result.trace[0].reason == "prefix /ratings does not match /reviews/v2/1"
    assert result.trace[1].reason == "prefix /reviews/v1 does not match /reviews/v2/1"
    assert result.to_dict()["route"]["chain"] == ["VirtualHost/gloo-mesh/demo-virtualhost#reviews",
                                                  "RouteTable/gloo-mesh/demo-routetable#v2"]


def test_json_document_has_the_agreed_keys(guide_sandbox: Callable[[str], Sandbox]) -> None:
    data = guide_sandbox("07-route-specificity").evaluate(
        parse_request(["GET http://www.example.com/reviews/v1/1"])).to_dict()
    json.dumps(data)  # serialisable
    for key in ("matched", "gateway", "virtualHost", "route", "action", "trace", "backends"):
        assert key in data
    assert data["gateway"] == "gloo-mesh/demo-gateway" and data["virtualHost"] == "gloo-mesh/demo-virtualhost"
    assert data["route"]["owner"] == "RouteTable/gloo-mesh/demo-routetable"
    assert data["action"]["type"] == "route"
    assert set(data["action"]["destinations"][0]) >= {"kind", "name", "namespace", "cluster", "subset", "weight"}
    assert data["action"]["upstreamPath"] == "/reviews/1"
    assert [e["matched"] for e in data["trace"]] == [False, False, False, True]
    assert set(data["trace"][0]) >= {"route", "owner", "matched", "reason"}
    endpoints = data["backends"][0]["priorities"][0]["endpoints"]
    assert [e["address"] for e in endpoints] == ["10.1.0.21"]  # the v1 subset only


def test_virtual_destination_priorities_follow_client_locality() -> None:
    sb = Sandbox(load_snapshot([], demo=True))
    req = parse_request(["http://reviews.global/reviews/1"])
    near_v3 = sb.evaluate(req, locality=Locality.parse("us-east-2/us-east-2b")).backends[0]
    near_v1 = sb.evaluate(req, locality=Locality.parse("us-east-1/us-east-1a")).backends[0]
    p_east2 = near_v3.priorities(Locality.parse("us-east-2/us-east-2b"))
    p_east1 = near_v1.priorities(Locality.parse("us-east-1/us-east-1a"))
    assert [e.address for e in p_east2[0]] == ["10.2.0.23"]
    assert sorted(e.address for e in p_east1[0]) == ["10.1.0.21", "10.1.0.22"]
    data = sb.evaluate(req, locality=Locality.parse("us-east-2")).to_dict()
    assert data["fromLocality"] == "us-east-2"
    assert data["backends"][0]["priorities"][0]["endpoints"][0]["address"] == "10.2.0.23"


def test_gateway_is_chosen_by_host_among_several(sandbox_from: Callable[..., Sandbox]) -> None:
    route = "  - name: r\n    matchers: [{uri: {prefix: /}}]\n    directResponseAction: {status: 200, body: %s}\n"
    sb = sandbox_from(
        gateway_yaml("a-gw", labels={"gw": "a"}), gateway_yaml("b-gw", labels={"gw": "b"}),
        vhost_yaml("a-vh", ["a.example.com"], route % "a", labels={"gw": "a"}),
        vhost_yaml("b-vh", ["b.example.com", "shared.example.com"], route % "b", labels={"gw": "b"}),
        vhost_yaml("c-vh", ["shared.example.com"], route % "c", labels={"gw": "a"}),
    )
    b = sb.evaluate(parse_request(["http://b.example.com/"]))
    assert (b.gateway.name, b.body) == ("gloo-mesh/b-gw", "b")
    assert b.gateway_note is not None and "gloo-mesh/b-gw" in b.gateway_note
    shared = sb.evaluate(parse_request(["http://shared.example.com/"]))
    assert shared.gateway.name == "gloo-mesh/a-gw" and "also claimed by gloo-mesh/b-gw" in str(shared.gateway_note)
    assert sb.evaluate(parse_request(["http://shared.example.com/"]), gateway="gloo-mesh/b-gw").body == "b"
    nobody = sb.evaluate(parse_request(["http://z.example.com/"]))
    assert nobody.gateway.name == "gloo-mesh/a-gw" and "none claims" in str(nobody.gateway_note)
    with pytest.raises(SandboxError, match="unknown gateway 'x/y'"):
        sb.evaluate(parse_request(["http://a.example.com/"]), gateway="x/y")
