"""The incremental routing view equals a fresh build after every edit of a random edit sequence (v1beta1 and v2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl.model.snapshot import Snapshot
from meshctl.model.validate import ValidationMemo, validate
from meshctl.routing.incremental import IncrementalRouting
from meshctl.routing.view import build_routing_view
from meshctl.sources.files import FileSource

from .helpers import write_changed

V1 = "networking.enterprise.mesh.gloo.solo.io/v1beta1"
V2 = "networking.gloo.solo.io/v2"
TABLES = 5

GATEWAY = f"""apiVersion: {V1}
kind: VirtualGateway
metadata: {{name: gw, namespace: gloo-mesh}}
spec:
  ingressGatewaySelectors:
  - portName: http2
    destinationSelectors:
    - kubeServiceMatcher: {{labels: {{istio: ingressgateway}}, namespaces: [istio-system]}}
  connectionHandlers:
  - http:
      routeConfig:
      - virtualHostSelector: {{namespaces: [gloo-mesh]}}
"""

V2_GATEWAY = f"""apiVersion: {V2}
kind: VirtualGateway
metadata: {{name: gw2, namespace: gloo-mesh}}
spec:
  workloads:
  - selector: {{labels: {{istio: ingressgateway}}, namespace: istio-system}}
  listeners:
  - http: {{}}
    port: {{number: 8080}}
    allowedRouteTables:
    - host: gloo-mesh/*
"""


POLICIES = {"": "", "drop": "\n  options: {invalidRoutePolicy: {drop: {}}}",
            "direct": "\n  options: {invalidRoutePolicy: {directResponse: {code: 503, body: invalid}}}"}


def initial() -> dict[str, Any]:
    return {
        "vh_prefix": "/", "vh_sort": "TABLE_WEIGHT", "vh_refs": ["t0", "t9"],
        "tables": {i: {"label": "a" if i % 2 else "b", "weight": i, "prefixes": [f"/p{i}", f"/p{i}/x"],
                       "bodies": ["one", "two"], "names": ["r1", "r2"], "nested": i == 1} for i in range(TABLES)},
        "v2_body": "v2", "v2_weight": 1, "v2_prefix": "/v2", "vh_policy": "",
    }


def render_vh(state: dict[str, Any]) -> str:
    refs = "".join(f"\n        - {{name: {r}}}" for r in state["vh_refs"])
    return f"""apiVersion: {V1}
kind: VirtualHost
metadata: {{name: vh, namespace: gloo-mesh}}
spec:
  domains: [www.example.com]{POLICIES[state['vh_policy']]}
  routes:
  - name: direct
    matchers: [{{uri: {{exact: /direct}}}}]
    directResponseAction: {{status: 200, body: direct}}
  - name: by-label
    matchers: [{{uri: {{prefix: "{state['vh_prefix']}"}}}}]
    delegateAction:
      selector: {{labels: {{team: a}}, namespaces: [gloo-mesh]}}
      sortMethod: {state['vh_sort']}
  - name: by-ref
    matchers: [{{uri: {{prefix: /refs}}}}]
    delegateAction:
      refs:{refs or ' []'}
"""


def render_table(i: int, t: dict[str, Any]) -> str:
    routes = ""
    for prefix, body, name in zip(t["prefixes"], t["bodies"], t["names"], strict=True):
        named = f"name: {name}\n    " if name else ""
        routes += f"""  - {named}matchers: [{{uri: {{prefix: "{prefix}"}}}}]
    directResponseAction: {{status: {999 if body == "bad" else 200}, body: "{body}"}}
"""
    if t["nested"]:
        routes += """  - name: nested
    matchers: [{uri: {prefix: /nested}}]
    delegateAction: {selector: {labels: {team: b}}}
"""
    return f"""apiVersion: {V1}
kind: RouteTable
metadata: {{name: t{i}, namespace: gloo-mesh, labels: {{team: {t['label']}}}}}
spec:
  weight: {t['weight']}
  routes:
{routes}"""


def render_v2(state: dict[str, Any]) -> str:
    return f"""apiVersion: {V2}
kind: RouteTable
metadata: {{name: root2, namespace: gloo-mesh}}
spec:
  hosts: [v2.example.com]
  virtualGateways: [{{name: gw2, namespace: gloo-mesh}}]
  http:
  - name: child
    matchers: [{{uri: {{prefix: /c}}}}]
    delegate:
      routeTables: [{{labels: {{tier: child}}}}]
---
apiVersion: {V2}
kind: RouteTable
metadata: {{name: child2, namespace: gloo-mesh, labels: {{tier: child}}}}
spec:
  weight: {state['v2_weight']}
  http:
  - name: leaf
    matchers: [{{uri: {{prefix: "/c{state['v2_prefix']}"}}}}]
    directResponse: {{status: 200, body: "{state['v2_body']}"}}
"""


def write(directory: Path, state: dict[str, Any]) -> None:
    files = {"gateway.yaml": GATEWAY, "vh.yaml": render_vh(state), "v2-gateway.yaml": V2_GATEWAY,
             "v2-tables.yaml": render_v2(state)}
    files.update({f"table-{i}.yaml": render_table(i, t) for i, t in state["tables"].items()})
    write_changed(directory, files, "table-*.yaml")


IDX = st.integers(0, TABLES - 1)
ROUTE = st.integers(0, 1)
EDITS = st.one_of(
    st.tuples(st.just("body"), IDX, ROUTE, st.sampled_from(["a", "b", "c", "bad"])),  # bad: status 999, invalid
    st.tuples(st.just("prefix"), IDX, ROUTE, st.sampled_from(["/p0", "/p1", "/p1/x", "/q", "/"])),
    st.tuples(st.just("name"), IDX, ROUTE, st.sampled_from(["r1", "r2", "", "7"])),
    st.tuples(st.just("weight"), IDX, st.integers(-1, 5)),
    st.tuples(st.just("label"), IDX, st.sampled_from(["a", "b", "c"])),
    st.tuples(st.just("nested"), IDX, st.booleans()),
    st.tuples(st.just("remove"), IDX),
    st.tuples(st.just("add"), IDX),
    st.tuples(st.just("vh_prefix"), st.sampled_from(["/", "/p", "/p1", "/x"])),
    st.tuples(st.just("vh_sort"), st.sampled_from(["TABLE_WEIGHT", "ROUTE_SPECIFICITY"])),
    st.tuples(st.just("vh_policy"), st.sampled_from(["", "drop", "direct"])),
    st.tuples(st.just("vh_refs"), st.lists(st.sampled_from(["t0", "t1", "t3", "t9"]), max_size=3)),
    st.tuples(st.just("v2_body"), st.sampled_from(["x", "y"])),
    st.tuples(st.just("v2_weight"), st.integers(0, 3)),
    st.tuples(st.just("v2_prefix"), st.sampled_from(["/a", "/b"])),
)


def apply(state: dict[str, Any], edit: tuple[Any, ...]) -> None:
    kind, tables = edit[0], state["tables"]
    if kind in ("body", "prefix", "name") and edit[1] in tables:
        tables[edit[1]][{"body": "bodies", "prefix": "prefixes", "name": "names"}[kind]][edit[2]] = edit[3]
    elif kind in ("weight", "label", "nested") and edit[1] in tables:
        tables[edit[1]][kind] = edit[2]
    elif kind == "remove":
        tables.pop(edit[1], None)
    elif kind == "add" and edit[1] not in tables:
        tables[edit[1]] = initial()["tables"][edit[1]]
    elif kind.startswith("vh_") or kind.startswith("v2_"):
        state[kind] = edit[1]


def snapshot_of(source: FileSource) -> Snapshot:
    source.load()
    return Snapshot(*source.snapshot_parts())


def edited_snapshots(directory: Path, edits: list[tuple[Any, ...]]) -> Iterator[Snapshot]:
    """The snapshot as written, then after each edit, read by one file source (unchanged files: same objects)."""
    state = initial()
    source = FileSource([directory])
    for edit in [("touch",), *edits]:
        apply(state, edit)
        write(directory, state)
        yield snapshot_of(source)


class Config:
    """The configuration as `initial()` (with `changes`) written to `directory` and read by one file source."""

    def __init__(self, directory: Path, **changes: Any) -> None:
        self.directory, self.state = directory, {**initial(), **changes}
        write(directory, self.state)
        self.source = FileSource([directory])

    def snapshot(self) -> Snapshot:
        return snapshot_of(self.source)

    def edit(self, edit: tuple[Any, ...]) -> Snapshot:
        """`edit` applied and written; the snapshot as the source now reads it."""
        apply(self.state, edit)
        write(self.directory, self.state)
        return self.snapshot()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(EDITS, min_size=1, max_size=10))
def test_incremental_view_equals_a_fresh_build_after_every_edit(tmp_path_factory: Any,
                                                                 edits: list[tuple[Any, ...]]) -> None:
    incremental, validation = IncrementalRouting(), ValidationMemo()
    previous: tuple[Any, Any] | None = None
    for snapshot in edited_snapshots(tmp_path_factory.mktemp("config"), edits):
        assert validate(snapshot, validation) == validate(snapshot)  # re-checks only re-read resources
        got, want = incremental.build(snapshot), build_routing_view(snapshot)
        if previous is not None:  # route objects are shared with earlier views: building this one changed none
            assert previous[0] == previous[1]
            assert [[[r.position for r in v.routes] for v in g.virtual_hosts] for g in previous[0].gateways] == \
                [[[r.position for r in v.routes] for v in g.virtual_hosts] for g in previous[1].gateways]
        previous = (got, want)
        assert [g.name for g in got.gateways] == [g.name for g in want.gateways]
        for g_got, g_want in zip(got.gateways, want.gateways, strict=True):
            for v_got, v_want in zip(g_got.virtual_hosts, g_want.virtual_hosts, strict=True):
                assert [(r.id, r.position) for r in v_got.routes] == [(r.id, r.position) for r in v_want.routes]
                assert v_got.all_routes == v_want.all_routes
                assert v_got.tree == v_want.tree
        assert got.diagnostics == want.diagnostics
        assert got == want


def test_an_edit_to_one_table_re_expands_only_that_table(tmp_path: Path) -> None:
    config = Config(tmp_path)
    incremental = IncrementalRouting()
    incremental.build(config.snapshot())
    assert incremental.last_stats["tables_reused"] == 0
    snapshot = config.edit(("body", 3, 0, "changed"))
    view = incremental.build(snapshot)
    assert view == build_routing_view(snapshot)
    stats = incremental.last_stats
    assert stats["tables_expanded"] == 1  # t3, under the label selector
    assert stats["tables_reused"] == 1  # t1 with its nested subtree (t0, t2, t4) in one piece
    assert stats["top_routes_reused"] == 2  # the direct route, and the by-ref route with t0 below it, whole
    assert stats["shadow_routes_analysed"] == 0  # a body edit leaves every route's matchers as they were
    assert stats["routes_copied"] == 0  # the reused tables' routes kept their places: the objects are shared
    body = [r for _, _, r in view.all_routes() if r.id.endswith("t3#r1")]
    assert body and body[0].route.direct_response_action.body == "changed"


def test_a_label_edit_re_selects_and_nothing_else_changes(tmp_path: Path) -> None:
    config = Config(tmp_path)
    incremental = IncrementalRouting()
    before = incremental.build(config.snapshot())
    snapshot = config.edit(("label", 4, "a"))  # t4 joins the tables the label selector picks
    after = incremental.build(snapshot)
    assert after == build_routing_view(snapshot)

    def directly_selected(view: Any) -> set[str]:
        return {r.chain[1].resource.name for _, _, r in view.all_routes() if len(r.chain) == 2}

    assert "t4" not in directly_selected(before)  # it was reached only through t1's nested selector
    assert "t4" in directly_selected(after)


def test_a_delegating_route_matcher_edit_re_expands_only_its_tables(tmp_path: Path) -> None:
    config = Config(tmp_path)
    incremental = IncrementalRouting()
    incremental.build(config.snapshot())
    # the VirtualHost file is re-read: every resource of it is a new object
    snapshot = config.edit(("vh_prefix", "/p1"))
    view = incremental.build(snapshot)
    assert view == build_routing_view(snapshot)
    stats = incremental.last_stats
    assert stats["tables_expanded"] == 5  # under the edited matcher: t1, its nested t0, t2, t4, and t3
    assert stats["tables_reused"] == 1  # t0 under by-ref: same context, only the chain above was re-linked
    by_ref = [r for _, _, r in view.all_routes() if r.chain[0].route_name == "by-ref"]
    vh = snapshot.get("VirtualHost", "gloo-mesh", "vh")
    assert by_ref and all(r.chain[0].resource is vh for r in by_ref)


def test_a_route_turning_invalid_moves_the_shared_routes_after_it_without_copying_them(tmp_path: Path) -> None:
    # t3 comes first under the label selector; its first route turns invalid and the drop policy removes it, so
    # every route after it (t1's subtree and t0 by ref, reused from the previous build) moves up one place: the
    # same objects, as a route's place is its view's, not the route's
    config = Config(tmp_path, vh_policy="drop")
    incremental = IncrementalRouting()
    before = incremental.build(config.snapshot())
    snapshot = config.edit(("body", 3, 0, "bad"))
    after = incremental.build(snapshot)
    want = build_routing_view(snapshot)
    assert incremental.last_stats["tables_reused"] + incremental.last_stats["top_routes_reused"] >= 2
    got_host, want_host = after.gateways[0].virtual_hosts[0], want.gateways[0].virtual_hosts[0]
    assert len(got_host.routes) == len(before.gateways[0].virtual_hosts[0].routes) - 1
    assert [(r.id, r.position) for r in got_host.all_routes] == [(r.id, r.position) for r in want_host.all_routes]
    assert all(any(r is s for s in got_host.all_routes) for r in got_host.routes)  # one set of objects
    assert after == want
    earlier = {id(r) for r in before.gateways[0].virtual_hosts[0].routes}
    untouched = [r for r in got_host.routes if r.chain[-1].resource.name != "t3"]
    assert len(untouched) > 5 and all(id(r) in earlier for r in untouched)
    assert incremental.last_stats["routes_copied"] == 0
    assert [got_host.index_of(r.id) for r in untouched] == [got_host.routes.index(r) for r in untouched]


def test_validation_re_checks_a_resource_when_a_table_it_names_goes_away(tmp_path: Path) -> None:
    config = Config(tmp_path)
    memo = ValidationMemo()
    validate(config.snapshot(), memo)
    snapshot = config.edit(("remove", 0))  # the VirtualHost names t0 by ref: it now dangles
    findings = validate(snapshot, memo)
    assert findings == validate(snapshot)
    assert any(f.code == "dangling-delegate-ref" and "t0" in f.message for f in findings)
    assert memo.stats["checked"] == 1  # the VirtualHost, whose lookup of t0 answers differently; no table


def test_routes_re_linked_to_a_re_read_virtual_host_are_shared_by_the_next_build(tmp_path: Path) -> None:
    config = Config(tmp_path)
    incremental = IncrementalRouting()
    incremental.build(config.snapshot())
    # the VirtualHost is re-read; its by-label route hands down the same
    middle = incremental.build(config.edit(("vh_refs", ["t0"])))
    snapshot = config.edit(("body", 0, 0, "changed"))  # t0 (by ref, and nested below t1): t3 is untouched
    after = incremental.build(snapshot)
    assert after == build_routing_view(snapshot)
    before_ids = {id(r) for r in middle.gateways[0].virtual_hosts[0].routes}
    t3 = [r for r in after.gateways[0].virtual_hosts[0].routes if "#by-label > RouteTable/gloo-mesh/t3#" in r.id]
    assert t3 and all(id(r) in before_ids for r in t3)  # the very objects of the middle view


def test_a_reused_table_keeps_its_subtrees_entries_for_later_builds(tmp_path: Path) -> None:
    config = Config(tmp_path)
    incremental = IncrementalRouting()
    incremental.build(config.snapshot())
    for edit in [("body", 3, 0, "x"), ("body", 4, 0, "y")]:  # t1 is reused whole, then its nested t4 changes
        snapshot = config.edit(edit)
        assert incremental.build(snapshot) == build_routing_view(snapshot)
    # t4 and t1 above it are expanded again; t1's other nested tables (t2, t0) and t3 are reused, and the by-ref
    # route with t0 below it whole
    stats = incremental.last_stats
    assert (stats["tables_expanded"], stats["tables_reused"], stats["top_routes_reused"]) == (2, 3, 2)


def test_a_host_reused_whole_hands_its_top_routes_on_to_the_next_build(tmp_path: Path) -> None:
    def host(name: str) -> dict[str, str]:
        """A virtual host with a direct route and two delegating ones, its tables in files of their own."""
        files = {f"{name}{t}.yaml": f"""apiVersion: {V1}
kind: RouteTable
metadata: {{name: {name}{t}, namespace: ns}}
spec:
  routes:
  - name: r
    matchers: [{{uri: {{prefix: /{name}{t}/r}}}}]
    directResponseAction: {{status: 200, body: {bodies.get(f"{name}{t}", "v0")}}}
""" for t in (1, 2)}
        files[f"{name}.yaml"] = f"""apiVersion: {V1}
kind: VirtualHost
metadata: {{name: {name}, namespace: ns}}
spec:
  domains: [{name}.test]
  routes:
  - name: direct
    matchers: [{{uri: {{exact: /{name}}}}}]
    directResponseAction: {{status: 200, body: {name}}}
""" + "".join(f"""  - name: to{t}
    matchers: [{{uri: {{prefix: /{name}{t}}}}}]
    delegateAction: {{refs: [{{name: {name}{t}, namespace: ns}}]}}
""" for t in (1, 2))
        return files

    gateway = f"""apiVersion: {V1}
kind: VirtualGateway
metadata: {{name: gw, namespace: ns}}
spec:
  connectionHandlers: [{{http: {{routeConfig: [{{virtualHostSelector: {{namespaces: [ns]}}}}]}}}}]
"""
    bodies: dict[str, str] = {}

    def write_config() -> Snapshot:  # a file per resource: an edit re-reads only the table it changes
        write_changed(tmp_path, {"gw.yaml": gateway, **host("a"), **host("b")})
        return snapshot_of(source)

    source = FileSource([tmp_path])
    incremental = IncrementalRouting()
    incremental.build(write_config())
    stats = []
    for table, body in [("a1", "x"), ("b1", "x"), ("a1", "y")]:  # host a, then b (a reused whole), then a
        bodies[table] = body
        snapshot = write_config()
        assert incremental.build(snapshot) == build_routing_view(snapshot)
        stats.append(dict(incremental.last_stats))
    assert stats[1]["hosts_reused"] == 1
    # the second edit of host a finds the top routes its first edit kept: the direct route and the one to a2
    assert stats[2]["top_routes_reused"] == stats[0]["top_routes_reused"] == 2
