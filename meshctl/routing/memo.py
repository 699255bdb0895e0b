"""What the incremental route engines share (v1beta1: incremental.py, Gloo v2: v2_incremental.py).

A subtree being built opens a *frame* that records what it reported (every diagnostic, duplicates included, in call
order), what it read (dependencies: which object a lookup found, which tables a selector chose) and which tables it
reached. A later build reuses the subtree when its own inputs are the same objects and every dependency still gives
the same answer; replaying the frame then reports, reads and reaches exactly what building it would have.
"""

from __future__ import annotations

import dataclasses
import operator
from itertools import compress, count
from typing import Any, Callable, Hashable, Mapping, Protocol, TypeVar

from ..model.findings import Finding
from ..model.resources import Resource
from .flatten import DiagnosticEvent, _Diagnostics
from .types import FlattenedRoute, VirtualHostView

Dependency = tuple[Any, ...]  # (kind, what was asked..., the answer): each engine's _still knows its kinds
TableKey = tuple[str, str, str]
T = TypeVar("T")


@dataclasses.dataclass(slots=True)
class Frame:
    """What one subtree being built reported and read."""

    events: list[DiagnosticEvent] = dataclasses.field(default_factory=list)
    deps: list[Dependency] = dataclasses.field(default_factory=list)
    reached: set[TableKey] = dataclasses.field(default_factory=set)


class _Entry(Protocol):
    frame: Frame


E = TypeVar("E", bound=_Entry)


class Recording:
    """Mixin for a RouteEngine subclass: frames, dependencies, replay. The engine sets `_frames = []` and defines
    `_still(dep)`: whether a recorded dependency gives the same answer in this build."""

    diags: _Diagnostics
    reached_tables: set[TableKey]
    _frames: list[Frame]

    def _push(self) -> Frame:
        frame = Frame()
        self._frames.append(frame)
        self.diags.recorders.append(frame.events)
        return frame

    def _pop(self) -> None:
        self._frames.pop()
        self.diags.recorders.pop()

    def _recorded(self, build: Callable[[], T]) -> tuple[T, Frame]:
        """Run `build` inside a new frame; its result and what it recorded."""
        frame = self._push()
        try:
            return build(), frame
        finally:
            self._pop()

    def _note(self, dep: Dependency) -> None:
        for frame in self._frames:
            frame.deps.append(dep)

    def _reach(self, table_key: TableKey) -> None:
        self.reached_tables.add(table_key)
        for frame in self._frames:
            frame.reached.add(table_key)

    def _replay(self, frame: Frame) -> None:
        """A reused entry reports what it reported when built, into the view and every enclosing recording."""
        for event in frame.events:
            self.diags.replay(event)
        for dep in frame.deps:
            self._note(dep)
        for key in frame.reached:
            self._reach(key)

    def _holds(self, deps: list[Dependency]) -> bool:
        # in recording order: a table's own dependencies are checked only once the one that found it held
        still = self._still
        for dep in deps:
            if not still(dep):
                return False
        return True

    def _still(self, dep: Dependency) -> bool:
        raise NotImplementedError

    def _reuse(self, previous: Mapping[Any, E], kept: dict[Any, E], key: Hashable,
               fits: Callable[[E], bool]) -> E | None:
        """The previous build's entry for `key` when `fits` accepts it and its dependencies hold: replayed and kept
        for the next build. None: build it again."""
        entry = previous.get(key)
        if entry is None or not fits(entry) or not self._holds(entry.frame.deps):
            return None
        self._replay(entry.frame)
        kept[key] = entry
        return entry


class SharingEntry(Protocol):
    """A table expansion's entry whose routes later views may borrow."""

    shared: list[FlattenedRoute] | None  # the route objects, when all can be shared
    placed: str | None  # the TABLE_WEIGHT text they were placed with in the build that made them


class Borrowing:
    """Mixin for an incremental RouteEngine: routes of an earlier view handed to this one as they are (ids in
    `_borrowed`), copied by `_own_copy` the first time the engine changes one (RouteEngine._writable), so no view
    ever sees another's changes. The engine sets `_borrowed = set()` and `_entry_of = {}` and registers each table's
    route list it hands out with `_handed_out`."""

    _borrowed: set[int]
    _entry_of: dict[int, tuple[list[FlattenedRoute], SharingEntry]]  # a table's route list -> its entry
    stats: dict[str, int]

    def _handed_out(self, routes: list[FlattenedRoute], entry: SharingEntry) -> list[FlattenedRoute]:
        self._entry_of[id(routes)] = (routes, entry)
        return routes

    def _place_by_weight(self, table: Resource, table_routes: list[FlattenedRoute], weight_reason: str) -> None:
        hit = self._entry_of.get(id(table_routes))
        entry = hit[1] if hit is not None and hit[0] is table_routes else None
        if entry is not None and entry.shared is not None and entry.placed == weight_reason \
                and all(id(r) in self._borrowed for r in table_routes[:1]):
            return  # the shared routes were placed with this very text when they were made
        super()._place_by_weight(table, table_routes, weight_reason)  # type: ignore[misc]
        if entry is not None and entry.placed is None and not any(id(r) in self._borrowed for r in table_routes[:1]):
            entry.placed = weight_reason  # a fresh expansion: its routes now carry this text

    def _writable(self, routes: list[FlattenedRoute], i: int) -> FlattenedRoute:
        route = routes[i]
        if id(route) not in self._borrowed:
            return route
        self._borrowed.discard(id(route))
        copy = routes[i] = self._own_copy(route)
        self.stats["routes_copied"] += 1
        return copy

    def _own_copy(self, route: FlattenedRoute) -> FlattenedRoute:
        """A copy of a borrowed route this view may change: its own Position at least."""
        raise NotImplementedError


def same_objects(now: tuple[Any, ...], then: tuple[Any, ...]) -> bool:
    return len(now) == len(then) and all(a is b for a, b in zip(now, then, strict=True))


@dataclasses.dataclass(slots=True)
class ShadowEntry:
    view: VirtualHostView
    domains: list[str]
    routes: list[FlattenedRoute]  # what the analysis read of each: id, name, matchers (never changed on a route)
    findings: list[tuple[int, Finding, Resource]]  # route position, finding, the resource it was located in
    index: Any = None  # shadow.EarlierIndex of `routes` (its `routes` is this entry's list), handed to the next build


def shadow_findings(previous: Mapping[Any, ShadowEntry], kept: dict[Any, ShadowEntry], key: Hashable,
                    view: VirtualHostView, stats: dict[str, int]) -> list[Finding]:
    """The shadowing findings of one virtual host, reusing the previous build's up to the first route whose
    (id, name, matchers) changed: a route's findings depend only on it and the routes before it. After the changed
    stretch, the routes that are the same as the previous build's last ones are analysed again only if the stretch
    can reach them (shadow.py `ChangedStretch`); the others keep their findings, at their new positions."""
    from .shadow import EarlierIndex, analyse_shadowing_from, locate_finding, moved_finding

    old = previous.get(key)
    if old is not None and old.view is view:
        kept[key] = old
        return [finding for _, finding, _ in old.findings]
    routes = view.routes
    start = 0
    found: list[tuple[int, Finding, Resource]] = []
    index = None
    if old is not None and old.domains == view.domains:
        start = _first_unlike(old.routes, routes)
        # taken over (that entry no longer owns it), unless most of it would be taken off: indexing again from
        # the start is cheaper than undoing, entry by entry
        if old.index is not None and old.index.routes is old.routes and 2 * start >= old.index.upto:
            index = old.index
            index.truncate(start)
        for position, finding, located_in in old.findings:
            if position < start:
                owner = routes[position].owner
                if owner is not located_in:  # same route, resource re-read: its line may have moved
                    finding = locate_finding(finding, routes[position])
                found.append((position, finding, owner))
    if start < len(routes):
        outside = _outside_unchanged_end(old, routes, start) \
            if old is not None and old.domains == view.domains else None
        only: set[int] | None = None
        kept_findings: list[tuple[int, Finding, Resource]] = []  # of routes past the stretch that it cannot reach
        if outside is not None:
            only, carried, shift = outside
            for position, finding, located_in in carried:
                moved = moved_finding(finding, view, position) if shift else finding
                if moved is None:
                    only.add(position)  # its taker is no longer served before it: analysed again
                else:
                    kept_findings.append((position, moved, located_in))
        if index is None:
            index = EarlierIndex()
        indexed = index.upto
        found += [(position, finding, routes[position].owner)
                  for position, finding in analyse_shadowing_from(view, start, only, index)]
        stats["shadow_routes_indexed"] = stats.get("shadow_routes_indexed", 0) + index.upto - indexed
        for position, finding, located_in in kept_findings:
            owner = routes[position].owner
            if owner is not located_in:
                finding = locate_finding(finding, routes[position])
            found.append((position, finding, owner))
        if kept_findings:
            found.sort(key=_POSITION)  # as a whole analysis gives them
        stats["shadow_routes_analysed"] += len(routes) - start if only is None else len(only)
    entry = kept[key] = ShadowEntry(view, list(view.domains), list(routes), found, index)
    if index is not None:
        index.routes = entry.routes
    return [finding for _, finding, _ in found]


_POSITION = operator.itemgetter(0)
_ID = operator.attrgetter("id")
_NAME = operator.attrgetter("name")
_MATCHERS = operator.attrgetter("matchers")


def _first_unlike(a: list[FlattenedRoute], b: list[FlattenedRoute]) -> int:
    """The first position where the routes differ in what the analysis reads of them (id, name, matchers), or the
    shorter length. The very same object is alike; runs of other objects (a renumbering copies every route after
    it) are compared column by column in C, a window at a time."""
    limit = min(len(a), len(b))
    at = 0
    while at < limit:
        rest = range(at, limit)
        at = next(compress(count(at), map(operator.is_not, map(a.__getitem__, rest), map(b.__getitem__, rest))),
                  limit)
        end = min(limit, at + 256)
        x, y = a[at:end], b[at:end]
        alike = map(operator.and_, map(operator.and_, map(operator.eq, map(_ID, x), map(_ID, y)),
                                       map(operator.eq, map(_NAME, x), map(_NAME, y))),
                    map(operator.eq, map(_MATCHERS, x), map(_MATCHERS, y)))
        unlike = next(compress(count(at), map(operator.not_, alike)), None)
        if unlike is not None:
            return unlike
        at = end
    return limit


def _outside_unchanged_end(old: ShadowEntry, routes: list[FlattenedRoute], start: int
                           ) -> tuple[set[int], list[tuple[int, Finding, Resource]], int] | None:
    """The positions at `start` or later that need analysing: those of the changed stretch, and of the routes that
    end both lists alike, those the stretch reaches; the findings the others had, at their new positions; and how
    far those routes moved. None: analyse all of them."""
    from .shadow import ChangedStretch

    before = old.routes
    limit = min(len(before), len(routes)) - start
    same_end = _first_unlike(before[:-limit - 1:-1], routes[:-limit - 1:-1]) if limit > 0 else 0
    if same_end == 0:
        return None
    first_same = len(routes) - same_end
    stretch = ChangedStretch(before[start:len(before) - same_end] + routes[start:first_same])
    if stretch.everything:
        return None
    shift = len(routes) - len(before)
    reached = set(compress(count(first_same), stretch.reached(routes[first_same:])))
    carried = [(position + shift, finding, located_in) for position, finding, located_in in old.findings
               if position + shift >= first_same and position + shift not in reached]
    return set(range(start, first_same)) | reached, carried, shift
