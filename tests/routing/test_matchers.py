"""Matcher merging down a delegation chain: path joins, kinds kept, AND-merged conditions, products, conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from meshctl.model.findings import Severity
from meshctl.routing.evaluate import Request, first_failure
from meshctl.routing.matchers import join_paths

from .helpers import build, delegate, findings, gateway, leaf, matcher, table, vh_view, vhost

M = matcher


def merged(parents: list[dict[str, Any]], children: list[dict[str, Any]]) -> Any:
    """The single flattened route of a VirtualHost delegating with `parents` to a table holding one child route."""
    view = build(gateway(), vhost([delegate("parent", *parents, refs=["t"])], options={"invalidRoutePolicy": {"drop": {}}}),
                 table("t", [leaf("child", *children)]))
    return view, vh_view(view)


@pytest.mark.parametrize(("parent", "child", "expected"), [
    ("/reviews", "/v1", "/reviews/v1"),
    ("/reviews", "/", "/reviews/"),
    ("/", "/productpage", "/productpage"),
    ("/reviews/", "/v1", "/reviews/v1"),
    ("/reviews", "v1", "/reviews/v1"),
    ("/a", "/b/", "/a/b/"),
    ("", "/x", "/x"),
])
def test_join_paths(parent: str, child: str, expected: str) -> None:
    assert join_paths(parent, child) == expected


# (parent uri, child uri) -> (kind, effective path) of the merged matcher
PATHS = [
    ({"prefix": "/reviews"}, {"prefix": "/v1"}, ("prefix", "/reviews/v1")),
    ({"prefix": "/reviews"}, {"prefix": "/"}, ("prefix", "/reviews/")),
    ({"prefix": "/"}, {"exact": "/productpage"}, ("exact", "/productpage")),
    ({"prefix": "/reviews"}, {"exact": "/v1/version"}, ("exact", "/reviews/v1/version")),
    ({"prefix": "/"}, {"prefix": "/"}, ("prefix", "/")),
    ({"prefix": "/"}, {"suffix": ".css"}, ("suffix", ".css")),
]


@pytest.mark.parametrize(("parent", "child", "expected"), PATHS)
def test_path_merge_keeps_the_child_kind(parent: dict, child: dict, expected: tuple[str, str]) -> None:
    _, v = merged([{"uri": parent}], [{"uri": child}])
    (r,) = v.routes
    (m,) = r.matchers
    assert (m.path_kind, m.path) == expected


# regex children: (parent prefix, child regex, paths the merged route must take, paths it must not take)
REGEXES = [
    ("/reviews", "/v[0-9]+", ["/reviews/v1", "/reviews/v42"], ["/v1", "/reviews/v1/x", "/reviews/va", "/reviewsXv1"]),
    ("/a.b", "/c", ["/a.b/c"], ["/aXb/c"]),  # the parent prefix is escaped, not read as a regex
    ("/reviews", "/a|/b", ["/reviews/a", "/reviews/b"], ["/b", "/a", "/reviews/c"]),  # alternation stays inside
    ("/", "/a|/b", ["/a", "/b"], ["/c"]),
    ("/p(x)", "/.*", ["/p(x)/anything"], ["/px/anything"]),
]


@pytest.mark.parametrize(("parent", "child", "takes", "refuses"), REGEXES)
def test_regex_child_gets_the_escaped_parent_prefix_and_matches_the_whole_path(
        parent: str, child: str, takes: list[str], refuses: list[str]) -> None:
    _, v = merged([M(prefix=parent)], [M(regex=child)])
    (r,) = v.routes
    (m,) = r.matchers
    assert m.path_kind == "regex"
    for path in takes:
        assert first_failure(m, Request(path=path)) is None, (m.path, path)
    for path in refuses:
        assert first_failure(m, Request(path=path)) is not None, (m.path, path)


def test_child_without_matchers_takes_the_parents() -> None:
    parent = M(prefix="/api", method="GET", headers=[{"name": "x-a", "value": "1"}])
    view = build(gateway(), vhost([delegate("p", parent, refs=["t"])]), table("t", [leaf("bare")]))
    (r,) = vh_view(view).routes
    (m,) = r.matchers
    assert (m.path_kind, m.path, m.method, [(h.name, h.value) for h in m.headers]) == \
        ("prefix", "/api", "GET", [("x-a", "1")])


def test_child_with_conditions_but_no_path_keeps_the_parent_path() -> None:
    _, v = merged([M(prefix="/api")], [M(headers=[{"name": "x-b", "value": "2"}])])
    (m,) = v.routes[0].matchers
    assert (m.path_kind, m.path, [h.name for h in m.headers]) == ("prefix", "/api", ["x-b"])


def test_top_level_route_without_matchers_is_prefix_root() -> None:
    view = build(gateway(), vhost([leaf("all")]))
    (m,) = vh_view(view).routes[0].matchers
    assert (m.path_kind, m.path) == ("prefix", "/")


def test_three_levels_join() -> None:
    view = build(gateway(), vhost([delegate("a", M(prefix="/a"), refs=["t1"])]),
                 table("t1", [delegate("b", M(prefix="/b/"), refs=["t2"])]), table("t2", [leaf("c", M(exact="/c"))]))
    (m,) = vh_view(view).routes[0].matchers
    assert (m.path_kind, m.path) == ("exact", "/a/b/c")


def test_conditions_are_and_merged() -> None:
    parent = M(prefix="/api", method="GET", headers=[{"name": "X-Team", "value": "a"}],
               query=[{"name": "v", "value": "1"}])
    child = M(prefix="/items", headers=[{"name": "x-canary", "regex": True, "value": "yes|1"}],
              query=[{"name": "debug"}])
    _, v = merged([parent], [child])
    (m,) = v.routes[0].matchers
    assert m.method == "GET"
    assert [(h.name, h.value, h.regex) for h in m.headers] == [("x-team", "a", False), ("x-canary", "yes|1", True)]
    assert [(q.name, q.value) for q in m.query] == [("v", "1"), ("debug", "")]
    ok = Request("GET", "", "/api/items/1?v=1&debug=1", {"x-team": "a", "x-canary": "yes"})
    assert first_failure(m, ok) is None
    for broken in (Request("POST", "", ok.path, ok.headers), Request("GET", "", "/api/items/1?v=1", ok.headers),
                   Request("GET", "", ok.path, {"x-team": "a"}), Request("GET", "", ok.path, {"x-canary": "1"})):
        assert first_failure(m, broken) is not None


def test_identical_conditions_are_not_repeated() -> None:
    h = [{"name": "x", "value": "1"}]
    _, v = merged([M(prefix="/a", headers=h, method="GET")], [M(prefix="/b", headers=h, method="get")])
    (m,) = v.routes[0].matchers
    assert len(m.headers) == 1 and m.method == "GET"


def test_several_parent_matchers_times_several_child_matchers() -> None:
    _, v = merged([M(prefix="/a"), M(prefix="/b", method="GET")], [M(prefix="/x"), M(exact="/y")])
    (r,) = v.routes
    assert [(m.path_kind, m.path, m.method) for m in r.matchers] == [
        ("prefix", "/a/x", None), ("exact", "/a/y", None), ("prefix", "/b/x", "GET"), ("exact", "/b/y", "GET")]


CONFLICTS = [
    ("two methods", M(prefix="/a", method="GET"), M(prefix="/b", method="POST")),
    ("header two values", M(prefix="/a", headers=[{"name": "x", "value": "1"}]),
     M(prefix="/b", headers=[{"name": "X", "value": "2"}])),
    ("header present and absent", M(prefix="/a", headers=[{"name": "x"}]),
     M(prefix="/b", headers=[{"name": "x", "invertMatch": True}])),
    ("header equal and not equal", M(prefix="/a", headers=[{"name": "x", "value": "1"}]),
     M(prefix="/b", headers=[{"name": "x", "value": "1", "invertMatch": True}])),
    ("header absent and not equal", M(prefix="/a", headers=[{"name": "x", "invertMatch": True}]),
     M(prefix="/b", headers=[{"name": "x", "value": "1", "invertMatch": True}])),
    ("query two values", M(prefix="/a", query=[{"name": "v", "value": "1"}]),
     M(prefix="/b", query=[{"name": "v", "value": "2"}])),
]


@pytest.mark.parametrize(("what", "parent", "child"), CONFLICTS, ids=[c[0] for c in CONFLICTS])
def test_contradictions_make_the_child_route_invalid(what: str, parent: dict, child: dict) -> None:
    view, v = merged([parent], [child])
    assert v.routes == []  # invalidRoutePolicy drop
    (r,) = v.all_routes
    assert not r.valid and r.problems
    (f,) = findings(view, "matcher-conflict")
    assert f.severity is Severity.ERROR and f.resource == "RouteTable ns/t" and f.path == "spec.routes[0].matchers[0]"


@pytest.mark.parametrize(("parent", "child"), [
    (M(prefix="/a", headers=[{"name": "x", "value": "1"}]), M(prefix="/b", headers=[{"name": "x", "value": "1|2",
                                                                                      "regex": True}])),
    (M(prefix="/a", headers=[{"name": "x", "value": "1"}]), M(prefix="/b", headers=[{"name": "x", "value": "2",
                                                                                      "invertMatch": True}])),
    (M(prefix="/a", query=[{"name": "v", "value": "1"}]), M(prefix="/b", query=[{"name": "v"}])),
])
def test_compatible_conditions_on_one_name_are_not_conflicts(parent: dict, child: dict) -> None:
    view, v = merged([parent], [child])
    assert len(v.routes) == 1 and v.routes[0].valid
    assert not findings(view, "matcher-conflict")


def test_suffix_child_under_a_prefix_parent_is_unsupported() -> None:
    view, v = merged([M(prefix="/static")], [M(suffix=".css")])
    assert v.routes == [] and not v.all_routes[0].valid
    (f,) = findings(view, "unsupported-combination")
    assert f.severity is Severity.ERROR and f.resource == "RouteTable ns/t"


def test_ignore_case_mismatch_is_a_warning_and_the_child_setting_wins() -> None:
    view, v = merged([M(prefix="/API", ignore_case=True)], [M(prefix="/v1")])
    (m,) = v.routes[0].matchers
    assert not m.ignore_case
    (f,) = findings(view, "case-mismatch")
    assert f.severity is Severity.WARNING


def test_delegating_route_must_be_a_prefix() -> None:
    view = build(gateway(), vhost([delegate("d", M(exact="/x"), refs=["t"])], options={"invalidRoutePolicy": {"drop": {}}}),
                 table("t", [leaf("c")]))
    (f,) = findings(view, "delegate-not-prefix")
    assert f.severity is Severity.ERROR and "exact" in f.message
    assert vh_view(view).routes == []


def test_bad_regex_is_invalid() -> None:
    view, v = merged([M(prefix="/a")], [M(regex="/(unclosed")])
    assert v.routes == []
    assert findings(view, "bad-regex")
