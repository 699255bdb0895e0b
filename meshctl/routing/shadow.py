"""Shadowed routes: an earlier route takes every request a later one wants; proven, with a witness request.

Only provable claims are made. Coverage is decided exactly for exact / prefix / suffix / method / header / query
conditions; for regexes we claim coverage only when an exact path is tested against a regex, and otherwise report
a partial overlap just when we hold a request that proves it. Every witness is checked with the same evaluator the
sandbox uses. Candidate earlier routes are found through indexes keyed by path prefix, not by comparing all pairs.
"""

from __future__ import annotations

import dataclasses

# Python's own regex parser (there since 3.11), used only to build example strings; RE2 then verifies them
import re._parser as _sre_parse
from collections import defaultdict
from itertools import repeat
from operator import and_, attrgetter, eq, itemgetter, not_, or_
from re._constants import (
    ANY,
    AT,
    BRANCH,
    CATEGORY,
    CATEGORY_DIGIT,
    CATEGORY_SPACE,
    CATEGORY_WORD,
    IN,
    LITERAL,
    MAX_REPEAT,
    MIN_REPEAT,
    NEGATE,
    NOT_LITERAL,
    RANGE,
    SUBPATTERN,
)
from typing import Any, Collection, Iterable, Iterator, Sequence

from ..model.findings import Finding, Severity, format_path
from ..model.regex import compile_re2, literal_prefix
from .evaluate import Request, first_failure
from .matchers import EffectiveMatcher, HeaderCondition, QueryCondition
from .types import FlattenedRoute, VirtualHostView


def _caseless(text: str) -> bool:
    return text.lower() == text.upper()


# --- coverage: does `a` take every request `b` takes? -------------------------------------------

def _literal_covered(a: EffectiveMatcher, b_path: str, b_ignore_case: bool, b_is_prefix: bool) -> bool:
    if a.path_kind == "prefix":
        if a.path in ("", "/"):
            return True
        if a.ignore_case:
            return b_path.lower().startswith(a.path.lower())
        if b_ignore_case and not _caseless(a.path):
            return False
        return (b_path.lower() if b_ignore_case else b_path).startswith(a.path.lower() if b_ignore_case else a.path)
    if b_is_prefix:
        return False  # an exact / regex / suffix matcher never takes every path below a prefix
    if a.path_kind == "exact":
        if a.ignore_case:
            return b_path.lower() == a.path.lower()
        return b_path == a.path and (not b_ignore_case or _caseless(b_path))
    if a.path_kind == "regex":
        if b_ignore_case and not _caseless(b_path):
            return False
        return compile_re2(a.path).fullmatch(b_path) is not None
    # suffix
    if a.ignore_case:
        return b_path.lower().endswith(a.path.lower())
    return b_path.endswith(a.path) and (not b_ignore_case or _caseless(b_path))


def path_covers(a: EffectiveMatcher, b: EffectiveMatcher) -> bool:
    if a.path_kind == "prefix" and a.path in ("", "/"):
        return True
    if b.path_kind in ("exact", "prefix"):
        return _literal_covered(a, b.path, b.ignore_case, b.path_kind == "prefix")
    if b.path_kind == "suffix" and a.path_kind == "suffix":
        if a.ignore_case:
            return b.path.lower().endswith(a.path.lower())
        return b.path.endswith(a.path) and (not b.ignore_case or _caseless(b.path))
    if b.path_kind == "regex" and a.path_kind == "regex":
        return a.path == b.path
    return False


def _header_implies(hb: HeaderCondition, ha: HeaderCondition) -> bool:
    """Every request satisfying hb satisfies ha (same header)."""
    if hb == ha:
        return True
    b_absent = hb.invert and not hb.value
    b_exact = not hb.invert and hb.value and not hb.regex
    if not ha.invert:
        if not ha.value:  # presence: implied by every condition but "absent" (a value match needs the header)
            return not (hb.invert and not hb.value)
        if b_exact:
            return compile_re2(ha.value).fullmatch(hb.value) is not None if ha.regex else hb.value == ha.value
        return False
    if not ha.value:
        return b_absent
    if b_absent:
        return False  # Envoy fails an inverted value match on a missing header
    if b_exact:
        if ha.regex:
            return compile_re2(ha.value).fullmatch(hb.value) is None
        return hb.value != ha.value
    return False


def _query_implies(qb: QueryCondition, qa: QueryCondition) -> bool:
    if qb == qa or not qa.value:
        return qb.name == qa.name
    if qb.value and not qb.regex:
        return compile_re2(qa.value).fullmatch(qb.value) is not None if qa.regex else qb.value == qa.value
    return False


def conditions_cover(a: EffectiveMatcher, b: EffectiveMatcher) -> bool:
    if a.method and a.method != b.method:
        return False
    for ha in a.headers:
        if not any(hb.name == ha.name and _header_implies(hb, ha) for hb in b.headers):
            if ha.invert and ha.value and not any(hb.name == ha.name for hb in b.headers):
                return False
            return False
    for qa in a.query:
        if not any(qb.name == qa.name and _query_implies(qb, qa) for qb in b.query):
            return False
    return True


def covers(a: EffectiveMatcher, b: EffectiveMatcher) -> bool:
    try:
        return path_covers(a, b) and conditions_cover(a, b)
    except ValueError:  # an invalid regex proves nothing
        return False


# --- witnesses ---------------------------------------------------------------------------------

def example_for_regex(pattern: str) -> str | None:
    """A short string RE2 fully matches with `pattern`, or None when we cannot build one."""
    try:
        parsed = _sre_parse.parse(pattern)
        text = _generate(parsed)
        return text if compile_re2(pattern).fullmatch(text) is not None else None
    except Exception:
        return None


def _generate(items: Any) -> str:
    """One string the parsed regex (sre's opcode list) matches."""
    out = []
    for op, arg in items:
        if op is LITERAL:
            out.append(chr(arg))
        elif op is NOT_LITERAL:
            out.append("a" if arg != ord("a") else "b")
        elif op is ANY:
            out.append("a")
        elif op is IN:
            out.append(_pick_in(arg))
        elif op in (MAX_REPEAT, MIN_REPEAT):
            low, _high, sub = arg
            out.append(_generate(sub) * max(low, 0))
        elif op is SUBPATTERN:
            out.append(_generate(arg[-1]))
        elif op is BRANCH:
            out.append(_generate(arg[1][0]))
        elif op is AT:
            continue
        elif op is CATEGORY:
            out.append(_category(arg))
        else:
            raise ValueError(f"unsupported regex construct {op}")
    return "".join(out)


def _category(cat: Any) -> str:
    return {CATEGORY_DIGIT: "0", CATEGORY_WORD: "a", CATEGORY_SPACE: " "}.get(cat, "a")


def _pick_in(items: list[tuple[Any, Any]]) -> str:
    if items and items[0][0] is NEGATE:
        banned = {chr(a) for op, a in items[1:] if op is LITERAL}
        for c in "azAZ09_-":
            if c not in banned:
                return c
        return "~"
    op, arg = items[0]
    if op is LITERAL:
        return chr(arg)
    if op is RANGE:
        return chr(arg[0])
    if op is CATEGORY:
        return _category(arg)
    raise ValueError("unsupported character class")


def _value_avoiding(h: HeaderCondition) -> str | None:
    """A header value an inverted condition accepts (one that is not its value / does not match its regex)."""
    for candidate in ("0", "1", "x", "meshctl-other"):
        try:
            hit = compile_re2(h.value).fullmatch(candidate) is not None if h.regex else candidate == h.value
        except ValueError:
            return None
        if not hit:
            return candidate
    return None


def witness_for(m: EffectiveMatcher, authority: str = "") -> Request | None:
    """A request `m` takes, built from its own conditions and checked with the evaluator."""
    if m.path_kind in ("exact", "prefix"):
        path = m.path or "/"
    elif m.path_kind == "suffix":
        path = m.path if m.path.startswith("/") else "/x" + m.path
    else:
        generated = example_for_regex(m.path)
        if generated is None:
            return None
        path = generated
    headers: dict[str, str] = {}
    for h in m.headers:
        if h.invert:
            if h.value:  # "not this value": Envoy wants the header present with another value
                other = _value_avoiding(h)
                if other is None:
                    return None
                headers[h.name] = other
            continue  # "absent": leave it out
        if not h.value:
            headers[h.name] = "1"
        elif h.regex:
            value = example_for_regex(h.value)
            if value is None:
                return None
            headers[h.name] = value
        else:
            headers[h.name] = h.value
    params: list[str] = []
    for q in m.query:
        if not q.value:
            params.append(f"{q.name}=1")
        elif q.regex:
            value = example_for_regex(q.value)
            if value is None:
                return None
            params.append(f"{q.name}={value}")
        else:
            params.append(f"{q.name}={q.value}")
    if params:
        if m.path_kind == "prefix" and "?" in path:
            return None
        path = path + "?" + "&".join(params)
    req = Request(method=m.method or "GET", authority=authority, path=path, headers=headers)
    return req if first_failure(m, req) is None else None


def _with_conditions_of(req: Request, a: EffectiveMatcher) -> Request | None:
    """`req` extended with `a`'s method/header/query conditions (for a partial-overlap witness)."""
    headers = dict(req.headers)
    method = req.method
    if a.method:
        method = a.method
    for h in a.headers:
        if h.invert:
            if h.value and h.name not in headers:
                other = _value_avoiding(h)
                if other is None:
                    return None
                headers[h.name] = other
            continue
        if h.name not in headers:
            value = "1" if not h.value else (example_for_regex(h.value) if h.regex else h.value)
            if value is None:
                return None
            headers[h.name] = value
    path = req.path
    extra = []
    for q in a.query:
        if q.name not in req.query:
            value = "1" if not q.value else (example_for_regex(q.value) if q.regex else q.value)
            if value is None:
                return None
            extra.append(f"{q.name}={value}")
    if extra:
        path += ("&" if "?" in path else "?") + "&".join(extra)
    return Request(method=method, authority=req.authority, path=path, headers=headers, scheme=req.scheme)


def describe_witness(req: Request) -> str:
    text = f"{req.method} {req.path}"
    for k, v in req.headers.items():
        text += f" -H '{k}: {v}'"
    return text


# --- the analysis ------------------------------------------------------------------------------

class EarlierIndex:
    """Matchers of the routes seen so far, indexed by the literal paths they can cover.

    It covers the routes at positions below `upto` of `routes`. An incremental rebuild whose routes are alike up to
    some position (in id, name and matchers) keeps the previous build's index and `truncate`s it there instead of
    indexing every earlier route again: every entry is appended in position order, and the log of the lists they
    went to lets the later ones be taken off from the end."""

    def __init__(self) -> None:
        self.prefix: dict[str, list[tuple[int, EffectiveMatcher]]] = defaultdict(list)
        self.prefix_ci: dict[str, list[tuple[int, EffectiveMatcher]]] = defaultdict(list)
        self.exact: dict[str, list[tuple[int, EffectiveMatcher]]] = defaultdict(list)
        self.regex_by_literal: dict[str, list[tuple[int, EffectiveMatcher]]] = defaultdict(list)
        self.regex_same: dict[str, list[tuple[int, EffectiveMatcher]]] = defaultdict(list)
        self.suffix: list[tuple[int, EffectiveMatcher]] = []
        self._log: list[list[tuple[int, EffectiveMatcher]]] = []  # the list each entry went to, in order
        self.routes: Sequence[FlattenedRoute] = ()  # the route list it was built from
        self.upto = 0

    def add(self, index: int, m: EffectiveMatcher) -> None:
        entry = (index, m)
        if m.path_kind == "prefix":
            bucket = self.prefix_ci[m.path.lower()] if m.ignore_case else self.prefix[m.path]
        elif m.path_kind == "exact":
            bucket = self.exact[m.path.lower()]
        elif m.path_kind == "regex":
            bucket = self.regex_by_literal[literal_prefix(m.path)]
            bucket.append(entry)
            self._log.append(bucket)
            bucket = self.regex_same[m.path]
        else:
            bucket = self.suffix
        bucket.append(entry)
        self._log.append(bucket)

    def truncate(self, position: int) -> None:
        """Forget the routes at `position` and later."""
        log = self._log
        while log and log[-1][-1][0] >= position:
            log.pop().pop()
        self.upto = min(self.upto, position)

    def candidates(self, m: EffectiveMatcher) -> Iterator[tuple[int, EffectiveMatcher]]:
        yield from self.prefix.get("", ())
        yield from self.prefix.get("/", ())
        yield from self.prefix_ci.get("", ())
        yield from self.prefix_ci.get("/", ())
        if m.path_kind in ("exact", "prefix"):
            s = m.path
            low = s.lower()
            for k in range(1, len(s) + 1):
                if k > 1:
                    yield from self.prefix.get(s[:k], ())
                    yield from self.prefix_ci.get(low[:k], ())
                if m.path_kind == "exact" or True:
                    yield from self.regex_by_literal.get(s[:k], ())
            yield from self.regex_by_literal.get("", ())
            if m.path_kind == "exact":
                yield from self.exact.get(low, ())
                yield from self.suffix
        elif m.path_kind == "suffix":
            yield from self.suffix
        else:
            yield from self.regex_same.get(m.path, ())
            yield from self.regex_by_literal.get(literal_prefix(m.path), ())


    def first_taker(self, routes: list[FlattenedRoute], req: Request | None) -> int | None:
        """The earliest route seen so far that takes `req`, evaluating only routes that could take its path.

        A prefix is matched against the whole :path (query included), the other kinds against the path alone;
        probing the index with both as exact paths yields every route whose path condition can hold.
        """
        if req is None:
            return None
        found = {i for i, _ in self.candidates(EffectiveMatcher("exact", req.path))}
        if req.path_only != req.path:
            found.update(i for i, _ in self.candidates(EffectiveMatcher("exact", req.path_only)))
        for i in sorted(found):
            if any(first_failure(m, req) is None for m in routes[i].matchers):
                return i
        return None


def analyse_shadowing(view: VirtualHostView) -> list[Finding]:
    """Shadowed (warning) and partially shadowed (info) routes of one virtual host, each with a witness."""
    return [finding for _, finding in analyse_shadowing_from(view, 0)]


def analyse_shadowing_from(view: VirtualHostView, start: int, only: Collection[int] | None = None,
                           index: EarlierIndex | None = None) -> list[tuple[int, Finding]]:
    """The findings of routes at `start` and later (of those at the positions `only` names, if given), with the
    position of the route each is about.

    A route's finding depends only on it and the routes before it, so an incremental rebuild whose routes are
    unchanged up to `start` keeps the earlier findings and analyses from there on; after a changed stretch, only
    the routes it can reach (`ChangedStretch`) need analysing again, and no route after the last of them needs
    indexing. `index`: one covering routes alike to these below its `upto` (at most `start`), extended here in
    place (it then covers the routes up to the last one analysed)."""
    findings: list[tuple[int, Finding]] = []
    routes = view.routes
    if index is None:
        index = EarlierIndex()
    assert index.upto <= start, (index.upto, start)
    authority = next((d for d in view.domains if "*" not in d), "example.com")
    last = len(routes) - 1 if only is None else max(only, default=-1)
    for bi in range(index.upto, last + 1):
        b = routes[bi]
        if b.matchers and bi > 0 and bi >= start and (only is None or bi in only):
            finding = _analyse_one(view, routes, bi, b, index, authority)
            if finding is not None:
                findings.append((bi, finding))
        for m in b.matchers:
            index.add(bi, m)
    index.upto = max(index.upto, last + 1)
    return findings


_MATCHERS = attrgetter("matchers")
_FIRST = itemgetter(0)
_KIND = attrgetter("path_kind")
_PATH = attrgetter("path")


class ChangedStretch:
    """The routes of a changed stretch (those removed and those added), as later routes' analyses can see them.

    `EarlierIndex.candidates` yields an earlier route to a later one only through its path: a prefix or an exact
    path, or a regex's literal prefix, that starts the later route's path (or its witness request's path, which
    extends it); a suffix to every exact path; "" and "/" prefixes to everything. A later route none of the
    stretch's paths can reach that way sees exactly the candidates it saw before the change (shifted in position),
    so its analysis gives what it gave. Cases are folded here, which can only reach more."""

    def __init__(self, routes: Iterable[FlattenedRoute]) -> None:
        self.everything = False
        self.suffix = False
        starts: set[str] = set()  # prefixes and regex literal prefixes: they reach the paths they start
        exact: set[str] = set()  # exact paths: they reach the paths that start them (through a witness)
        for route in routes:
            for m in route.matchers:
                if m.path_kind == "exact":
                    exact.add(m.path.lower())
                    continue
                if m.path_kind == "suffix":
                    self.suffix = True
                    continue
                key = (m.path if m.path_kind == "prefix" else literal_prefix(m.path)).lower()
                if key in ("", "/"):
                    self.everything = True
                starts.add(key)
        self._starts = starts
        self._lengths = sorted({len(k) for k in starts})
        # every beginning of a changed path: a route whose path is one of them may have its witness reached
        self._beginnings = {key[:n] for key in starts | exact for n in range(len(key) + 1)}
        # the kinds whose reach is decided by their path ("exact" routes see every suffix route as a candidate)
        self._by_path = frozenset({"prefix"} if self.suffix else {"prefix", "exact"})

    def reached(self, routes: Sequence[FlattenedRoute]) -> list[bool]:
        """For each route, whether the stretch can reach it. Done column by column in C (map over the routes),
        as this runs over every route after an edit: a route with one prefix or exact matcher is reached when a
        changed path starts its path or its path starts a changed one; any other route counts as reached."""
        if self.everything:
            return [True] * len(routes)
        matchers = list(map(_MATCHERS, routes))
        if not all(matchers):  # a route without matchers is never analysed; keep the columns simple
            return [bool(m) and self._reaches(m) for m in matchers]
        firsts = list(map(_FIRST, matchers))
        by_path = map(and_, map(eq, map(len, matchers), repeat(1)),
                      map(self._by_path.__contains__, map(_KIND, firsts)))
        paths = list(map(str.lower, map(_PATH, firsts)))
        hit = list(map(self._beginnings.__contains__, paths))
        for length in self._lengths:  # path[:n] of a shorter path is the path itself, never a key of length n
            hit = list(map(or_, hit, map(self._starts.__contains__, map(itemgetter(slice(0, length)), paths))))
        return list(map(or_, hit, map(not_, by_path)))

    def _reaches(self, matchers: Sequence[EffectiveMatcher]) -> bool:
        for m in matchers:
            if m.path_kind not in self._by_path:
                return True  # regex and suffix routes: their witnesses can be any path
            path = m.path.lower()
            if path in self._beginnings or any(path[:n] in self._starts for n in self._lengths):
                return True
        return False


def _analyse_one(view: VirtualHostView, routes: list[FlattenedRoute], bi: int, b: FlattenedRoute,
                 index: EarlierIndex, authority: str) -> Finding | None:
    covering: list[int] = []
    partial: tuple[int, Request] | None = None
    for mb in b.matchers:
        best: int | None = None
        seen: set[int] = set()
        for ai, ma in index.candidates(mb):
            if ai in seen and best is not None and ai >= best:
                continue
            seen.add(ai)
            if covers(ma, mb):
                if best is None or ai < best:
                    best = ai
            elif partial is None:
                partial = _partial_overlap(ma, mb, ai, authority)
        if best is None:
            covering = []
            break
        covering.append(best)
    label = b.name or b.chain[-1].ref
    if covering:
        witness = witness_for(b.matchers[0], authority)
        taker = index.first_taker(routes, witness)
        if witness is None or taker is None or taker >= bi:
            return None  # we could not prove it with a request: claim nothing
        a = routes[taker]
        return _finding(b, a, witness, Severity.WARNING, "shadowed-route",
                        _shadowed_message(b, a, taker, describe_witness(witness)))
    if partial is not None:
        witness = partial[1]
        taker = index.first_taker(routes, witness)
        if taker is None or taker >= bi:
            return None
        a = routes[taker]
        return _finding(b, a, witness, Severity.INFO, "partially-shadowed",
                        f"route {label!r} loses some requests to earlier route {a.name or a.chain[-1].ref!r} "
                        f"({a.owner_ref}); for example {describe_witness(witness)}")
    return None


def _shadowed_message(b: FlattenedRoute, a: FlattenedRoute, taker: int, witness: str) -> str:
    taken_by = a.name or a.chain[-1].ref
    return (f"route {b.name or b.chain[-1].ref!r} is never used: every request it matches is taken first by route "
            f"{taken_by!r} ({a.owner_ref}, position {taker}); witness: {witness} goes to {taken_by!r}")


def moved_finding(finding: Finding, view: VirtualHostView, position: int) -> Finding | None:
    """A finding of the route now at `position`, its analysis unchanged but its routes moved (an incremental
    rebuild: routes were added or removed before it). Only a shadowed-route message names a position: the
    taker's, found again by its id. None: the taker is not served now (analyse the route again)."""
    if finding.code != "shadowed-route" or finding.witness is None:
        return finding
    taker = view.index_of(finding.routes[1])
    if taker is None or taker >= position:
        return None
    return dataclasses.replace(finding, message=_shadowed_message(view.routes[position], view.routes[taker], taker,
                                                                  finding.witness))


def _finding(b: FlattenedRoute, a: FlattenedRoute, witness: Request, severity: Severity, code: str,
             message: str) -> Finding:
    # located only here: a position lookup composes YAML, too costly to do for every route analysed
    file, line, col = b.owner.locate(b.chain[-1].route_path)
    return Finding(severity, code, message, file=file, line=line, column=col, resource=b.owner.display,
                   path=format_path(b.chain[-1].route_path), routes=(b.id, a.id), witness=describe_witness(witness))


def locate_finding(finding: Finding, b: FlattenedRoute) -> Finding:
    """The same finding located again in b's resource (an incremental rebuild: the resource was re-read, and the
    route may sit elsewhere in it)."""
    file, line, col = b.owner.locate(b.chain[-1].route_path)
    return dataclasses.replace(finding, file=file, line=line, column=col, resource=b.owner.display,
                               path=format_path(b.chain[-1].route_path))


def _partial_overlap(ma: EffectiveMatcher, mb: EffectiveMatcher, ai: int, authority: str) -> tuple[int, Request] | None:
    """A request b wants that a takes, plus proof that a does not take all of b's requests."""
    base = witness_for(mb, authority)
    if base is None:
        return None
    try:
        if path_covers(ma, mb):
            candidate = _with_conditions_of(base, ma)
        elif ma.path_kind == "regex" and first_failure(ma, base) is None:
            candidate = base
            # sure it's partial: some path b takes must escape the regex
            escaped = Request(method=base.method, authority=authority, path=base.path_only.rstrip("/") + "/~meshctl~",
                              headers=base.headers)
            if mb.path_kind != "prefix" or first_failure(mb, escaped) is not None or first_failure(ma, escaped) is None:
                return None
        else:
            return None
    except ValueError:
        return None
    if candidate is None or first_failure(ma, candidate) is not None or first_failure(mb, candidate) is not None:
        return None
    return ai, candidate
