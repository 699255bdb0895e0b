"""Shadow analysis: exact verdicts for exact/prefix/suffix/method/header/query, conservative for regex, witnesses."""

from __future__ import annotations

from typing import Any

import pytest

from meshctl.model.findings import Severity
from meshctl.routing.evaluate import Request
from meshctl.routing.shadow import analyse_shadowing, covers, example_for_regex, witness_for

from .helpers import assert_finding_proven, build, delegate, findings, gateway, leaf, matcher, table, vh_view, vhost

M = matcher
H = lambda name, value="", **kw: {"name": name, **({"value": value} if value else {}), **kw}  # noqa: E731
Q = lambda name, value="", **kw: {"name": name, **({"value": value} if value else {}), **kw}  # noqa: E731


def verdict(earlier: list[dict[str, Any]], later: list[dict[str, Any]]) -> tuple[str | None, Any, Any]:
    """Two top-level routes; the later one's shadowing finding (code, witness, view), or None."""
    view = build(gateway(), vhost([leaf("earlier", *earlier), leaf("later", *later)]))
    found = [f for f in view.diagnostics if f.code in ("shadowed-route", "partially-shadowed")]
    assert len(found) <= 1, found
    if not found:
        return None, None, view
    (f,) = found
    assert_finding_proven(view, f)
    return f.code, f.witness, view


SHADOWED = [
    ("prefix covers longer prefix", [M(prefix="/a")], [M(prefix="/a/b")], "GET /a/b"),
    ("prefix is a string prefix", [M(prefix="/a")], [M(prefix="/ab")], "GET /ab"),
    ("root prefix covers all", [M(prefix="/")], [M(exact="/x", method="POST")], "POST /x"),
    ("no matcher is root prefix", [], [M(regex="/[0-9]+")], "GET /0"),
    ("prefix covers exact", [M(prefix="/a")], [M(exact="/a/x")], "GET /a/x"),
    ("same exact", [M(exact="/x")], [M(exact="/x")], "GET /x"),
    ("regex covers exact", [M(regex="/x/[0-9]+")], [M(exact="/x/12")], "GET /x/12"),
    ("regex alternation covers exact", [M(regex="/a|/b")], [M(exact="/b")], "GET /b"),
    ("same regex", [M(regex="/r/.*")], [M(regex="/r/.*")], None),
    ("suffix covers exact", [M(suffix=".css")], [M(exact="/a.css")], "GET /a.css"),
    ("suffix covers longer suffix", [M(suffix=".css")], [M(suffix="/x.css")], None),
    ("ignore-case prefix covers other case", [M(prefix="/API", ignore_case=True)], [M(prefix="/api/v1")],
     "GET /api/v1"),
    ("ignore-case exact", [M(exact="/A", ignore_case=True)], [M(exact="/a")], "GET /a"),
    ("same method", [M(prefix="/a", method="GET")], [M(prefix="/a/b", method="GET")], "GET /a/b"),
    ("header value implies presence", [M(prefix="/a", headers=[H("x")])], [M(prefix="/a", headers=[H("x", "1")])],
     "GET /a -H 'x: 1'"),
    ("header regex covers value", [M(prefix="/", headers=[H("x", "1|2", regex=True)])],
     [M(prefix="/b", headers=[H("x", "2")])], "GET /b -H 'x: 2'"),
    ("fewer headers cover more", [M(prefix="/a", headers=[H("x", "1")])],
     [M(prefix="/a/b", headers=[H("x", "1"), H("y", "2")])], None),
    ("inverted value covers other value", [M(prefix="/", headers=[H("x", "2", invertMatch=True)])],
     [M(prefix="/a", headers=[H("x", "1")])], "GET /a -H 'x: 1'"),
    ("absent covers absent", [M(prefix="/", headers=[H("x", invertMatch=True)])],
     [M(prefix="/a", headers=[H("x", invertMatch=True)])], "GET /a"),
    ("query presence covers value", [M(prefix="/a", query=[Q("v")])], [M(prefix="/a", query=[Q("v", "1")])],
     "GET /a?v=1"),
    ("query regex covers value", [M(prefix="/", query=[Q("v", "[0-9]+", regex=True)])],
     [M(exact="/a", query=[Q("v", "42")])], "GET /a?v=42"),
    ("each matcher covered", [M(prefix="/a"), M(prefix="/b")], [M(exact="/a/1"), M(exact="/b/1")], "GET /a/1"),
]


@pytest.mark.parametrize(("what", "earlier", "later", "witness"), SHADOWED, ids=[c[0] for c in SHADOWED])
def test_shadowed(what: str, earlier: list, later: list, witness: str | None) -> None:
    code, got, view = verdict(earlier, later)
    assert code == "shadowed-route"
    if witness is not None:
        assert got == witness
    (f,) = findings(view, "shadowed-route")
    assert f.severity is Severity.WARNING and f.resource == "VirtualHost ns/vh" and f.path == "spec.routes[1]"
    v = vh_view(view)
    assert f.routes == (v.routes[1].id, v.routes[0].id)


NOT_SHADOWED = [
    ("general after specific", [M(prefix="/a/b")], [M(prefix="/a")]),
    ("prefix after exact", [M(exact="/a")], [M(prefix="/a")]),
    ("different methods", [M(prefix="/", method="GET")], [M(prefix="/a", method="POST")]),
    ("different header values", [M(prefix="/", headers=[H("x", "1")])], [M(prefix="/a", headers=[H("x", "2")])]),
    ("header present vs absent", [M(prefix="/", headers=[H("x")])], [M(prefix="/a", headers=[H("x", invertMatch=True)])]),
    ("different query values", [M(prefix="/", query=[Q("v", "1")])], [M(prefix="/a", query=[Q("v", "2")])]),
    ("exact vs other exact", [M(exact="/a")], [M(exact="/b")]),
    ("suffix vs prefix", [M(suffix=".css")], [M(prefix="/a")]),
    ("prefix vs suffix", [M(prefix="/a")], [M(suffix=".css")]),
    ("case-sensitive prefix vs ignore-case later", [M(prefix="/a")], [M(prefix="/a/b", ignore_case=True)]),
    ("regex does not cover exact", [M(regex="/x/[0-9]+")], [M(exact="/x/y")]),
    ("only one matcher covered", [M(prefix="/a")], [M(exact="/a/1"), M(exact="/b/1")]),
    # regex vs prefix: true here, but not provable by our reasoning, so no claim
    ("regex vs prefix unproven", [M(regex="/a/.*")], [M(prefix="/a/b")]),
    ("different regexes", [M(regex="/a.*")], [M(regex="/a[0-9]*")]),
]


@pytest.mark.parametrize(("what", "earlier", "later"), NOT_SHADOWED, ids=[c[0] for c in NOT_SHADOWED])
def test_not_claimed_shadowed(what: str, earlier: list, later: list) -> None:
    code, _, _ = verdict(earlier, later)
    assert code != "shadowed-route"


PARTIAL = [
    ("earlier needs a method", [M(prefix="/a", method="GET")], [M(prefix="/a/b")], "GET /a/b"),
    ("header canary first", [M(prefix="/api", headers=[H("x-canary", "1")])], [M(prefix="/api")],
     "GET /api -H 'x-canary: 1'"),
    ("earlier needs a query parameter", [M(prefix="/", query=[Q("debug")])], [M(exact="/x")], "GET /x?debug=1"),
]


@pytest.mark.parametrize(("what", "earlier", "later", "witness"), PARTIAL, ids=[c[0] for c in PARTIAL])
def test_partial_overlap_is_info_with_witness(what: str, earlier: list, later: list, witness: str) -> None:
    code, got, view = verdict(earlier, later)
    assert code == "partially-shadowed" and got == witness
    (f,) = findings(view, "partially-shadowed")
    assert f.severity is Severity.INFO


def test_witness_names_the_first_route_taking_it() -> None:
    view = build(gateway(), vhost([leaf("canary", M(prefix="/a", headers=[H("x", "1")])), leaf("broad", M(prefix="/a")),
                                   leaf("narrow", M(prefix="/a/b"))]))
    (f,) = findings(view, "shadowed-route")
    v = vh_view(view)
    assert f.routes == (v.routes[2].id, v.routes[1].id) and f.witness == "GET /a/b"
    assert_finding_proven(view, f)


def test_shadowing_across_delegated_tables_is_located_in_the_child_table() -> None:
    view = build(gateway(), vhost([leaf("catch", M(prefix="/api")), delegate("d", M(prefix="/api"), refs=["t"])]),
                 table("t", [leaf("x", M(prefix="/x")), leaf("y", M(exact="/y"))]))
    found = findings(view, "shadowed-route")
    assert [(f.resource, f.path, f.witness) for f in found] == [
        ("RouteTable ns/t", "spec.routes[0]", "GET /api/x"), ("RouteTable ns/t", "spec.routes[1]", "GET /api/y")]
    assert found[0].file == "test.yaml" and found[0].line is not None
    for f in found:
        assert_finding_proven(view, f)


def test_invalid_virtual_host_gets_no_shadow_findings() -> None:
    view = build(gateway(), vhost([leaf("a", M(prefix="/")), leaf("b", M(prefix="/b")), {"name": "x"}]))
    assert vh_view(view).invalid and not findings(view, "shadowed-route")


def test_analysis_is_per_virtual_host() -> None:
    view = build(gateway(), vhost([leaf("a", M(prefix="/"))], name="one", domains=["1.com"]),
                 vhost([leaf("b", M(prefix="/b"))], name="two", domains=["2.com"]))
    assert not findings(view, "shadowed-route")
    assert analyse_shadowing(vh_view(view, "ns/two")) == []


# --- building blocks --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pattern", ["/a/[0-9]+", "/(x|y)z", "/v[a-c]{2,3}/\\d+", "[^/]+\\.css", "/a?b*c", "/\\w+-x"])
def test_example_for_regex_is_fully_matched(pattern: str) -> None:
    from meshctl.model.regex import full_match

    text = example_for_regex(pattern)
    assert text is not None and full_match(pattern, text)


def test_witness_for_satisfies_every_condition() -> None:
    from meshctl.routing.evaluate import first_failure
    from meshctl.routing.matchers import EffectiveMatcher, HeaderCondition, QueryCondition

    m = EffectiveMatcher("regex", "/r/[0-9]+", False, (HeaderCondition("x", "a|b", regex=True),
                                                      HeaderCondition("gone", invert=True)),
                         (QueryCondition("v", "1"), QueryCondition("p")), "PUT")
    req = witness_for(m, "h.com")
    assert req is not None and first_failure(m, req) is None
    assert req.method == "PUT" and "gone" not in req.headers


def test_covers_never_claims_on_invalid_regex() -> None:
    from meshctl.routing.matchers import EffectiveMatcher

    assert not covers(EffectiveMatcher("regex", "/("), EffectiveMatcher("exact", "/("))
    assert witness_for(EffectiveMatcher("regex", "/(")) is None


def test_partial_claims_carry_a_request_the_later_route_wants() -> None:
    _, witness, view = verdict([M(prefix="/a", method="GET")], [M(prefix="/a/b")])
    v = vh_view(view)
    req = Request("GET", "vh.example.com", "/a/b")
    assert witness == "GET /a/b"
    assert any(m for m in v.routes[1].matchers)
    from meshctl.routing.evaluate import first_failure

    assert first_failure(v.routes[1].matchers[0], Request("POST", "", "/a/b")) is None  # the later route still serves POST
    assert first_failure(v.routes[0].matchers[0], req) is None
