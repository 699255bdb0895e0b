"""A compiled first-match index over one virtual host's flattened routes (same answer as a scan, much faster).

Only the path condition is indexed: exact paths in a dict, prefixes (and the literal prefix of a regex) in a
dict walked by the request's prefix lengths, suffixes likewise from the end. Every route whose path could
match becomes a candidate; candidates are then checked in route order with the one matcher
(`routing.evaluate.first_failure`), so the lowest-indexed full match wins, exactly as Envoy's first match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..model.regex import literal_prefix
from ..routing.evaluate import Request, first_failure
from ..routing.matchers import EffectiveMatcher
from ..routing.types import FlattenedRoute


@dataclass(frozen=True)
class RouteHit:
    position: int  # index in the virtual host's route list
    matcher_index: int  # which of the route's (ORed) matchers took the request


def route_matcher_index(route: FlattenedRoute, req: Request) -> int | None:
    """Index of the first matcher of `route` that takes `req`; None when none does."""
    for i, m in enumerate(route.matchers):
        if first_failure(m, req) is None:
            return i
    return None


def scan_first_match(routes: Sequence[FlattenedRoute], req: Request) -> RouteHit | None:
    """The straightforward reading of first match: try every route in order."""
    for pos, route in enumerate(routes):
        mi = route_matcher_index(route, req)
        if mi is not None:
            return RouteHit(pos, mi)
    return None


class _PrefixTable:
    """Keys looked up by every prefix length of a string that some key has.

    `walk` maps every key cut at every key length (a "stem") to the positions of the routes whose key it is
    (empty for a stem that is no key), so one lookup per length both finds hits and tells when to stop."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[int]] = {}
        self.lengths: list[int] = []
        self.walk: dict[str, tuple[int, ...]] = {}

    def add(self, key: str, position: int) -> None:
        bucket = self.by_key.setdefault(key, [])
        if not bucket or bucket[-1] != position:
            bucket.append(position)

    def freeze(self, reverse: bool = False) -> None:
        self.lengths = sorted({len(k) for k in self.by_key})
        walk: dict[str, tuple[int, ...]] = {}
        for key in self.by_key:
            text = key[::-1] if reverse else key
            for length in self.lengths:
                if length > len(text):
                    break
                walk.setdefault(text[:length], ())
        for key, positions in self.by_key.items():
            walk[key[::-1] if reverse else key] = tuple(positions)
        self.walk = walk

    def prefixes_of(self, text: str, out: list[int]) -> None:
        get = self.walk.get
        n = len(text)
        for length in self.lengths:
            if length > n:
                break
            hit = get(text[:length])
            if hit is None:
                break  # no key starts with this, so no longer key can match either
            if hit:
                out.extend(hit)

    def suffixes_of(self, text: str, out: list[int]) -> None:
        """Like prefixes_of, from the end (the walk holds reversed keys)."""
        self.prefixes_of(text[::-1], out)


class RouteIndex:
    """First-match lookup for one virtual host's routes (in Envoy order)."""

    def __init__(self, routes: Sequence[FlattenedRoute]) -> None:
        self.routes = list(routes)
        self.exact: dict[str, list[int]] = {}
        self.exact_ci: dict[str, list[int]] = {}
        self.prefix = _PrefixTable()  # case-sensitive prefixes and regex literal prefixes
        self.prefix_ci = _PrefixTable()
        self.suffix = _PrefixTable()
        self.suffix_ci = _PrefixTable()
        self.always: list[int] = []
        for pos, route in enumerate(self.routes):
            for m in route.matchers:
                self._add(pos, m)
        for table in (self.prefix, self.prefix_ci):
            table.freeze()
        for table in (self.suffix, self.suffix_ci):
            table.freeze(reverse=True)
        self._has_exact_ci = bool(self.exact_ci)
        self._has_suffix = bool(self.suffix.by_key)
        self._has_suffix_ci = bool(self.suffix_ci.by_key)
        self._has_prefix_ci = bool(self.prefix_ci.by_key)

    def _add(self, pos: int, m: EffectiveMatcher) -> None:
        kind = m.path_kind
        if kind == "exact":
            table = self.exact_ci if m.ignore_case else self.exact
            key = m.path.lower() if m.ignore_case else m.path
            bucket = table.setdefault(key, [])
            if not bucket or bucket[-1] != pos:
                bucket.append(pos)
        elif kind == "prefix":
            if m.ignore_case:
                self.prefix_ci.add(m.path.lower(), pos)
            else:
                self.prefix.add(m.path, pos)
        elif kind == "suffix":
            if m.ignore_case:
                self.suffix_ci.add(m.path.lower(), pos)
            else:
                self.suffix.add(m.path, pos)
        else:  # regex: a full match needs the literal prefix at the start of the path
            lit = literal_prefix(m.path)
            if lit:
                self.prefix.add(lit, pos)
            elif not self.always or self.always[-1] != pos:
                self.always.append(pos)

    def candidates(self, req: Request) -> list[int]:
        """Positions of routes whose path condition may hold, ascending, without duplicates."""
        found: list[int] = []
        path_only = req.path_only
        hit = self.exact.get(path_only)
        if hit:
            found.extend(hit)
        self.prefix.prefixes_of(req.path, found)
        if self._has_exact_ci or self._has_prefix_ci or self._has_suffix_ci:
            lower_only = path_only.lower()
            if self._has_exact_ci:
                hit = self.exact_ci.get(lower_only)
                if hit:
                    found.extend(hit)
            if self._has_prefix_ci:
                self.prefix_ci.prefixes_of(req.path.lower(), found)
            if self._has_suffix_ci:
                self.suffix_ci.suffixes_of(lower_only, found)
        if self._has_suffix:
            self.suffix.suffixes_of(path_only, found)
        if self.always:
            found.extend(self.always)
        return sorted(set(found))

    def first_match(self, req: Request) -> RouteHit | None:
        routes = self.routes
        for pos in self.candidates(req):
            for i, m in enumerate(routes[pos].matchers):
                if first_failure(m, req) is None:
                    return RouteHit(pos, i)
        return None
