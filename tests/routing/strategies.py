"""Hypothesis strategies for random route trees: one VirtualHost, RouteTables in three levels, delegation by refs and
selectors, weights, both sort methods, mixed matchers, and now and then a cycle, a dangling ref or a conflict."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .helpers import GLOO, gateway

PREFIXES = ["/", "/a", "/a/", "/a/b", "/ab", "/b", "/A"]
EXACTS = ["/", "/a", "/a/b", "/ab", "/b/1", "/a/b/c"]
REGEXES = ["/a/[0-9]+", "/b.*", "/(a|b)/x", "/a|/b", "/[a-z]+", "/a/b/c"]
HEADERS: list[dict[str, Any]] = [
    {"name": "x-a", "value": "1"}, {"name": "x-a", "value": "2"}, {"name": "x-a"},
    {"name": "x-a", "invertMatch": True}, {"name": "x-a", "value": "1", "invertMatch": True},
    {"name": "x-b", "value": "1|2", "regex": True}, {"name": "X-B", "value": "2"},
]
QUERIES: list[dict[str, Any]] = [{"name": "q", "value": "1"}, {"name": "q", "value": "2"}, {"name": "q"},
                                 {"name": "q", "value": "[0-9]", "regex": True}]
WEIGHTS = [None, 0, 0, 5, 10, -1]
TABLES_PER_LEVEL = 2  # three levels below the VirtualHost: at most 6 tables


def _conditions(draw: st.DrawFn, m: dict[str, Any]) -> dict[str, Any]:
    if draw(st.integers(0, 3)) == 0:
        m["method"] = draw(st.sampled_from(["GET", "POST"]))
    if draw(st.integers(0, 3)) == 0:
        m["headers"] = draw(st.lists(st.sampled_from(HEADERS), min_size=1, max_size=2))
    if draw(st.integers(0, 4)) == 0:
        m["queryParameters"] = [draw(st.sampled_from(QUERIES))]
    return m


@st.composite
def leaf_matcher(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["prefix", "prefix", "exact", "exact", "regex", "suffix", "none"]))
    m: dict[str, Any] = {}
    if kind == "prefix":
        m["uri"] = {"prefix": draw(st.sampled_from(PREFIXES))}
    elif kind == "exact":
        m["uri"] = {"exact": draw(st.sampled_from(EXACTS))}
    elif kind == "regex":
        m["uri"] = {"regex": draw(st.sampled_from(REGEXES))}
    elif kind == "suffix":
        m["uri"] = {"suffix": ".css"}
    if "uri" in m and kind in ("prefix", "exact") and draw(st.integers(0, 9)) == 0:
        m["uri"]["ignoreCase"] = True
    return _conditions(draw, m)


@st.composite
def delegate_matcher(draw: st.DrawFn) -> dict[str, Any]:
    # now and then not a prefix: such a delegating route is invalid
    uri = {"prefix": draw(st.sampled_from(PREFIXES))} if draw(st.integers(0, 9)) else {"exact": "/a"}
    return _conditions(draw, {"uri": uri})


@st.composite
def route(draw: st.DrawFn, index: int, level: int, targets: list[str], all_tables: list[str]) -> dict[str, Any]:
    """A leaf, or (when `targets`, the tables of the next level, is not empty) sometimes a delegate to them."""
    name = draw(st.sampled_from([f"r{index}", f"r{index}", f"r{index}", "dup", ""]))
    r: dict[str, Any] = {"name": name} if name else {}
    if targets and draw(st.booleans()):
        r["matchers"] = draw(st.lists(delegate_matcher(), min_size=0, max_size=2))
        pool = targets + ["ns/missing"] + (all_tables if draw(st.integers(0, 5)) == 0 else [])  # back refs: cycles
        action: dict[str, Any] = {}
        refs = draw(st.lists(st.sampled_from(pool), max_size=2))
        if refs:
            # the namespace is sometimes left out: it then defaults to the delegating resource's
            action["refs"] = [{"name": t.split("/")[1]} if draw(st.integers(0, 3)) == 0
                              else {"name": t.split("/")[1], "namespace": t.split("/")[0]} for t in refs]
        if not refs or draw(st.integers(0, 3)) == 0:
            lvl = str(level + 1)
            action["selector"] = draw(st.sampled_from([
                {"labels": {"lvl": lvl}}, {"labels": {"lvl": lvl, "grp": "a"}},
                {"namespaces": ["*"], "labels": {"lvl": lvl}},
                {"expressions": [{"key": "lvl", "operator": "In", "values": [lvl]},
                                 {"key": "grp", "operator": "NotIn", "values": ["a"]}]},
                {},  # every table of the namespace, ancestors included: another way to a cycle
            ]))
        sort = draw(st.sampled_from([None, "TABLE_WEIGHT", "ROUTE_SPECIFICITY"]))
        if sort:
            action["sortMethod"] = sort
        r["delegateAction"] = action
    else:
        r["matchers"] = draw(st.lists(leaf_matcher(), min_size=0, max_size=2))
        r["directResponseAction"] = {"status": 200, "body": f"body-{index}"}
    if draw(st.integers(0, 5)) == 0:
        r["options"] = {"requestTimeout": draw(st.sampled_from(["1s", "2s"]))}
    return r


@st.composite
def route_trees(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Documents: a gateway, one VirtualHost ns/vh and up to six RouteTables in three levels."""
    levels: list[list[str]] = []
    for level in range(3):
        count = draw(st.integers(1 if level < 2 else 0, TABLES_PER_LEVEL))
        levels.append([f"{'other' if draw(st.integers(0, 5)) == 0 else 'ns'}/l{level}t{i}" for i in range(count)])
    all_tables = [t for lvl in levels for t in lvl]
    counter = iter(range(10_000))
    docs: list[dict[str, Any]] = [gateway()]
    vh_routes = [draw(route(next(counter), 0, levels[0], all_tables)) for _ in range(draw(st.integers(1, 5)))]
    vh: dict[str, Any] = {"apiVersion": GLOO, "kind": "VirtualHost", "metadata": {"name": "vh", "namespace": "ns"},
                          "spec": {"domains": ["vh.example.com"], "routes": vh_routes}}
    policy = draw(st.sampled_from([None, {"drop": {}}, {"drop": {}}, {"directResponse": {"code": 418}}]))
    if policy is not None:
        vh["spec"]["options"] = {"invalidRoutePolicy": policy}
    if draw(st.integers(0, 4)) == 0:
        vh["spec"].setdefault("options", {})["trafficPolicy"] = {"requestTimeout": "9s"}
    docs.append(vh)
    for level, names in enumerate(levels):
        below = levels[level + 1] if level + 1 < len(levels) else []
        for full in names:
            ns, name = full.split("/")
            routes = [draw(route(next(counter), level + 1, below, all_tables)) for _ in range(draw(st.integers(0, 4)))]
            spec: dict[str, Any] = {"routes": routes}
            weight = draw(st.sampled_from(WEIGHTS))
            if weight is not None:
                spec["weight"] = weight
            labels = {"lvl": str(level + 1)}
            if draw(st.booleans()):
                labels["grp"] = draw(st.sampled_from(["a", "b"]))
            meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": labels}
            docs.append({"apiVersion": GLOO, "kind": "RouteTable", "metadata": meta, "spec": spec})
    return docs
