"""Shadowing findings reused across a changed stretch of routes (routing/memo.py shadow_findings with
shadow.py ChangedStretch) equal a fresh analysis of the new routes."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meshctl.routing.memo import ShadowEntry, shadow_findings
from meshctl.routing.shadow import analyse_shadowing

from .helpers import build, gateway, leaf, vh_view, vhost
from .strategies import _conditions

# deeper and sibling paths beside the shared pools' short ones, so a changed stretch reaches some routes and not others
PATHS = ["/a", "/a/", "/a/b", "/ab", "/A/b", "/c/1", "/c/12", "/c/1/x", "/d", "/d/e", "/C/1", "/"]
REGEXES = ["/c/[0-9]+", "/a/.*", "/d|/e", "[a-z]+"]


@st.composite
def matcher(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["prefix", "prefix", "prefix", "exact", "exact", "regex", "suffix"]))
    if kind == "regex":
        uri: dict[str, Any] = {"regex": draw(st.sampled_from(REGEXES))}
    elif kind == "suffix":
        uri = {"suffix": draw(st.sampled_from([".css", "/1"]))}
    else:
        path = draw(st.sampled_from(PATHS[:-1] if draw(st.integers(0, 5)) else PATHS))  # "/" now and then
        uri = {kind: path, **({"ignoreCase": True} if draw(st.integers(0, 7)) == 0 else {})}
    return _conditions(draw, {"uri": uri})


ROUTES = st.lists(st.lists(matcher(), min_size=1, max_size=2), min_size=1, max_size=14)


def host(named: list[tuple[str, list[dict[str, Any]]]]) -> Any:
    return vh_view(build(gateway(), vhost([leaf(name, *matchers) for name, matchers in named])))


STRETCH = st.lists(st.lists(matcher(), min_size=1, max_size=2), max_size=4)


def changed(data: st.DataObject, routes: list[Any], inserted: list[Any], tag: str) -> list[Any]:
    """`routes` with a drawn stretch replaced by `inserted` (named after `tag`)."""
    start = data.draw(st.integers(0, len(routes)))
    stop = data.draw(st.integers(start, len(routes)))
    return routes[:start] + [(f"{tag}{i}", m) for i, m in enumerate(inserted)] + routes[stop:]


@settings(max_examples=300, deadline=None)
@given(routes=ROUTES, inserted=STRETCH, again=STRETCH, data=st.data())
def test_findings_after_a_changed_stretch_equal_a_fresh_analysis(routes: list[Any], inserted: list[Any],
                                                                  again: list[Any], data: st.DataObject) -> None:
    """Two changes in a row: the second reuses what the first analysis left (its findings, and its index of the
    routes before the stretch, built partly by each of the two earlier analyses)."""
    before = [(f"r{i}", m) for i, m in enumerate(routes)]
    after = changed(data, before, inserted, "n")
    last = changed(data, after, again, "m")
    memory: dict[Any, ShadowEntry] = {}
    stats: dict[str, int] = defaultdict(int)
    shadow_findings({}, memory, "vh", host(before), stats)
    for named in (after, last):
        view, kept = host(named), {}
        assert shadow_findings(memory, kept, "vh", view, stats) == analyse_shadowing(view)
        memory = kept


def test_routes_past_a_stretch_that_cannot_reach_them_are_not_analysed_again() -> None:
    tail = [(f"t{i}", [{"uri": {"prefix": f"/t{i}/"}}]) for i in range(50)]
    shadowed = ("late", [{"uri": {"prefix": "/t3/x"}}])  # shadowed by t3: its finding names positions
    before = [("a", [{"uri": {"prefix": "/a/"}}]), *tail, shadowed]
    after = [("a", [{"uri": {"prefix": "/a/"}}]), ("b", [{"uri": {"exact": "/b"}}]), *tail, shadowed]
    kept: dict[Any, ShadowEntry] = {}
    stats: dict[str, int] = defaultdict(int)
    shadow_findings({}, kept, "vh", host(before), stats)
    stats.clear()
    second = host(after)
    got = shadow_findings(kept, {}, "vh", second, stats)
    assert got == analyse_shadowing(second) and len(got) == 1 and "position 5" in got[0].message
    # only the new route: the one whose finding moved keeps it, its message naming the taker's new position
    assert stats["shadow_routes_analysed"] == 1


def test_a_stretch_at_the_end_indexes_only_itself() -> None:
    """The routes before a changed stretch stay indexed from the previous analysis (its index is truncated at the
    stretch, not built again), through two edits in a row."""
    tail = [(f"t{i}", [{"uri": {"prefix": f"/t{i}/"}}]) for i in range(50)]
    memory: dict[Any, ShadowEntry] = {}
    stats: dict[str, int] = defaultdict(int)
    shadow_findings({}, memory, "vh", host([*tail, ("x", [{"uri": {"prefix": "/x/"}}])]), stats)
    assert stats["shadow_routes_indexed"] == 51
    for last in (("y", [{"uri": {"prefix": "/t3/y"}}]), ("z", [{"uri": {"exact": "/t4/z"}}])):
        stats.clear()
        view, kept = host([*tail, last]), {}
        got = shadow_findings(memory, kept, "vh", view, stats)
        assert got == analyse_shadowing(view) and len(got) == 1 and last[0] in got[0].message
        assert stats["shadow_routes_analysed"] == 1 and stats["shadow_routes_indexed"] == 1
        memory = kept
