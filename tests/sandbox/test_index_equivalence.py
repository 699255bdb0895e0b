"""The compiled first-match index returns exactly the route a straightforward scan returns."""

from __future__ import annotations

import random

import re2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl.devtools.synth import synthetic_config_text, synthetic_requests
from meshctl.model.common import Policy, Route
from meshctl.model.regex import literal_prefix
from meshctl.model.snapshot import snapshot_from_text
from meshctl.routing.evaluate import Request
from meshctl.routing.matchers import EffectiveMatcher, HeaderCondition, QueryCondition
from meshctl.routing.types import FlattenedRoute, Position
from meshctl.routing.view import build_routing_view
from meshctl.sandbox.index import RouteIndex, scan_first_match

# a small alphabet so that paths, prefixes and suffixes collide often
path_text = st.text(alphabet="/abAB.-", min_size=0, max_size=7).map(lambda s: "/" + s)
regex_piece = st.sampled_from([
    "a", "b", "/", "A", r"\.", r"\-", "-", "[0-9]+", ".*", "(a|b)", "a?", "b*", "x{0,2}", r"\d", "[ab]",
    "[]a]", "(?i)a", "(?:ab)+", "/a/", "\\/",
])
regex_text = st.one_of(
    st.lists(regex_piece, min_size=1, max_size=5).map("".join),
    st.tuples(st.lists(regex_piece, min_size=1, max_size=3).map("".join),
              st.lists(regex_piece, min_size=1, max_size=3).map("".join)).map(lambda t: f"{t[0]}|{t[1]}"),
)
headers = st.lists(st.builds(HeaderCondition, name=st.sampled_from(["x-a", "x-b"]),
                             value=st.sampled_from(["", "1", "2"]), regex=st.just(False), invert=st.booleans()),
                   max_size=2).map(tuple)
queries = st.lists(st.builds(QueryCondition, name=st.just("v"), value=st.sampled_from(["", "1"])), max_size=1)


@st.composite
def matchers(draw: st.DrawFn) -> EffectiveMatcher:
    kind = draw(st.sampled_from(["prefix", "prefix", "exact", "regex", "suffix"]))
    path = draw(regex_text) if kind == "regex" else draw(path_text)
    if kind == "suffix":
        path = path[draw(st.integers(0, max(0, len(path) - 1))):]
    ignore_case = kind != "regex" and draw(st.booleans())
    return EffectiveMatcher(kind, path, ignore_case, draw(headers), tuple(draw(queries)),  # type: ignore[arg-type]
                            draw(st.sampled_from([None, None, "GET", "POST"])))


def flat_routes(matcher_lists: list[list[EffectiveMatcher]]) -> list[FlattenedRoute]:
    return [FlattenedRoute(id=f"r{i}", name=f"r{i}", chain=(), matchers=tuple(ms), route=Route(), options=Policy(),
                           position=Position("", "")) for i, ms in enumerate(matcher_lists)]


requests = st.builds(
    Request,
    method=st.sampled_from(["GET", "POST"]),
    authority=st.just("h"),
    path=st.tuples(path_text, st.sampled_from(["", "?v=1", "?v=2", "?w"])).map("".join),
    headers=st.dictionaries(st.sampled_from(["x-a", "x-b"]), st.sampled_from(["1", "2"]), max_size=2),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(matchers(), min_size=0, max_size=3), min_size=0, max_size=25),
       st.lists(requests, min_size=1, max_size=15))
def test_index_agrees_with_scan_on_random_routes(matcher_lists: list[list[EffectiveMatcher]],
                                                 reqs: list[Request]) -> None:
    routes = flat_routes(matcher_lists)
    index = RouteIndex(routes)
    # requests aimed at the routes' own paths too, so exact/prefix/suffix keys are actually hit
    aimed = [Request(r.method, "h", variant, dict(r.headers))
             for r, m in zip(reqs, (m for ms in matcher_lists for m in ms), strict=False)
             if m.path_kind != "regex"
             for variant in (m.path, m.path.upper(), m.path.swapcase() + "?v=1", m.path + "b", "/a" + m.path)]
    for req in reqs + aimed:
        assert index.first_match(req) == scan_first_match(routes, req), req.describe()


@settings(max_examples=300, deadline=None)
@given(regex_text, st.data())
def test_every_full_match_starts_with_the_literal_prefix(pattern: str, data: st.DataObject) -> None:
    prefix = literal_prefix(pattern)
    compiled = re2.compile(pattern)
    candidates = [data.draw(path_text), data.draw(st.text(alphabet="/abAB.-019x", max_size=8))]
    try:
        candidates.append(data.draw(st.from_regex(pattern.replace("(?i)", ""), fullmatch=True)))
    except Exception:  # Python's re and RE2 disagree on a few constructs; the drawn strings still count
        pass
    for text in candidates:
        if compiled.fullmatch(text):
            assert text.startswith(prefix), (pattern, prefix, text)


def test_literal_prefix_examples() -> None:
    assert literal_prefix(r"/api/v1/[0-9]+") == "/api/v1/"
    assert literal_prefix(r"/l1\-0/r5/[0-9]+") == "/l1-0/r5/"
    assert literal_prefix("/ab?") == "/a"
    assert literal_prefix("/ab+") == "/ab"
    assert literal_prefix("/a|/b") == ""
    assert literal_prefix("/x(a|b)") == "/x"
    assert literal_prefix("(?i)/a") == ""
    assert literal_prefix(r"\d+") == ""


def test_index_agrees_with_scan_on_synthetic_configs() -> None:
    for seed in (0, 1):
        view = build_routing_view(snapshot_from_text(synthetic_config_text(400, seed=seed)))
        vhost = max((v for g in view.gateways for v in g.virtual_hosts), key=lambda v: len(v.routes))
        index = RouteIndex(vhost.routes)
        rng = random.Random(seed)
        reqs = synthetic_requests(view, 600, seed=seed)
        # also near misses: cut, extend and upper-case the aimed-at paths
        for r in list(reqs[:200]):
            cut = r.path[: rng.randrange(1, len(r.path) + 1)]
            reqs.append(Request(r.method, r.authority, cut, dict(r.headers)))
            reqs.append(Request(r.method, r.authority, r.path + rng.choice(["/x", "1", "?v=2"]), {}))
            reqs.append(Request("POST", r.authority, r.path.upper(), {"x-canary": "1"}))
        hits = 0
        for req in reqs:
            expected = scan_first_match(vhost.routes, req)
            assert index.first_match(req) == expected, req.describe()
            hits += expected is not None and expected.position != len(vhost.routes) - 1
        assert hits > len(reqs) // 3  # most requests reach a real route, not just the catch-all
