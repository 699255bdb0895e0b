"""A deliberately plain re-statement of the flattening rules (docs/route-semantics.md) over raw YAML dicts.

The property tests compare the engine with it: same route ids, same order, same effective paths, same validity.
It covers what the random trees use: one gateway selecting ns/vh, refs and selectors, weights, both sort methods,
cycles, dangling refs, matcher joins, AND-merged conditions and the contradictions the semantics name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KIND_ORDER = {"exact": 0, "regex": 1, "suffix": 1, "prefix": 2}


@dataclass(frozen=True)
class RefMatcher:
    kind: str
    path: str
    method: str | None
    headers: tuple[tuple[str, str, bool, bool], ...]  # (lower name, value, regex, invert)
    query: tuple[tuple[str, str, bool], ...]
    ignore_case: bool = False


@dataclass
class RefRoute:
    id: str
    matchers: list[RefMatcher]
    valid: bool


ROOT = RefMatcher("prefix", "/", None, (), ())


def _escape(text: str) -> str:
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in text)


def _own(m: dict[str, Any]) -> RefMatcher:
    uri = m.get("uri") or {}
    kind, path = next(((k, uri[k]) for k in ("exact", "prefix", "regex", "suffix") if k in uri), ("prefix", "/"))
    headers = tuple((h["name"].lower(), h.get("value", ""), bool(h.get("regex")), bool(h.get("invertMatch")))
                    for h in m.get("headers", []))
    query = tuple((q["name"], q.get("value", ""), bool(q.get("regex"))) for q in m.get("queryParameters", []))
    return RefMatcher(kind, path, (m.get("method") or "").upper() or None, headers, query,
                      bool(uri.get("ignoreCase")))


def _contradict(a: tuple[str, str, bool, bool], b: tuple[str, str, bool, bool]) -> bool:
    if a[0] != b[0]:
        return False
    if not a[3] and not b[3]:  # both must equal a literal value
        return bool(a[1] and b[1] and not a[2] and not b[2] and a[1] != b[1])
    if a[3] != b[3]:
        pos, neg = (a, b) if b[3] else (b, a)
        if not neg[1]:  # must be absent
            return True
        return bool(pos[1] and not pos[2] and not neg[2] and pos[1] == neg[1])
    return bool(a[1]) != bool(b[1])  # absent, and "not this value" (which needs the header present)


def merge(parent: RefMatcher, child: dict[str, Any] | None, at_root: bool) -> RefMatcher | None:
    """None when the combination is impossible or unsupported (the route is then invalid)."""
    if child is None:
        return parent
    own = _own(child)
    has_path = bool(child.get("uri")) and any(k in child["uri"] for k in ("exact", "prefix", "regex", "suffix"))
    ignore_case = own.ignore_case
    if at_root:
        kind, path = own.kind, own.path
    elif not has_path:
        kind, path, ignore_case = parent.kind, parent.path, parent.ignore_case
    else:
        base = parent.path[:-1] if parent.path.endswith("/") else parent.path
        kind = own.kind
        child_path = own.path if own.path.startswith("/") or kind in ("regex", "suffix") else "/" + own.path
        if kind in ("prefix", "exact"):
            path = base + child_path
        elif kind == "regex":
            path = f"{_escape(base)}(?:{own.path})" if base else own.path
        elif parent.path in ("", "/"):
            path = own.path
        else:
            return None  # suffix under a prefix: unsupported
    for h in own.headers:
        if any(_contradict(p, h) for p in parent.headers):
            return None
    for q in own.query:
        if any(p[0] == q[0] and p[1] and q[1] and not p[2] and not q[2] and p[1] != q[1] for p in parent.query):
            return None
    if own.method and parent.method and own.method != parent.method:
        return None
    headers = parent.headers + tuple(h for i, h in enumerate(own.headers)
                                     if h not in parent.headers and h not in own.headers[:i])
    query = parent.query + tuple(q for i, q in enumerate(own.query) if q not in parent.query and q not in own.query[:i])
    return RefMatcher(kind, path, own.method or parent.method, headers, query, ignore_case)


def specificity(r: RefRoute) -> tuple[int, int]:
    if not r.matchers:
        return (9, 0)
    return min((KIND_ORDER[m.kind], 0 if m.kind in ("regex", "suffix") else -len(m.path)) for m in r.matchers)


def _selected(selector: dict[str, Any], owner_ns: str, table: dict[str, Any]) -> bool:
    meta = table["metadata"]
    labels = meta.get("labels", {})
    namespaces = selector.get("namespaces") or [owner_ns]
    if "*" not in namespaces and meta["namespace"] not in namespaces:
        return False
    if any(labels.get(k) != v for k, v in selector.get("labels", {}).items()):
        return False
    for e in selector.get("expressions", []):
        value = labels.get(e["key"])
        if e["operator"] == "In" and value not in e["values"]:
            return False
        if e["operator"] == "NotIn" and value in e["values"]:
            return False
    return True


class Reference:
    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.tables = {(d["metadata"]["namespace"], d["metadata"]["name"]): d for d in docs if d["kind"] == "RouteTable"}
        self.vh = next(d for d in docs if d["kind"] == "VirtualHost")

    def _link(self, kind: str, ns: str, name: str, routes: list[dict[str, Any]], i: int) -> str:
        rname = routes[i].get("name", "")
        names = [r.get("name", "") for r in routes]
        base = f"{kind}/{ns}/{name}#{rname or i}"
        if rname and (names.count(rname) > 1 or rname.isdigit() or "@" in rname):
            return f"{base}@{i}"
        return base

    def flatten(self) -> list[RefRoute]:
        """All routes of ns/vh in Envoy order, before the invalid-route policy is applied."""
        routes = self.vh["spec"].get("routes", [])
        out: list[RefRoute] = []
        for i, r in enumerate(routes):
            link = self._link("VirtualHost", "ns", "vh", routes, i)
            out += self._expand(r, [link], [ROOT], True, None, (("VirtualHost", "ns", "vh"),), "ns")
        return out

    def _expand(self, route: dict[str, Any], chain: list[str], parents: list[RefMatcher], at_root: bool,
                active_sort: str | None, visiting: tuple[tuple[str, str, str], ...], owner_ns: str) -> list[RefRoute]:
        matchers: list[RefMatcher] = []
        valid = True
        for pm in parents:
            for cm in route.get("matchers") or [None]:
                m = merge(pm, cm, at_root)
                if m is None:
                    valid = False
                elif m not in matchers:
                    matchers.append(m)
        delegate = route.get("delegateAction")
        if delegate is not None and valid and all(m.kind == "prefix" for m in matchers):
            return self._delegate(delegate, chain, matchers, active_sort, visiting, owner_ns)
        if delegate is not None:
            valid = False  # a delegating route must match a prefix
        return [RefRoute(" > ".join(chain), matchers, valid)]

    def _delegate(self, delegate: dict[str, Any], chain: list[str], matchers: list[RefMatcher],
                  active_sort: str | None, visiting: tuple[tuple[str, str, str], ...], owner_ns: str) -> list[RefRoute]:
        picked: list[tuple[str, str]] = []
        for ref in delegate.get("refs", []):
            key = (ref.get("namespace") or owner_ns, ref["name"])
            if key in self.tables and key not in picked:
                picked.append(key)
        if "selector" in delegate:
            hits = sorted(k for k, t in self.tables.items() if _selected(delegate["selector"], owner_ns, t))
            picked += [k for k in hits if k not in picked]
        picked.sort(key=lambda k: -(self.tables[k]["spec"].get("weight") or 0))
        sort = active_sort or delegate.get("sortMethod", "TABLE_WEIGHT")
        out: list[RefRoute] = []
        for ns, name in picked:
            if ("RouteTable", ns, name) in visiting:
                continue  # cycle
            routes = self.tables[(ns, name)]["spec"].get("routes", [])
            for i, r in enumerate(routes):
                link = self._link("RouteTable", ns, name, routes, i)
                out += self._expand(r, chain + [link], matchers, False, sort, visiting + (("RouteTable", ns, name),), ns)
        if active_sort is None and sort == "ROUTE_SPECIFICITY":
            out.sort(key=specificity)
        return out


def served(all_routes: list[RefRoute], policy: dict[str, Any] | None) -> list[RefRoute]:
    """The routes Envoy gets under the virtual host's invalidRoutePolicy."""
    if all(r.valid for r in all_routes):
        return all_routes
    if policy is None:
        return []
    if "directResponse" in policy:
        return [r for r in all_routes if r.valid or r.matchers]
    return [r for r in all_routes if r.valid]


def engine_matcher(m: Any) -> RefMatcher:
    """An engine EffectiveMatcher in the reference's terms."""
    return RefMatcher(m.path_kind, m.path, m.method, tuple((h.name, h.value, h.regex, h.invert) for h in m.headers),
                      tuple((q.name, q.value, q.regex) for q in m.query), m.ignore_case)

