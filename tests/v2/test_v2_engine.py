"""Gloo v2 route engine rules: binding (G3-G5), delegation (R4, R6, R7), renaming (R9), failureMode (R11),
weights (R14), cycles, conflicts and the diagnostics, each on a small configuration."""

from __future__ import annotations

from meshctl.routing.actions import action_dict
from meshctl.routing.v2_binding import dns_matches
from meshctl.routing.v2_convert import remainder_weights, v2_route_names

from .helpers import codes, delegate, fwd, gateway, names, table, view


def _listener(port: int = 8080, *hosts: str) -> dict:
    out: dict = {"http": {}, "port": {"number": port}}
    if hosts:
        out["allowedRouteTables"] = [{"host": h} for h in hosts]
    return out


# -- G3-G5: binding ------------------------------------------------------------------------------

def test_dns_wildcard_matching() -> None:
    assert dns_matches("*.example.com", "api.example.com")
    assert not dns_matches("*.example.com", "example.com")
    assert dns_matches("*.example.com", "*.a.example.com")
    assert not dns_matches("*.a.example.com", "*.example.com")
    assert dns_matches("*", "anything.io")
    assert dns_matches("API.example.com", "api.EXAMPLE.com")


def test_listener_without_filters_binds_every_referencing_table() -> None:
    v = view(gateway(), table("a", hosts=["a.io", "b.io"], http=[fwd("r")]))
    assert [h.name for h in v.gateways[0].virtual_hosts] == ["a.io", "b.io"]


def test_host_filter_serves_only_matching_hosts_and_reports_tables_it_refuses() -> None:
    v = view(gateway(listeners=[_listener(8080, "*.example.com")]),
             table("a", hosts=["api.example.com", "other.io"], http=[fwd("r")]),
             table("b", hosts=["b.io"], http=[fwd("r")]))
    assert [h.name for h in v.gateways[0].virtual_hosts] == ["api.example.com"]
    refused = [f for f in v.diagnostics if f.code == "route-table-not-admitted"]
    assert [f.resource for f in refused] == ["RouteTable ops/b"]
    assert refused[0].path == "spec.virtualGateways[0]" and refused[0].line


def test_namespace_part_of_filter_host() -> None:
    docs = [gateway(listeners=[_listener(8080, "team/*")]),
            table("a", ns="team", hosts=["a.io"], http=[fwd("r")], gateways=[{"name": "gw", "namespace": "ops"}]),
            table("b", ns="other", hosts=["b.io"], http=[fwd("r")], gateways=[{"name": "gw", "namespace": "ops"}])]
    assert [h.name for h in view(*docs).gateways[0].virtual_hosts] == ["a.io"]
    docs[0] = gateway(listeners=[_listener(8080, "./*")])
    docs[1]["metadata"]["namespace"] = "ops"
    assert [h.name for h in view(*docs).gateways[0].virtual_hosts] == ["a.io"]


def test_table_for_another_gateway_does_not_bind_and_dangling_gateway_is_an_error() -> None:
    v = view(gateway(), table("a", hosts=["a.io"], http=[fwd("r")], gateways=[{"name": "nope"}]))
    assert v.gateways[0].virtual_hosts == []
    assert "dangling-gateway-ref" in codes(v) and "listener-no-route-tables" in codes(v)


def test_one_gateway_view_per_http_listener_with_its_port() -> None:
    v = view(gateway(listeners=[_listener(80), _listener(443), {"tcp": {}, "port": {"number": 9000}}]),
             table("a", hosts=["a.io"], http=[fwd("r")]))
    assert [(g.name, g.default_port) for g in v.gateways] == [("ops/gw/80", 80), ("ops/gw/443", 443)]


def test_port_matcher_limits_a_route_to_its_listener() -> None:
    v = view(gateway(listeners=[_listener(80), _listener(443)]),
             table("a", hosts=["a.io"], http=[fwd("tls-only", {"port": 443, "uri": {"prefix": "/"}}), fwd("all")]))
    assert names(v, "ops/gw/80") == ["all"]
    assert names(v, "ops/gw/443") == ["tls-only", "all"]


def test_root_tables_sharing_a_host_merge_by_weight_then_age() -> None:
    v = view(gateway(),
             table("old", hosts=["a.io"], http=[fwd("old")], created="2024-01-01T00:00:00Z"),
             table("new", hosts=["a.io"], http=[fwd("new")], created="2024-02-01T00:00:00Z"),
             table("heavy", hosts=["a.io"], http=[fwd("heavy")], weight=5, created="2024-03-01T00:00:00Z"))
    assert names(v) == ["heavy", "old", "new"]


# -- delegation ---------------------------------------------------------------------------------

def test_label_selected_children_tie_by_creation_time_then_name() -> None:
    kids = [table(n, labels={"team": "x"}, created=c, http=[fwd(n, {"uri": {"prefix": f"/{n}"}})])
            for n, c in (("b", "2024-01-01T00:00:00Z"), ("a", "2024-01-01T00:00:00Z"), ("c", "2023-01-01T00:00:00Z"))]
    v = view(gateway(), table("root", hosts=["a.io"], http=[delegate("d", [{"labels": {"team": "x"}}])]), *kids)
    assert names(v) == ["c", "a", "b"]


def test_table_weight_sorts_children_higher_first_and_keeps_written_order() -> None:
    v = view(gateway(), table("root", hosts=["a.io"], http=[delegate("d", [{"name": "low"}, {"name": "high"}])]),
             table("low", weight=1, http=[fwd("l1", {"uri": {"prefix": "/l1"}}), fwd("l2", {"uri": {"prefix": "/l2"}})]),
             table("high", weight=9, http=[fwd("h1", {"uri": {"prefix": "/h"}})]))
    assert names(v) == ["h1", "l1", "l2"]
    assert v.gateways[0].virtual_hosts[0].routes[0].position.reason == "table weight"


def test_name_and_namespace_selectors() -> None:
    v = view(gateway(),
             table("root", hosts=["a.io"], http=[delegate("d", [{"name": "kid", "namespace": "apps"}])]),
             table("kid", ns="apps", http=[fwd("yes")]), table("kid", ns="other", http=[fwd("no")]))
    assert names(v) == ["yes"]
    assert [f.resource for f in v.diagnostics if f.code == "unreached-route-table"] == ["RouteTable other/kid"]


def test_child_paths_are_joined_to_the_parent_prefix() -> None:
    v = view(gateway(), table("root", hosts=["a.io"], http=[delegate("d", [{"name": "kid"}], prefix="/shop")]),
             table("kid", http=[fwd("e", {"uri": {"exact": "/cart"}}), fwd("p", {"uri": {"prefix": "/items"}}),
                                fwd("r", {"uri": {"regex": "/v[0-9]+"}}), fwd("none")]))
    got = [(m.path_kind, m.path) for r in v.gateways[0].virtual_hosts[0].routes for m in r.matchers]
    assert got == [("exact", "/shop/cart"), ("prefix", "/shop/items"), ("regex", r"/shop(?:/v[0-9]+)"),
                   ("prefix", "/shop")]


def test_route_specificity_over_nested_delegation() -> None:
    v = view(gateway(),
             table("root", hosts=["a.io"], http=[delegate("d", [{"name": "mid"}], sort="ROUTE_SPECIFICITY")]),
             table("mid", http=[fwd("short", {"uri": {"prefix": "/a"}}), delegate("deeper", [{"name": "leaf"}], "/a")]),
             table("leaf", http=[fwd("long", {"uri": {"prefix": "/bcd"}}), fwd("ex", {"uri": {"exact": "/x"}})]))
    assert names(v) == ["ex", "long", "short"]


def test_duplicate_route_names_are_renamed() -> None:
    assert v2_route_names([type("R", (), {"name": n})() for n in ("a", "a", "b", "a", "insecure-b", "")]) == \
        ["a", "duplicate-a-1", "b", "duplicate-a-2", "duplicate-b-1", ""]


def test_delegation_cycle_is_reported_and_skipped() -> None:
    v = view(gateway(), table("root", hosts=["a.io"], http=[delegate("d", [{"name": "x"}])]),
             table("x", http=[delegate("to-y", [{"name": "y"}], "/"), fwd("ok", {"uri": {"prefix": "/ok"}})]),
             table("y", http=[delegate("to-x", [{"name": "x"}], "/")]))
    assert "delegation-cycle" in codes(v)
    assert names(v) == ["ok"]


def test_matcher_conflict_replaces_the_delegating_route_with_a_direct_response() -> None:
    v = view(gateway(),
             table("root", hosts=["a.io"], http=[delegate("d", [{"name": "kid"}], "/api", method="GET"),
                                                 fwd("after", {"uri": {"prefix": "/"}})]),
             table("kid", http=[fwd("post", {"uri": {"prefix": "/x"}, "method": "POST"})]))
    routes = v.gateways[0].virtual_hosts[0].routes
    assert [r.name for r in routes] == ["d", "after"]
    assert action_dict(routes[0])["type"] == "directResponse" and action_dict(routes[0])["status"] == 500
    assert routes[0].matchers[0].path == "/api"
    assert {"matcher-conflict", "delegate-replaced"} <= set(codes(v))


def test_delegating_to_a_root_table_is_refused() -> None:
    v = view(gateway(), table("root", hosts=["a.io"], http=[delegate("d", [{"labels": {"k": "v"}}])]),
             table("other", hosts=["b.io"], labels={"k": "v"}, http=[fwd("r")]))
    [note] = [f for f in v.diagnostics if f.code == "delegate-to-root"]
    assert note.severity.value == "info"
    v = view(gateway(), table("root", hosts=["a.io"], http=[delegate("d", [{"name": "other"}])]),
             table("other", hosts=["b.io"], http=[fwd("r")]))
    [error] = [f for f in v.diagnostics if f.code == "delegate-to-root"]
    assert error.severity.value == "error" and error.path == "spec.http[0].delegate.routeTables[0]"


# -- failureMode, weights, destinations ------------------------------------------------------------

def test_route_replacement_answers_500_for_a_broken_route() -> None:
    v = view(gateway(), table("root", hosts=["a.io"], http=[
        {"name": "bad", "matchers": [{"uri": {"prefix": "/x"}}], "forwardTo": {"destinations": [
            {"ref": {"name": "a"}, "weight": 80}, {"ref": {"name": "b"}, "weight": 30}]}},
        fwd("bad-regex", {"uri": {"regex": "(unclosed"}}), fwd("good", {"uri": {"prefix": "/"}})]))
    routes = v.gateways[0].virtual_hosts[0].routes
    assert [r.name for r in routes] == ["bad", "good"]  # a regex Envoy would reject cannot carry the 500
    assert action_dict(routes[0])["status"] == 500 and "weights total 110" in action_dict(routes[0])["body"]


def test_freeze_config_is_reported_and_serves_only_valid_routes() -> None:
    v = view(gateway(), table("root", hosts=["a.io"], failureMode="FREEZE_CONFIG", http=[
        fwd("bad", {"uri": {"regex": "(unclosed"}}), fwd("good", {"uri": {"prefix": "/"}})]))
    assert names(v) == ["good"]  # offline: no earlier good tree
    [frozen] = [f for f in v.diagnostics if f.code == "freeze-config"]
    assert frozen.path == "spec.failureMode"


def test_weights_remainder_rule() -> None:
    assert remainder_weights([90, 0]) == [90, 10]
    assert remainder_weights([0, 0, 0]) == [34, 33, 33]
    assert remainder_weights([50, 50]) == [50, 50]
    assert remainder_weights([100, 0]) == [100, 1]  # invalid (flagged separately): each still gets 1
    assert remainder_weights([7]) is None


def test_weights_in_the_view_and_over_100_is_a_broken_route() -> None:
    two = {"destinations": [{"ref": {"name": "a"}, "weight": 90}, {"ref": {"name": "b"}}]}
    over = {"destinations": [{"ref": {"name": "a"}, "weight": 90}, {"ref": {"name": "b"}, "weight": 20}]}
    v = view(gateway(), table("root", hosts=["a.io"], http=[
        {"name": "split", "matchers": [{"uri": {"prefix": "/s"}}], "forwardTo": two},
        {"name": "over", "matchers": [{"uri": {"prefix": "/o"}}], "forwardTo": over}]))
    routes = v.gateways[0].virtual_hosts[0].routes
    assert [d["weight"] for d in action_dict(routes[0])["destinations"]] == [90, 10]
    assert action_dict(routes[1])["status"] == 500
    assert "bad-weights" in codes(v)


def test_default_destination_is_used_by_forward_to_without_destinations() -> None:
    v = view(gateway(), table("root", hosts=["a.io"], defaultDestination={"ref": {"name": "fallback"}},
                              http=[{"name": "r", "forwardTo": {}}]))
    [d] = action_dict(v.gateways[0].virtual_hosts[0].routes[0])["destinations"]
    assert d["name"] == "fallback" and d["namespace"] == "ops"


def test_missing_destinations_are_reported_when_discovery_is_loaded() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "here", "namespace": "ops"},
           "spec": {"ports": [{"port": 80}]}}
    vd = {"ref": {"name": "vd"}, "kind": "VIRTUAL_DESTINATION"}
    v = view(gateway(), svc, table("root", hosts=["a.io"], http=[
        fwd("ok", {"uri": {"prefix": "/a"}}, svc="here"), fwd("gone", {"uri": {"prefix": "/b"}}, svc="gone"),
        {"name": "vd", "forwardTo": {"destinations": [vd]}}]))
    missing = [f for f in v.diagnostics if f.code == "missing-destination"]
    assert sorted(f.path for f in missing) == ["spec.http[1].forwardTo.destinations[0]",
                                               "spec.http[2].forwardTo.destinations[0]"]


def test_shadowed_v2_route_has_a_witness() -> None:
    v = view(gateway(), table("root", hosts=["a.io"], http=[fwd("all", {"uri": {"prefix": "/"}}),
                                                             fwd("never", {"uri": {"prefix": "/x"}})]))
    [f] = [f for f in v.diagnostics if f.code == "shadowed-route"]
    assert f.witness and "never" in f.routes[0] and f.path and f.path.startswith("spec.http[1]")


def test_v1beta1_and_v2_mix_in_one_snapshot() -> None:
    v1 = [{"apiVersion": "networking.enterprise.mesh.gloo.solo.io/v1beta1", "kind": "VirtualGateway",
           "metadata": {"name": "old", "namespace": "ops"},
           "spec": {"connectionHandlers": [{"http": {"routeConfig": [{"virtualHost": {
               "domains": ["old.io"], "routes": [{"name": "r", "directResponseAction": {"status": 200}}]}}]}}]}}]
    v = view(gateway(), table("root", hosts=["new.io"], http=[fwd("r")]), *v1)
    assert sorted(g.name for g in v.gateways) == ["ops/gw", "ops/old"]


def test_freeze_config_keeps_the_last_good_tree_across_snapshots_of_a_session() -> None:
    from meshctl.routing.v2_engine import FreezeMemory
    from meshctl.routing.view import build_routing_view

    from .helpers import snap

    def config(second: dict) -> tuple:
        return (gateway(), table("root", hosts=["a.io"], failureMode="FREEZE_CONFIG",
                                 http=[fwd("first", {"uri": {"prefix": "/a"}}), second]))

    memory = FreezeMemory()
    good = build_routing_view(snap(*config(fwd("second", {"uri": {"prefix": "/b"}}))), memory)
    assert names(good) == ["first", "second"]
    broken = build_routing_view(snap(*config(fwd("second", {"uri": {"regex": "(bad"}}))), memory)
    assert names(broken) == ["first", "second"]  # the earlier tree, whole
    assert broken.gateways[0].virtual_hosts[0].routes[1].matchers[0].path == "/b"
    [note] = [f for f in broken.diagnostics if f.code == "freeze-config"]
    assert "last good routes" in note.message
    kept, recalled = good.gateways[0].virtual_hosts[0].routes[1], broken.gateways[0].virtual_hosts[0].routes[1]
    assert kept is not recalled and kept.problems is not recalled.problems  # the earlier view keeps its own routes
    fixed = build_routing_view(snap(*config(fwd("third", {"uri": {"prefix": "/c"}}))), memory)
    assert names(fixed) == ["first", "third"]


def test_https_redirect_listener_answers_301_to_https() -> None:
    from meshctl.routing.evaluate import Request
    from meshctl.sandbox import Sandbox

    from .helpers import snap

    s = snap(gateway(listeners=[{"http": {}, "port": {"number": 80}, "httpsRedirect": True}]),
             table("root", hosts=["a.io"], http=[fwd("r")]))
    result = Sandbox(s).evaluate(Request(authority="a.io", path="/x?y=1"))
    assert result.status == 301 and result.location == "https://a.io/x?y=1"


def test_conflicting_listeners_older_gateway_wins() -> None:
    old = gateway("old", listeners=[_listener(80)])
    old["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z"
    new = gateway("new", listeners=[_listener(80), _listener(81)])
    new["metadata"]["creationTimestamp"] = "2024-02-01T00:00:00Z"
    v = view(new, old, table("root", hosts=["a.io"], http=[fwd("r")],
                             gateways=[{"name": "old"}, {"name": "new"}]))
    assert sorted((g.name, g.default_port) for g in v.gateways) == [("ops/new/81", 81), ("ops/old", 80)]
    [f] = [f for f in v.diagnostics if f.code == "listener-conflict"]
    assert f.resource == "VirtualGateway ops/new" and f.path == "spec.listeners[0]"
