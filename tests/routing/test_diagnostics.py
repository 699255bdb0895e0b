"""Engine diagnostics: each code located (resource, field path, file:line) with the routes involved; lint merges."""

from __future__ import annotations

from meshctl.model.findings import Severity
from meshctl.routing.lint import lint
from meshctl.routing.view import build_routing_view

from .helpers import build, codes, delegate, findings, gateway, leaf, load, matcher, table, vh_view, vhost

M = matcher


def test_duplicate_domain_in_one_gateway() -> None:
    view = build(gateway(), vhost([leaf("a", M(prefix="/"))], name="a", domains=["shop.com", "x.com"]),
                 vhost([leaf("b", M(prefix="/"))], name="b", domains=["Shop.com"]))
    (f,) = findings(view, "duplicate-domain")
    assert f.severity is Severity.ERROR and f.resource == "VirtualHost ns/b" and f.path == "spec.domains[0]"
    assert "ns/a" in f.message and "ns/gw" in f.message


def test_same_domain_in_two_gateways_is_fine() -> None:
    view = build(gateway("g1", route_config=[{"virtualHostSelector": {"labels": {"g": "1"}}}]),
                 gateway("g2", route_config=[{"virtualHostSelector": {"labels": {"g": "2"}}}]),
                 vhost([leaf("a")], name="a", domains=["shop.com"], labels={"g": "1"}),
                 vhost([leaf("b")], name="b", domains=["shop.com"], labels={"g": "2"}))
    assert "duplicate-domain" not in codes(view)


def test_duplicate_route_name_in_one_table() -> None:
    view = build(gateway(), vhost([delegate("d", M(prefix="/"), refs=["t"]), leaf("other", M(prefix="/o"))]),
                 table("t", [leaf("same", M(prefix="/1")), leaf("same", M(prefix="/2")), leaf("unique", M(prefix="/3"))]))
    (f,) = findings(view, "duplicate-route-name")
    assert (f.severity, f.resource, f.path) == (Severity.WARNING, "RouteTable ns/t", "spec.routes[1].name")


def test_same_name_in_different_tables_is_fine() -> None:
    view = build(gateway(), vhost([delegate("d", M(prefix="/"), refs=["t1", "t2"])]),
                 table("t1", [leaf("same", M(prefix="/1"))]), table("t2", [leaf("same", M(prefix="/2"))]))
    assert "duplicate-route-name" not in codes(view)


def test_empty_virtual_host() -> None:
    view = build(gateway(), vhost([]))
    (f,) = findings(view, "empty-virtual-host")
    assert f.severity is Severity.WARNING and f.resource == "VirtualHost ns/vh" and f.path == "spec.routes"
    assert vh_view(view).routes == []


def test_virtual_host_with_only_unreachable_delegation_is_not_empty_but_serves_nothing() -> None:
    view = build(gateway(), vhost([delegate("d", M(prefix="/"), refs=["missing"])]))
    assert "empty-virtual-host" not in codes(view) and "dangling-delegate-ref" in codes(view)
    assert vh_view(view).routes == []


KITCHEN_SINK = [
    gateway(),
    vhost([leaf("all", M(prefix="/")), leaf("hidden", M(prefix="/h")),
           delegate("d", M(prefix="/d"), refs=["loop", "missing"], selector={"labels": {"none": "x"}}),
           delegate("s", M(prefix="/s"), refs=["suffix"])],
          options={"invalidRoutePolicy": {"drop": {}}}),
    vhost([leaf("x")], name="lonely", domains=["lonely.com"], ns="elsewhere"),
    table("loop", [delegate("back", M(prefix="/b"), refs=["loop"]), leaf("dup"), leaf("dup")]),
    table("suffix", [leaf("css", M(suffix=".css"))]),
    table("orphan", [leaf("o")]),
]


def test_every_diagnostic_is_located_and_names_its_routes_when_it_has_any() -> None:
    view = build(*KITCHEN_SINK)
    expected = {"shadowed-route", "delegation-cycle", "dangling-delegate-ref", "selector-selects-nothing",
                "duplicate-route-name", "unsupported-combination", "unreached-route-table", "unselected-virtual-host"}
    assert expected <= codes(view)
    for f in view.diagnostics:
        assert f.code and f.message and f.resource, f
        assert isinstance(f.severity, Severity)
        assert f.file == "test.yaml" and f.line is not None and f.path, f
    for f in findings(view, "shadowed-route"):
        assert len(f.routes) == 2 and f.witness


def test_diagnostics_are_stable_across_runs() -> None:
    first = [f.to_dict() for f in build(*KITCHEN_SINK).diagnostics]
    second = [f.to_dict() for f in build(*KITCHEN_SINK).diagnostics]
    assert first == second


def test_lint_reports_each_problem_once_with_engine_details() -> None:
    snapshot = load(*KITCHEN_SINK)
    found = lint(snapshot, build_routing_view(snapshot))
    keys = [(f.code, f.file, f.line, f.column, f.message) for f in found]
    assert len(keys) == len(set(keys))
    dangling = [f for f in found if f.code == "dangling-delegate-ref"]
    assert len(dangling) == 1
    # sorted by file position, then severity
    positions = [(f.file or "", f.line or 0, f.column or 0) for f in found]
    assert positions == sorted(positions)
