"""Acceptance: the 004 advanced-routing steps flatten to the orders the guide (and each step's README) describes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from meshctl.model.findings import Severity
from meshctl.model.snapshot import load_snapshot
from meshctl.routing.evaluate import Request
from meshctl.routing.lint import lint
from meshctl.routing.types import RoutingView
from meshctl.routing.view import build_routing_view

from .helpers import first_taker, parse_witness

REPO_ROOT = Path(__file__).resolve().parents[2]
STEPS = REPO_ROOT / "docs" / "examples" / "004-advanced-routing"
GW, VH = "gloo-mesh/demo-gateway", "gloo-mesh/demo-virtualhost"


def view_of(step: str | Path) -> RoutingView:
    return build_routing_view(load_snapshot([STEPS / step if isinstance(step, str) else step]))


def served(view: RoutingView) -> list[tuple[str, str]]:
    g = view.gateway(GW)
    assert g is not None
    (v,) = [v for v in g.virtual_hosts if v.name == VH]
    return [(r.name, " | ".join(f"{m.path_kind} {m.path}" for m in r.matchers)) for r in v.routes]


EXPECTED_ORDER = {
    "01-basic": [("ratings", "prefix /ratings"), ("reviews", "prefix /reviews")],
    "02-subset-routes": [("ratings", "prefix /ratings"), ("reviews-v1", "prefix /reviews/v1"),
                         ("reviews-v2", "prefix /reviews/v2")],
    "03-route-table-ref": [("ratings", "prefix /ratings"), ("v1", "prefix /reviews/v1"), ("v2", "prefix /reviews/v2")],
    # refs in list order: the catch-all table is the second ref
    "04-second-table-ref": [("ratings", "prefix /ratings"), ("v1", "prefix /reviews/v1"),
                            ("v2", "prefix /reviews/v2"), ("not-found", "prefix /reviews/")],
    # selector: alphabetical (demo-routetable < reviews-misc-rt)
    "05-selector": [("ratings", "prefix /ratings"), ("v1", "prefix /reviews/v1"), ("v2", "prefix /reviews/v2"),
                    ("not-found", "prefix /reviews/")],
    # weight 10 table first, then the weight-0 table in written order
    "06-table-weight": [("ratings", "prefix /ratings"), ("v1", "prefix /reviews/v1"), ("v2", "prefix /reviews/v2"),
                        ("v1-version", "exact /reviews/v1/version"), ("v2-version", "exact /reviews/v2/version"),
                        ("not-found", "prefix /reviews/")],
    # exact before prefix, longer first, catch-all last; the VirtualHost's own route stays first
    "07-route-specificity": [("ratings", "prefix /ratings"), ("v1-version", "exact /reviews/v1/version"),
                             ("v2-version", "exact /reviews/v2/version"), ("v1", "prefix /reviews/v1"),
                             ("v2", "prefix /reviews/v2"), ("not-found", "prefix /reviews/")],
}


@pytest.mark.parametrize("step", sorted(EXPECTED_ORDER))
def test_step_flattens_to_the_guide_order(step: str) -> None:
    assert served(view_of(step)) == EXPECTED_ORDER[step]


# The five requests every step README tabulates: which route answers (None: no route, the gateway's own 404).
FIVE = ["/ratings/1", "/reviews/v1/1", "/reviews/v2/1", "/reviews/v1/version", "/reviews/v3"]
EXPECTED_TAKER = {
    "01-basic": ["ratings", "reviews", "reviews", "reviews", "reviews"],
    "02-subset-routes": ["ratings", "reviews-v1", "reviews-v2", "reviews-v1", None],
    "03-route-table-ref": ["ratings", "v1", "v2", "v1", None],
    "04-second-table-ref": ["ratings", "v1", "v2", "v1", "not-found"],
    "05-selector": ["ratings", "v1", "v2", "v1", "not-found"],
    "06-table-weight": ["ratings", "v1", "v2", "v1", "not-found"],
    "07-route-specificity": ["ratings", "v1", "v2", "v1-version", "not-found"],
}


@pytest.mark.parametrize("step", sorted(EXPECTED_TAKER))
def test_step_readme_requests_reach_the_documented_route(step: str) -> None:
    g = view_of(step).gateway(GW)
    assert g is not None
    routes = g.virtual_hosts[0].routes
    got = []
    for path in FIVE:
        i = first_taker(routes, Request("GET", "www.example.com", path))
        got.append(None if i is None else routes[i].name)
    assert got == EXPECTED_TAKER[step]


def test_positions_say_why_each_route_sits_where_it_does() -> None:
    g = view_of("06-table-weight").gateway(GW)
    assert g is not None
    routes = g.virtual_hosts[0].routes
    assert [g.virtual_hosts[0].index_of(r.id) for r in routes] == list(range(len(routes)))
    assert [r.position.reason for r in routes] == ["written order"] + ["table weight"] * 5
    assert "weight 10" in routes[1].position.detail and "weight 0" in routes[3].position.detail
    g7 = view_of("07-route-specificity").gateway(GW)
    assert g7 is not None
    assert {r.position.reason for r in g7.virtual_hosts[0].routes[1:]} == {"route specificity"}


def test_lint_table_weight_step_reports_the_version_routes_shadowed() -> None:
    snapshot = load_snapshot([STEPS / "06-table-weight"])
    view = build_routing_view(snapshot)
    shadowed = {f.witness: f for f in lint(snapshot, view) if f.code == "shadowed-route"}
    assert set(shadowed) == {"GET /reviews/v1/version", "GET /reviews/v2/version"}
    f = shadowed["GET /reviews/v1/version"]
    assert f.severity is Severity.WARNING
    assert f.resource == "RouteTable gloo-mesh/reviews-misc-rt" and f.path == "spec.routes[0]"
    later, earlier = f.routes
    assert later.endswith("RouteTable/gloo-mesh/reviews-misc-rt#v1-version")
    assert earlier.endswith("RouteTable/gloo-mesh/demo-routetable#v1")
    routes = view.gateways[0].virtual_hosts[0].routes
    taker = first_taker(routes, parse_witness(f.witness or "", "www.example.com"))
    assert taker is not None and routes[taker].id == earlier


def test_lint_route_specificity_step_reports_no_shadowing() -> None:
    snapshot = load_snapshot([STEPS / "07-route-specificity"])
    found = lint(snapshot, build_routing_view(snapshot))
    assert not [f for f in found if f.code in ("shadowed-route", "partially-shadowed")]
    assert not [f for f in found if f.severity is Severity.ERROR]


# --- variations of the steps: the orders follow the rules, not the file order or luck ---------------------

def _rewrite(step: str, tmp_path: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path / step
    out.mkdir(parents=True)
    for f in (STEPS / step).glob("*.yaml"):
        docs = [d for d in yaml.safe_load_all(f.read_text()) if d]
        docs = edit(f.name, docs)
        (out / f.name).write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return out


def test_swapping_the_refs_lets_the_catch_all_shadow_the_subset_routes(tmp_path: Path) -> None:
    def swap(name: str, docs: list) -> list:  # type: ignore[type-arg]
        for d in docs:
            if d["kind"] == "VirtualHost":
                refs = d["spec"]["routes"][1]["delegateAction"]["refs"]
                refs.reverse()
        return docs

    view = view_of(_rewrite("04-second-table-ref", tmp_path, swap))
    assert [n for n, _ in served(view)] == ["ratings", "not-found", "v1", "v2"]
    witnesses = sorted(f.witness or "" for f in view.diagnostics if f.code == "shadowed-route")
    assert witnesses == ["GET /reviews/v1", "GET /reviews/v2"]


def test_selector_order_is_by_name_not_by_file_order(tmp_path: Path) -> None:
    """Rename demo-routetable to zz-routetable: the selector now puts the catch-all table first."""

    def rename(name: str, docs: list) -> list:  # type: ignore[type-arg]
        for d in docs:
            if d["kind"] == "RouteTable" and d["metadata"]["name"] == "demo-routetable":
                d["metadata"]["name"] = "zz-routetable"
        return list(reversed(docs))

    view = view_of(_rewrite("05-selector", tmp_path, rename))
    assert [n for n, _ in served(view)] == ["ratings", "not-found", "v1", "v2"]
    # step 06's weight pins the order whatever the names are
    view6 = view_of(_rewrite("06-table-weight", tmp_path, rename))
    assert [n for n, _ in served(view6)] == ["ratings", "v1", "v2", "v1-version", "v2-version", "not-found"]
