"""Effective (merged) matchers: what one flattened route really requires of a request, after delegation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..model.common import HttpMatcher

PathKind = Literal["prefix", "exact", "regex", "suffix"]

# ROUTE_SPECIFICITY rank: exact before regex before prefix. A suffix is a regex to Envoy, so it ranks with regex.
KIND_RANK: dict[str, int] = {"exact": 0, "regex": 1, "suffix": 1, "prefix": 2}

_RE2_META = set(".^$*+?()[]{}|\\")


def re2_escape(text: str) -> str:
    return "".join("\\" + c if c in _RE2_META else c for c in text)


def pinned_segment(path: object, case_sensitive: object = None) -> str | None:
    """The first path segment K every request matched by a prefix or exact `path` condition has, when the path is
    "/K/..." and matched case-sensitively; else None. Envoy's scoped routes key a request by `:path` split at "/",
    element 1 (the query string stays on the last element): "/K/x?q" keys K, while "/K" also takes "/K?q" and a
    prefix "/K" also takes "/Kx". The split that serves them (xds/route_scopes.py) and the reader that merges
    them back (envoyconfig/select.py) decide with this one function."""
    if case_sensitive is False or not isinstance(path, str) or not path.startswith("/"):
        return None
    segment, slash, _ = path[1:].partition("/")
    return segment if segment and slash else None


# Matchers are values (hashed, compared, never changed after creation) but not frozen: a frozen dataclass
# takes five times as long to create, and the engine creates two for every route of every virtual host.
@dataclass(unsafe_hash=True, slots=True)
class HeaderCondition:
    name: str  # lower-case: HTTP header names are case-insensitive
    value: str = ""  # empty: presence
    regex: bool = False
    invert: bool = False

    def describe(self) -> str:
        if not self.value:
            core = f"header {self.name} present"
            return f"header {self.name} absent" if self.invert else core
        op = "~" if self.regex else "="
        neg = "!" if self.invert else ""
        return f"header {self.name}{neg}{op}{self.value}"


@dataclass(unsafe_hash=True, slots=True)
class QueryCondition:
    name: str
    value: str = ""  # empty: presence
    regex: bool = False

    def describe(self) -> str:
        if not self.value:
            return f"query {self.name} present"
        return f"query {self.name}{'~' if self.regex else '='}{self.value}"


@dataclass(unsafe_hash=True, slots=True)
class EffectiveMatcher:
    path_kind: PathKind = "prefix"
    path: str = "/"
    ignore_case: bool = False
    headers: tuple[HeaderCondition, ...] = ()
    query: tuple[QueryCondition, ...] = ()
    method: str | None = None
    name: str = ""

    def describe(self) -> str:
        parts = [f"{self.path_kind} {self.path}" + (" (ignore case)" if self.ignore_case else "")]
        if self.method:
            parts.append(f"method {self.method}")
        parts.extend(h.describe() for h in self.headers)
        parts.extend(q.describe() for q in self.query)
        return ", ".join(parts)

    def specificity(self) -> tuple[int, int]:
        """Sort key: lower sorts first. Regexes compare equal to each other (our decision, from the v2 rule)."""
        rank = KIND_RANK[self.path_kind]
        length = 0 if self.path_kind in ("regex", "suffix") else len(self.path)
        return (rank, -length)

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {self.path_kind: self.path}
        if self.ignore_case:
            out["ignoreCase"] = True
        if self.method:
            out["method"] = self.method
        if self.headers:
            out["headers"] = [
                {"name": h.name, **({"value": h.value} if h.value else {}),
                 **({"regex": True} if h.regex else {}), **({"invertMatch": True} if h.invert else {})}
                for h in self.headers
            ]
        if self.query:
            out["queryParameters"] = [
                {"name": q.name, **({"value": q.value} if q.value else {}), **({"regex": True} if q.regex else {})}
                for q in self.query
            ]
        return out


ROOT = EffectiveMatcher()


@dataclass
class MergeResult:
    matcher: EffectiveMatcher | None  # None when the combination cannot be expressed
    problems: list[tuple[str, str]] = field(default_factory=list)  # (code, message): make the route invalid
    warnings: list[tuple[str, str]] = field(default_factory=list)


def join_paths(parent: str, child: str) -> str:
    """Drop one trailing '/' from the parent prefix, then append the child path (our decision, see docs)."""
    base = parent[:-1] if parent.endswith("/") else parent
    if not child:
        return parent
    if not child.startswith("/"):
        child = "/" + child
    return base + child


def own_matcher(m: HttpMatcher) -> EffectiveMatcher:
    """A route's matcher on its own (no parent): the kind written, or prefix "/" when no uri is given."""
    kind: PathKind = "prefix"
    path = "/"
    ignore_case = False
    uri = m.uri
    if uri is not None:
        ignore_case = uri.ignore_case
        if uri.exact is not None:
            kind, path = "exact", uri.exact
        elif uri.prefix is not None:
            kind, path = "prefix", uri.prefix
        elif uri.regex is not None:
            kind, path = "regex", uri.regex
        elif uri.suffix is not None:
            kind, path = "suffix", uri.suffix
    headers = tuple(HeaderCondition(h.name.lower(), h.value, h.regex, h.invert_match) for h in m.headers) \
        if m.headers else ()
    query = tuple(QueryCondition(q.name, q.value, q.regex) for q in m.query_parameters) \
        if m.query_parameters else ()
    return EffectiveMatcher(kind, path, ignore_case, headers, query, m.method.upper() or None, m.name)


def merge(parent: EffectiveMatcher, child: HttpMatcher | None, parent_is_root: bool) -> MergeResult:
    """The child's matcher placed under a delegating parent (a prefix): path joined, the rest AND-merged."""
    if child is None:
        return MergeResult(parent)
    own = own_matcher(child)
    result = MergeResult(None)
    if parent_is_root:
        path_kind, path, ignore_case = own.path_kind, own.path, own.ignore_case
    elif child.uri is None or not child.uri.kinds_set():
        path_kind, path, ignore_case = parent.path_kind, parent.path, parent.ignore_case
    else:
        if own.ignore_case != parent.ignore_case:
            result.warnings.append(("case-mismatch",
                                    f"ignoreCase differs from the delegating route ({parent.path}); "
                                    f"the child's setting ({str(own.ignore_case).lower()}) is used"))
        ignore_case = own.ignore_case
        path_kind = own.path_kind
        if own.path_kind in ("prefix", "exact"):
            path = join_paths(parent.path, own.path)
        elif own.path_kind == "regex":
            base = parent.path[:-1] if parent.path.endswith("/") else parent.path
            # grouped, so a top-level "|" in the child cannot escape the parent prefix
            path = re2_escape(base) + "(?:" + own.path + ")" if base else own.path
        else:  # suffix
            if parent.path not in ("", "/"):
                result.problems.append(("unsupported-combination",
                                        f"a suffix matcher ({own.path}) cannot be placed under the prefix "
                                        f"{parent.path} of its delegating route"))
                return result
            path = own.path

    if not (own.headers or own.query or own.method):  # the common child: only a path
        result.matcher = EffectiveMatcher(path_kind, path, ignore_case, parent.headers, parent.query,
                                          parent.method, own.name or parent.name)
        return result
    headers = list(parent.headers)
    for h in own.headers:
        for p in parent.headers:
            if p.name == h.name and _headers_contradict(p, h):
                result.problems.append(("matcher-conflict",
                                        f"{h.describe()} contradicts the delegating route's {p.describe()}"))
        if h not in headers:
            headers.append(h)
    query = list(parent.query)
    for q in own.query:
        for pq in parent.query:
            if pq.name == q.name and not pq.regex and not q.regex and pq.value and q.value and pq.value != q.value:
                result.problems.append(("matcher-conflict",
                                        f"{q.describe()} contradicts the delegating route's {pq.describe()}"))
        if q not in query:
            query.append(q)
    method = parent.method
    if own.method:
        if parent.method and parent.method != own.method:
            result.problems.append(("matcher-conflict",
                                    f"method {own.method} contradicts the delegating route's method {parent.method}"))
        method = own.method
    if result.problems:
        return result
    result.matcher = EffectiveMatcher(path_kind, path, ignore_case, tuple(headers), tuple(query), method,
                                      own.name or parent.name)
    return result


def _headers_contradict(a: HeaderCondition, b: HeaderCondition) -> bool:
    """True only when no request can satisfy both (we are sure), e.g. x=1 and x=2, or present and absent."""
    if a.invert == b.invert == False:  # noqa: E712
        return bool(a.value and b.value and not a.regex and not b.regex and a.value != b.value)
    if a.invert != b.invert:
        pos, neg = (a, b) if not a.invert else (b, a)
        if not neg.value:  # header must be absent
            return True
        return bool(pos.value and not pos.regex and not neg.regex and pos.value == neg.value)
    # both inverted: "absent" and "not this value" (which, in Envoy, needs the header present)
    return bool(a.value) != bool(b.value)
