"""Delegation: in-place replacement, table order (refs, selector, weight), sort methods, cycles, diamonds, provenance."""

from __future__ import annotations

import pytest

from meshctl.model.findings import Severity
from meshctl.routing.render import vhost_dict

from .helpers import build, codes, delegate, findings, gateway, leaf, matcher, paths, served, table, vh_view, vhost

P = matcher  # short alias: P(prefix="/x")


def one_delegate(*tables: dict, refs: list[str] | None = None, selector: dict | None = None,
                 sort: str | None = None, before: list[dict] | None = None, after: list[dict] | None = None):
    routes = [*(before or []), delegate("d", P(prefix="/api"), refs=refs, selector=selector, sort=sort),
              *(after or [])]
    return build(gateway(), vhost(routes), *tables)


# --- which tables, in which order --------------------------------------------------------------------------

def test_delegating_route_is_replaced_in_place_by_its_children() -> None:
    view = one_delegate(table("t", [leaf("a", P(prefix="/a")), leaf("b", P(prefix="/b"))]), refs=["t"],
                        before=[leaf("first", P(prefix="/first"))], after=[leaf("last", P(prefix="/"))])
    assert served(view) == ["first", "a", "b", "last"]
    assert paths(vh_view(view).routes) == [["prefix /first"], ["prefix /api/a"], ["prefix /api/b"], ["prefix /"]]


def test_refs_keep_list_order_not_name_order() -> None:
    view = one_delegate(table("a", [leaf("from-a")]), table("b", [leaf("from-b")]), table("c", [leaf("from-c")]),
                        refs=["c", "a", "b"])
    assert served(view) == ["from-c", "from-a", "from-b"]


def test_selector_hits_sorted_by_namespace_then_name() -> None:
    tables = [table("b", [leaf("ns-b")]), table("a", [leaf("ns-a")], ns="zz"), table("z", [leaf("aa-z")], ns="aa"),
              table("a", [leaf("ns-a2")])]
    view = one_delegate(*tables, selector={"namespaces": ["*"]})
    assert served(view) == ["aa-z", "ns-a2", "ns-b", "ns-a"]


def test_refs_come_before_selector_hits_and_a_table_reached_by_both_is_used_once() -> None:
    tables = [table("a", [leaf("from-a")], labels={"pick": "me"}), table("b", [leaf("from-b")], labels={"pick": "me"}),
              table("c", [leaf("from-c")], labels={"pick": "me"})]
    view = one_delegate(*tables, refs=["c", "b"], selector={"labels": {"pick": "me"}})
    assert served(view) == ["from-c", "from-b", "from-a"]
    (node,) = [n for n in vh_view(view).tree if n.is_delegate]
    assert [(t.table.name, t.via) for t in node.tables] == [("c", "ref 1"), ("b", "ref 2"), ("a", "selector")]


def test_selector_namespace_defaults_to_the_delegating_resource() -> None:
    """A delegate written in a RouteTable of namespace `team` selects in `team`, not the VirtualHost's namespace."""
    view = build(gateway(), vhost([delegate("d", P(prefix="/"), refs=["team/mid"])]),
                 table("mid", [delegate("inner", P(prefix="/x"), selector={})], ns="team"),
                 table("t1", [leaf("team-leaf")], ns="team"), table("t2", [leaf("ns-leaf")]))
    assert served(view) == ["team-leaf"]
    assert "unreached-route-table" in codes(view)  # ns/t2


def test_selector_expressions_select_tables() -> None:
    tables = [table("gold", [leaf("gold")], labels={"tier": "gold"}), table("plain", [leaf("plain")]),
              table("silver", [leaf("silver")], labels={"tier": "silver"})]
    view = one_delegate(*tables, selector={"expressions": [{"key": "tier", "operator": "Exists"}]})
    assert served(view) == ["gold", "silver"]


@pytest.mark.parametrize(("weights", "expected"), [
    ([0, 10, 5], ["w10", "w5", "w0"]),
    ([None, 0, -1], ["wNone", "w0", "w-1"]),  # default weight is 0; equal weights keep ref order
    ([3, 3, 3], ["w3", "w3", "w3"]),
    ([-5, 0, 7], ["w7", "w0", "w-5"]),
])
def test_table_weight_higher_first_stable(weights: list[int | None], expected: list[str]) -> None:
    tables = [table(f"t{i}", [leaf(f"w{w}")], weight=w) for i, w in enumerate(weights)]
    view = one_delegate(*tables, refs=[f"t{i}" for i in range(len(weights))])
    assert served(view) == expected
    if weights == [3, 3, 3]:
        assert [r.chain[-1].resource.name for r in vh_view(view).routes] == ["t0", "t1", "t2"]


def test_table_weight_keeps_each_tables_written_order() -> None:
    heavy = table("heavy", [leaf("h-catch", P(prefix="/")), leaf("h-exact", P(exact="/x"))], weight=10)
    light = table("light", [leaf("l-exact", P(exact="/y")), leaf("l-prefix", P(prefix="/y"))])
    view = one_delegate(light, heavy, refs=["light", "heavy"])
    assert served(view) == ["h-catch", "h-exact", "l-exact", "l-prefix"]


def test_nested_delegation_replaces_in_place_at_every_level() -> None:
    view = build(gateway(), vhost([delegate("top", P(prefix="/a"), refs=["mid"]), leaf("after", P(prefix="/"))]),
                 table("mid", [leaf("m1", P(prefix="/m1")), delegate("down", P(prefix="/b"), refs=["low"]),
                               leaf("m2", P(prefix="/m2"))]),
                 table("low", [leaf("l1", P(exact="/l1")), leaf("l2", P(prefix="/l2"))]))
    assert served(view) == ["m1", "l1", "l2", "m2", "after"]
    assert paths(vh_view(view).routes)[1:3] == [["exact /a/b/l1"], ["prefix /a/b/l2"]]


# --- ROUTE_SPECIFICITY ----------------------------------------------------------------------------------------

def test_specificity_exact_before_regex_before_prefix_longer_first() -> None:
    routes = [leaf("p-short", P(prefix="/a")), leaf("regex", P(regex="/[a-z]+")), leaf("p-long", P(prefix="/abc")),
              leaf("e-short", P(exact="/a")), leaf("e-long", P(exact="/abcd"))]
    view = one_delegate(table("t", routes), refs=["t"], sort="ROUTE_SPECIFICITY")
    assert served(view) == ["e-long", "e-short", "regex", "p-long", "p-short"]


def test_specificity_regexes_compare_equal_and_ties_keep_weight_then_written_order() -> None:
    light = table("light", [leaf("l-re-long", P(regex="/aaaaaaaaaa.*")), leaf("l-p", P(prefix="/same"))])
    heavy = table("heavy", [leaf("h-re", P(regex="/b")), leaf("h-p", P(prefix="/same")),
                            leaf("h-re2", P(regex="/c.*"))], weight=10)
    view = one_delegate(light, heavy, refs=["light", "heavy"], sort="ROUTE_SPECIFICITY")
    # regexes: equal, so weight-10 table's (in written order) then the weight-0 table's; same-length prefixes likewise
    assert served(view) == ["h-re", "h-re2", "l-re-long", "h-p", "l-p"]


def test_specificity_uses_the_routes_most_specific_matcher() -> None:
    t = table("t", [leaf("two-matchers", P(prefix="/x"), P(exact="/short")), leaf("long-prefix", P(prefix="/xxxxxx")),
                    leaf("exact-long", P(exact="/much-longer-exact"))])
    view = one_delegate(t, refs=["t"], sort="ROUTE_SPECIFICITY")
    assert served(view) == ["exact-long", "two-matchers", "long-prefix"]


def test_specificity_length_is_the_effective_joined_path() -> None:
    """A short child path under a long nested prefix outranks a longer child path under a short prefix."""
    view = build(gateway(),
                 vhost([delegate("d", P(prefix="/"), refs=["top"], sort="ROUTE_SPECIFICITY")]),
                 table("top", [leaf("top-long", P(prefix="/abcdefgh")),
                               delegate("deep", P(prefix="/zzzzzzzzzzzz"), refs=["low"])]),
                 table("low", [leaf("low-short", P(prefix="/q"))]))
    assert served(view) == ["low-short", "top-long"]
    assert paths(vh_view(view).routes) == [["prefix /zzzzzzzzzzzz/q"], ["prefix /abcdefgh"]]


def test_specificity_flattens_nested_delegates_and_overrides_their_sort_method() -> None:
    view = build(gateway(),
                 vhost([leaf("before", P(prefix="/before")),
                        delegate("d", P(prefix="/r"), refs=["mid"], sort="ROUTE_SPECIFICITY"),
                        leaf("after", P(prefix="/"))]),
                 table("mid", [leaf("mid-prefix", P(prefix="/m")),
                               delegate("nested", P(prefix="/n"), refs=["low"], sort="TABLE_WEIGHT")]),
                 table("low", [leaf("low-prefix", P(prefix="/")), leaf("low-exact", P(exact="/e"))]))
    # the nested routes are sorted together with mid's (/r/n/ is longer than /r/m); the block stays between the
    # VirtualHost's own routes
    assert served(view) == ["before", "low-exact", "low-prefix", "mid-prefix", "after"]
    (f,) = findings(view, "sort-method-overridden")
    assert f.severity is Severity.INFO and f.resource == "RouteTable ns/mid"
    assert f.path == "spec.routes[1].delegateAction.sortMethod"


def test_top_most_table_weight_overrides_a_nested_route_specificity() -> None:
    view = build(gateway(), vhost([delegate("d", P(prefix="/"), refs=["mid"], sort="TABLE_WEIGHT")]),
                 table("mid", [delegate("nested", P(prefix="/n"), refs=["low"], sort="ROUTE_SPECIFICITY")]),
                 table("low", [leaf("low-prefix", P(prefix="/")), leaf("low-exact", P(exact="/e"))]))
    assert served(view) == ["low-prefix", "low-exact"]  # written order: the nested sortMethod is ignored
    assert "sort-method-overridden" in codes(view)
    (top,) = vh_view(view).tree
    nested = top.tables[0].routes[0]
    assert nested.sort_method == "TABLE_WEIGHT" and nested.sort_overridden


def test_nested_table_weight_sorts_the_nested_tables_under_a_table_weight_top() -> None:
    view = build(gateway(), vhost([delegate("d", P(prefix="/"), refs=["mid"])]),
                 table("mid", [delegate("nested", P(prefix="/n"), refs=["light", "heavy"]), leaf("m", P(prefix="/m"))]),
                 table("light", [leaf("light")]), table("heavy", [leaf("heavy")], weight=1))
    assert served(view) == ["heavy", "light", "m"]


def test_two_specificity_blocks_are_sorted_separately() -> None:
    view = build(gateway(),
                 vhost([delegate("d1", P(prefix="/one"), refs=["t1"], sort="ROUTE_SPECIFICITY"),
                        delegate("d2", P(prefix="/two"), refs=["t2"], sort="ROUTE_SPECIFICITY")]),
                 table("t1", [leaf("1p", P(prefix="/p")), leaf("1e", P(exact="/e"))]),
                 table("t2", [leaf("2p", P(prefix="/p")), leaf("2e", P(exact="/e"))]))
    assert served(view) == ["1e", "1p", "2e", "2p"]


# --- cycles, diamonds, dangling refs --------------------------------------------------------------------------

def test_cycle_reported_on_the_closing_table_branch_skipped_siblings_kept() -> None:
    view = build(gateway(), vhost([delegate("d", P(prefix="/"), refs=["a"]), leaf("vh-after", P(prefix="/z"))]),
                 table("a", [leaf("a1", P(prefix="/a1")), delegate("to-b", P(prefix="/b"), refs=["b"]),
                             leaf("a2", P(prefix="/a2"))]),
                 table("b", [delegate("back", P(prefix="/x"), refs=["a"]), leaf("b1", P(prefix="/b1"))]))
    assert served(view) == ["a1", "b1", "a2", "vh-after"]
    (f,) = findings(view, "delegation-cycle")
    assert f.severity is Severity.ERROR and f.resource == "RouteTable ns/b"
    assert f.path == "spec.routes[0].delegateAction"
    assert "VirtualHost ns/vh -> RouteTable ns/a -> RouteTable ns/b -> RouteTable ns/a" in f.message
    assert not vh_view(view).invalid


def test_self_reference_is_a_cycle() -> None:
    view = build(gateway(), vhost([delegate("d", P(prefix="/"), refs=["a"])]),
                 table("a", [delegate("self", P(prefix="/s"), refs=["a"]), leaf("a1", P(prefix="/a1"))]))
    assert served(view) == ["a1"]
    (f,) = findings(view, "delegation-cycle")
    assert "RouteTable ns/a -> RouteTable ns/a" in f.message


def test_diamond_is_expanded_once_per_path_and_is_not_a_cycle() -> None:
    view = build(gateway(), vhost([delegate("d", P(prefix="/"), refs=["left", "right"])]),
                 table("left", [delegate("l", P(prefix="/l"), refs=["shared"])]),
                 table("right", [delegate("r", P(prefix="/r"), refs=["shared"])]),
                 table("shared", [leaf("s", P(prefix="/s"))]))
    routes = vh_view(view).routes
    assert paths(routes) == [["prefix /l/s"], ["prefix /r/s"]]
    assert len({r.id for r in routes}) == 2
    assert [[link.ref for link in r.chain] for r in routes] == [
        ["VirtualHost/ns/vh#d", "RouteTable/ns/left#l", "RouteTable/ns/shared#s"],
        ["VirtualHost/ns/vh#d", "RouteTable/ns/right#r", "RouteTable/ns/shared#s"],
    ]
    assert "delegation-cycle" not in codes(view)


def test_same_table_from_two_virtual_host_routes() -> None:
    view = build(gateway(), vhost([delegate("one", P(prefix="/one"), refs=["t"]),
                                   delegate("two", P(prefix="/two"), refs=["t"])]),
                 table("t", [leaf("x", P(prefix="/x"))]))
    assert paths(vh_view(view).routes) == [["prefix /one/x"], ["prefix /two/x"]]


def test_dangling_ref_reported_and_skipped_rest_kept() -> None:
    view = one_delegate(table("t", [leaf("t1")]), refs=["missing", "t"], after=[leaf("after", P(prefix="/"))])
    assert served(view) == ["t1", "after"]
    (f,) = findings(view, "dangling-delegate-ref")
    assert f.severity is Severity.ERROR and f.path == "spec.routes[0].delegateAction.refs[0]"
    assert "ns/missing" in f.message
    assert not vh_view(view).invalid


def test_selector_selecting_nothing_is_a_warning() -> None:
    view = one_delegate(selector={"labels": {"nothing": "here"}}, after=[leaf("after", P(prefix="/"))])
    assert served(view) == ["after"]
    (f,) = findings(view, "selector-selects-nothing")
    assert f.severity is Severity.WARNING and f.path == "spec.routes[0].delegateAction.selector"


def test_delegate_without_target() -> None:
    view = one_delegate()
    (f,) = findings(view, "delegate-no-target")
    assert f.severity is Severity.ERROR


def test_unreached_route_table() -> None:
    view = one_delegate(table("used", [leaf("u")]), table("orphan", [leaf("o")]), refs=["used"])
    (f,) = findings(view, "unreached-route-table")
    assert f.resource == "RouteTable ns/orphan" and f.severity is Severity.WARNING


def test_table_reached_only_from_an_unselected_virtual_host_is_not_reached() -> None:
    view = build(gateway(), vhost([delegate("d", P(prefix="/"), refs=["other/t"])], ns="other"),
                 table("t", [leaf("x")], ns="other"))
    assert {f.resource for f in findings(view, "unreached-route-table")} == {"RouteTable other/t"}


# --- provenance ----------------------------------------------------------------------------------------------

def test_provenance_chain_weights_matchers_options_position() -> None:
    view = build(gateway(),
                 vhost([delegate("api", P(prefix="/api", headers=[{"name": "x-team", "value": "a"}]), refs=["mid"],
                                 options={"requestTimeout": "5s"})]),
                 table("mid", [delegate("v1", P(prefix="/v1"), refs=["leafs"])], weight=3),
                 table("leafs", [leaf("get", P(exact="/items", method="GET"), options={"retries": {"attempts": 2}})],
                       weight=7))
    (r,) = vh_view(view).routes
    assert [(l.resource.ref, l.route_index, l.route_name, l.weight) for l in r.chain] == [
        ("VirtualHost/ns/vh", 0, "api", None), ("RouteTable/ns/mid", 0, "v1", 3), ("RouteTable/ns/leafs", 0, "get", 7)]
    assert r.chain[-1].route_path == ("spec", "routes", 0)
    (m,) = r.matchers
    assert (m.path_kind, m.path, m.method) == ("exact", "/api/v1/items", "GET")
    assert [(h.name, h.value) for h in m.headers] == [("x-team", "a")]
    d = vhost_dict(vh_view(view))["routes"][0]
    assert d["owner"] == "RouteTable/ns/leafs"
    assert d["chain"] == ["VirtualHost/ns/vh#api", "RouteTable/ns/mid#v1", "RouteTable/ns/leafs#get"]
    assert d["weights"] == [3, 7]
    assert d["match"] == [{"exact": "/api/v1/items", "method": "GET", "headers": [{"name": "x-team", "value": "a"}]}]
    assert d["options"] == {"requestTimeout": "5s", "retries": {"attempts": 2}}
    assert d["position"]["index"] == 0 and d["position"]["reason"] == "table weight"
    assert "ns/leafs" in d["position"]["detail"] and "weight 7" in d["position"]["detail"]


def test_route_ids_unique_even_with_duplicate_route_names() -> None:
    view = build(gateway(), vhost([delegate("d", P(prefix="/a"), refs=["t"]), delegate("d", P(prefix="/b"), refs=["t"]),
                                   leaf("", P(prefix="/c")), leaf("3", P(prefix="/d"))]),
                 table("t", [leaf("x", P(prefix="/1")), leaf("x", P(prefix="/2")), leaf("", P(prefix="/3"))]))
    v = vh_view(view)
    ids = [r.id for r in v.routes]
    assert len(ids) == 8 and len(set(ids)) == 8, ids
    assert {f.resource for f in findings(view, "duplicate-route-name")} == {"VirtualHost ns/vh", "RouteTable ns/t"}
    # the tree refers to each flattened route exactly once
    flat_ids = [i for n in v.tree for t in n.tables for c in t.routes for i in c.flat_ids]
    flat_ids += [i for n in v.tree if not n.is_delegate for i in n.flat_ids]
    assert sorted(flat_ids) == sorted(ids)
