"""Property tests on random route trees: determinism, agreement with a plain reference, sorted specificity blocks,
shadow verdicts that hold for every request we can think of, and an engine that never raises."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl.routing.evaluate import Request, first_failure
from meshctl.routing.lint import lint
from meshctl.routing.render import render_table, render_tree, view_dict
from meshctl.routing.shadow import witness_for
from meshctl.routing.types import FlattenedRoute, RoutingView, VirtualHostView

from . import reference
from .helpers import assert_finding_proven, build, first_taker, load
from .strategies import route_trees

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RANK = {"exact": 0, "regex": 1, "suffix": 1, "prefix": 2}


def the_vh(view: RoutingView) -> VirtualHostView:
    (g,) = view.gateways
    (v,) = g.virtual_hosts
    return v


def key(r: FlattenedRoute) -> tuple[int, int]:
    """ROUTE_SPECIFICITY key restated: the most specific matcher; exact < regex < prefix; longer path first."""
    if not r.matchers:
        return (9, 0)
    return min((RANK[m.path_kind], 0 if m.path_kind in ("regex", "suffix") else -len(m.path)) for m in r.matchers)


def summary(view: RoutingView) -> tuple[Any, ...]:
    v = the_vh(view)
    diags = sorted((f.code, f.severity.value, f.resource or "", f.path or "", f.message, f.routes, f.witness or "")
                   for f in view.diagnostics)
    return ([r.id for r in v.all_routes], [r.id for r in v.routes],
            [[m.describe() for m in r.matchers] for r in v.all_routes],
            [(v.index_of(r.id), r.position.reason) for r in v.routes], diags)


@SETTINGS
@given(route_trees())
def test_engine_never_raises_and_every_output_renders(docs: list[dict[str, Any]]) -> None:
    snapshot = load(*docs)
    from meshctl.routing.view import build_routing_view

    view = build_routing_view(snapshot)
    render_tree(view)
    render_table(view)
    json.dumps(view_dict(view))
    for f in lint(snapshot, view):
        f.render()


@SETTINGS
@given(route_trees())
def test_engine_agrees_with_the_reference(docs: list[dict[str, Any]]) -> None:
    v = the_vh(build(*docs))
    ref = reference.Reference(docs)
    expected = ref.flatten()
    assert [r.id for r in v.all_routes] == [r.id for r in expected]
    assert [r.valid for r in v.all_routes] == [r.valid for r in expected]
    for got, want in zip(v.all_routes, expected, strict=True):
        if want.valid:
            assert [reference.engine_matcher(m) for m in got.matchers] == want.matchers, got.id
    policy = (docs[1]["spec"].get("options") or {}).get("invalidRoutePolicy")
    assert [r.id for r in v.routes] == [r.id for r in reference.served(expected, policy)]
    assert v.invalid == (policy is None and not all(r.valid for r in expected))


@SETTINGS
@given(route_trees(), st.randoms(use_true_random=False))
def test_flattening_is_deterministic_and_independent_of_resource_order(docs: list[dict[str, Any]],
                                                                       rnd: random.Random) -> None:
    first = summary(build(*docs))
    assert summary(build(*docs)) == first
    shuffled = list(docs)
    rnd.shuffle(shuffled)
    assert summary(build(*shuffled)) == first


@SETTINGS
@given(route_trees())
def test_ids_unique_and_positions_are_indexes(docs: list[dict[str, Any]]) -> None:
    v = the_vh(build(*docs))
    ids = [r.id for r in v.all_routes]
    assert len(ids) == len(set(ids))
    assert [v.index_of(r.id) for r in v.routes] == list(range(len(v.routes)))
    served = set(map(id, v.routes))
    assert all(v.index_of(r.id) is None for r in v.all_routes if id(r) not in served)
    tree_ids: list[str] = []

    def walk(nodes: list[Any]) -> None:
        for n in nodes:
            if n.tables:
                for t in n.tables:
                    walk(t.routes)
            elif not n.is_delegate or n.problems:
                tree_ids.extend(n.flat_ids)

    walk(v.tree)
    assert sorted(tree_ids) == sorted(ids)


@SETTINGS
@given(route_trees())
def test_route_specificity_blocks_are_sorted_by_their_key(docs: list[dict[str, Any]]) -> None:
    v = the_vh(build(*docs))
    blocks: dict[int, list[FlattenedRoute]] = {}
    for r in v.all_routes:
        if r.position.reason == "route specificity":
            blocks.setdefault(r.chain[0].route_index, []).append(r)
    for block in blocks.values():
        keys = [key(r) for r in block]
        assert keys == sorted(keys)
    # ties keep the TABLE_WEIGHT order: the same tree with those delegates set to TABLE_WEIGHT, stable-sorted,
    # gives exactly the ROUTE_SPECIFICITY block
    flipped = copy.deepcopy(docs)
    specificity_routes = [i for i, r in enumerate(flipped[1]["spec"]["routes"])
                          if (r.get("delegateAction") or {}).get("sortMethod") == "ROUTE_SPECIFICITY"]
    for i in specificity_routes:
        flipped[1]["spec"]["routes"][i]["delegateAction"]["sortMethod"] = "TABLE_WEIGHT"
    w = the_vh(build(*flipped))
    for i in specificity_routes:
        by_weight = [r for r in w.all_routes if r.chain[0].route_index == i]
        by_specificity = [r for r in v.all_routes if r.chain[0].route_index == i]
        assert [r.id for r in by_specificity] == [r.id for r in sorted(by_weight, key=key)]


def _variants(req: Request) -> list[Request]:
    """Requests near one a route wants: longer paths, another case, a query, another method, more headers."""
    base, _, query = req.path.partition("?")
    q = f"?{query}" if query else ""
    out = [req]
    for path in (base + "/z" + q, base + "x" + q, base.upper() + q, base + q + ("&" if q else "?") + "q=1",
                 base + "?q=2", base + ".css" + q):
        out.append(Request(req.method, req.authority, path, dict(req.headers)))
    for method in ("GET", "POST", "DELETE"):
        out.append(Request(method, req.authority, req.path, dict(req.headers)))
    for extra in ({"x-a": "1"}, {"x-a": "2"}, {"x-b": "2"}, {"x-b": "1", "x-a": "1"}):
        out.append(Request(req.method, req.authority, req.path, {**req.headers, **extra}))
    out.append(Request(req.method, req.authority, req.path, {}))
    return out


FIXED_PATHS = ["/", "/a", "/a/", "/a/b", "/a/b/c", "/a/1", "/ab", "/b", "/b/1", "/bx", "/A/b", "/x.css", "/a/x",
               "/a/b?q=1", "/a?q=2", "/b/1?q=x", "/a/a/x", "/b/a/x", "/ab/a/b"]


@SETTINGS
@given(route_trees())
def test_shadow_verdicts_hold_for_every_probe_request(docs: list[dict[str, Any]]) -> None:
    view = build(*docs)
    v = the_vh(view)
    routes = v.routes
    probes: list[Request] = []
    for r in routes:
        for m in r.matchers:
            w = witness_for(m, "vh.example.com")
            if w is not None:
                probes.extend(_variants(w))
    for path in FIXED_PATHS:
        probes.extend(_variants(Request("GET", "vh.example.com", path)))
    served_by = {first_taker(routes, p) for p in probes}
    index = {r.id: i for i, r in enumerate(routes)}
    for f in view.diagnostics:
        if f.code not in ("shadowed-route", "partially-shadowed"):
            continue
        assert_finding_proven(view, f)
        if f.code == "shadowed-route":
            later = index[f.routes[0]]
            # "never used": no probe the route wants ever reaches it
            assert later not in served_by, (f.message, [p.describe() for p in probes
                                                         if first_taker(routes, p) == later][:3])
            wanted = [p for p in probes if any(first_failure(m, p) is None for m in routes[later].matchers)]
            assert all(first_taker(routes, p) < later for p in wanted)  # type: ignore[operator]
