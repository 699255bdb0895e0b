"""The routing view rebuilt incrementally: only the delegation subtrees and virtual hosts a change touches.

An edit to one file changes a few resources; the file source (model/parsed_files.py) hands every other resource
over as the *same object*, so identity is the cheap key. The engine remembers, across snapshots:

- per delegated table expansion (the table, and by value the chain above it with what it hands down: merged
  matchers, options, labels, sort method): its tree nodes, its
  routes (with the positions its own subtree gave them), the findings it reported, the tables it reached, and its
  dependencies: every RouteTable looked up by reference (which object, or none) and every selector evaluated
  (which tables it selected, in order);
- per virtual host the same, for the whole host;
- per virtual host its shadowing findings, with the routes they were computed from.

An entry is reused when its resources are the same objects and every dependency still gives the same answer
(a label edit or a new table changes a selector's result and so invalidates exactly the parents that select by
it). Reused routes are the same objects as in the previous view: the engine changes a produced route only
through `_writable`, which hands out a copy of a shared one, so no view ever sees another's changes, and an edit in
one table of a 10,000-route host copies nothing else. Per-route passes over a whole host (numbering, shadowing's
start) look only at routes that are not the very object at the same place as before. Findings are replayed in
their original order through the same de-duplication, so the result equals `build_routing_view` on the same
snapshot — routes, positions, ids, tree and diagnostics (tests/routing/test_incremental.py checks it over random
edit sequences, and that building a view changes no earlier one).
"""

from __future__ import annotations

import dataclasses
import operator
import threading
from typing import Any, Callable

from ..model.common import Policy
from ..model.findings import Finding
from ..model.gcpause import gc_paused
from ..model.resources import Resource, Route, RouteTable, VirtualGateway, VirtualHostSpec
from ..model.selection import select
from ..model.snapshot import Snapshot
from ..model.v2.validate import has_v2
from .flatten import RouteEngine, vhost_key
from .matchers import EffectiveMatcher
from .memo import Borrowing, Dependency, Recording, TableKey, same_objects, shadow_findings
from .memo import Frame as _Frame
from .memo import ShadowEntry as _ShadowEntry
from .types import ChainLink, FlattenedRoute, Position, RoutingView, TableNode, TreeNode, VirtualHostView
from .v2_engine import freeze_memory_of
from .v2_incremental import V2IncrementalRouting

# Dependency: ("ref", namespace, name, table or None) | ("sel", selector, namespace, hits)


@dataclasses.dataclass(slots=True)
class _TableEntry:
    table: Resource
    context: tuple[Any, ...]  # the chain above and what it hands down (see IncrementalEngine._table_routes)
    nodes: list[Any]  # TreeNode of each route of the table
    routes: list[tuple[FlattenedRoute, str, str]]  # route, position reason and detail its subtree gave it
    frame: _Frame
    # the route objects, when all can be shared with later views (valid, so no invalidRoutePolicy changes them),
    # with their ids; and the TABLE_WEIGHT text they were placed with in the build that made them
    shared: list[FlattenedRoute] | None = None
    shared_ids: list[int] = dataclasses.field(default_factory=list)
    placed: str | None = None
    nested: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)  # the entries of its subtree's tables


@dataclasses.dataclass(slots=True)
class _HostEntry:
    owner: Resource
    spec: VirtualHostSpec
    spec_path: tuple[Any, ...]
    view: VirtualHostView
    frame: _Frame
    tables: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)  # the entries of its tables


@dataclasses.dataclass(slots=True)
class _TopEntry:
    """One route written in a virtual host, with everything below it: reused while the route, the virtual host
    and what it hands down are the same objects and every table lookup and selection below answers the same."""

    route: Route
    owner: Resource
    inherited: Any
    node: TreeNode
    routes: list[FlattenedRoute]  # all valid: shared with later views like a table entry's
    route_ids: list[int]
    frame: _Frame
    tables: list[tuple[Any, ...]]


@dataclasses.dataclass
class _Memory:
    tables: dict[tuple[Any, ...], _TableEntry] = dataclasses.field(default_factory=dict)
    hosts: dict[TableKey, _HostEntry] = dataclasses.field(default_factory=dict)
    tops: dict[tuple[Any, int], _TopEntry] = dataclasses.field(default_factory=dict)
    shadow: dict[TableKey, _ShadowEntry] = dataclasses.field(default_factory=dict)
    # route lists without a duplicate route name, by (resource key, path): the resource checked
    unique_names: dict[tuple[Any, ...], Resource] = dataclasses.field(default_factory=dict)


class IncrementalRouting:
    """Builds routing views for successive snapshots of one source, reusing what did not change.

    `build(snapshot)` equals `build_routing_view(snapshot)`. Thread-safe (one build at a time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._memory = _Memory()
        self.last_stats: dict[str, int] = {}
        self.v2 = V2IncrementalRouting()  # the Gloo v2 gateways' memory (stats: self.v2.last_stats)

    def build(self, snapshot: Snapshot, freeze: Any = None) -> RoutingView:
        with self._lock, gc_paused():
            engine = IncrementalEngine(snapshot, self._memory)
            view = engine.build()
            self._memory = engine.kept  # entries not used by this snapshot are forgotten
            self.last_stats = engine.stats
            if has_v2(snapshot):  # v2 gateways: incremental too (v2_incremental.py)
                self.v2.add_gateways(snapshot, view.gateways, view.diagnostics, freeze)
            return view


class IncrementalEngine(Borrowing, Recording, RouteEngine):
    """RouteEngine that reuses the entries of a previous build whose dependencies still hold."""

    def __init__(self, snapshot: Snapshot, previous: _Memory) -> None:
        super().__init__(snapshot)
        self.previous = previous
        self.kept = _Memory()
        self._frames: list[_Frame] = []
        self._lookups: dict[tuple[str, str], Resource | None] = {}
        self._selections: dict[tuple[int, str], tuple[Any, tuple[RouteTable, ...]]] = {}
        self.stats = {"hosts_reused": 0, "hosts_built": 0, "top_routes_reused": 0, "tables_reused": 0,
                      "tables_expanded": 0,
                      "routes_copied": 0, "shadow_routes_analysed": 0}
        self._borrowed: set[int] = set()  # ids of routes a previous view holds too (see _reused_routes)
        self._entry_of: dict[int, tuple[list[FlattenedRoute], Any]] = {}  # a table's route list -> entry
        self._all_valid = True  # every route of the virtual host being built is valid (see _apply_invalid_policy)
        # the table entries this build keeps, in order: a reused host or table hands its own over again (below),
        # or the next build would expand them anew
        self._tables_kept: list[tuple[Any, ...]] = []

    # -- dependencies ----------------------------------------------------------------------------
    def _lookup(self, namespace: str, name: str) -> Resource | None:
        key = (namespace, name)
        if key not in self._lookups:
            self._lookups[key] = self.snapshot.get("RouteTable", namespace, name)
        return self._lookups[key]

    def _selection(self, selector: Any, namespace: str) -> tuple[RouteTable, ...]:
        key = (id(selector), namespace)
        cached = self._selections.get(key)
        if cached is None or cached[0] is not selector:
            cached = (selector, tuple(select(selector, namespace, self.route_tables)))
            self._selections[key] = cached
        return cached[1]

    def _lookup_table(self, namespace: str, name: str) -> Resource | None:
        found = self._lookup(namespace, name)
        self._note(("ref", namespace, name, found))
        return found

    def _select_tables(self, selector: Any, namespace: str) -> list[RouteTable]:
        hits = self._selection(selector, namespace)
        self._note(("sel", selector, namespace, hits))
        return list(hits)

    def _still(self, dep: Dependency) -> bool:
        if dep[0] == "ref":
            return self._lookup(dep[1], dep[2]) is dep[3]
        return same_objects(self._selection(dep[1], dep[2]), dep[3])

    # -- reuse -----------------------------------------------------------------------------------
    def _virtual_host(self, gw: VirtualGateway, owner: Resource, spec: VirtualHostSpec,
                      spec_path: tuple[Any, ...], ordinal: int) -> VirtualHostView:
        key = vhost_key(gw, owner, ordinal)
        hit = self._vhost_cache.get(key)
        if hit is not None:
            return hit
        entry = self.previous.hosts.get(key)
        if (entry is not None and entry.owner is owner and entry.spec is spec and entry.spec_path == spec_path
                and self._holds(entry.frame.deps)):
            self.stats["hosts_reused"] += 1
            self._replay(entry.frame)
            self.kept.hosts[key] = entry
            self._keep_tables(entry.tables)
            for index in range(len(spec.routes)):  # and its top routes: an edit in it after one elsewhere finds them
                top = self.previous.tops.get((key, index))
                if top is not None:
                    self.kept.tops[(key, index)] = top
            self._vhost_cache[key] = entry.view
            return entry.view
        self.stats["hosts_built"] += 1
        frame = self._push()
        self._all_valid = True  # until a top route built now produces an invalid one (reused ones are all valid)
        first = len(self._tables_kept)
        try:
            view = super()._virtual_host(gw, owner, spec, spec_path, ordinal)
        finally:
            self._pop()
        self.kept.hosts[key] = _HostEntry(owner, spec, spec_path, view, frame, self._tables_kept[first:])
        return view

    def _top_route(self, host_key: Any, route: Route, link: ChainLink,
                   inherited: Policy | None) -> tuple[TreeNode, list[FlattenedRoute]]:
        # A one-route edit in a 1,000-table host would otherwise redo the host's every delegating route (merging
        # matchers and options, looking tables up, ~50 us each) to find their tables reused.
        key = (host_key, link.route_index)
        entry = self.previous.tops.get(key)
        if (entry is not None and entry.route is route and entry.owner is link.resource
                and entry.inherited is inherited and entry.node.link == link and self._holds(entry.frame.deps)):
            self.stats["top_routes_reused"] += 1
            self._replay(entry.frame)
            self._keep_tables(entry.tables)
            self.kept.tops[key] = entry
            self._borrowed.update(entry.route_ids)
            return entry.node, list(entry.routes)
        frame = self._push()
        first = len(self._tables_kept)
        try:
            node, produced = super()._top_route(host_key, route, link, inherited)
        finally:
            self._pop()
        if all(map(_VALID, produced)):
            self.kept.tops[key] = _TopEntry(route, link.resource, inherited, node, list(produced),
                                            list(map(id, produced)), frame, self._tables_kept[first:])
        else:
            self._all_valid = False
        return node, produced

    def _keep_tables(self, keys: list[tuple[Any, ...]]) -> None:
        for key in keys:
            entry = self.previous.tables.get(key)
            if entry is not None:
                self.kept.tables.setdefault(key, entry)
                self._tables_kept.append(key)

    def _table_routes(self, table: RouteTable, table_node: TableNode, chain: tuple[ChainLink, ...],
                      matchers: list[EffectiveMatcher], options: Policy, labels: dict[str, str],
                      effective_sort: str | None, below: tuple[TableKey, ...]) -> list[FlattenedRoute]:
        # What the expansion of a table reads besides the table and its lookups: the chain above it (ids, paths,
        # weights), the merged parent matchers, options and labels, the sort in force and the visiting set. It is
        # compared by value, so a re-read VirtualHost whose delegating route did not change keeps its subtrees.
        links = tuple((link.resource.key, link.route_index, link.route_name, link.route_path, link.weight,
                       link.id_part) for link in chain)
        key = (table.key, tuple(link[3] for link in links), effective_sort)
        context = (links, tuple(matchers), options, labels, below)
        entry = self.previous.tables.get(key)
        if entry is not None and entry.table is table and entry.context == context and self._holds(entry.frame.deps):
            self.stats["tables_reused"] += 1
            self._replay(entry.frame)
            self.kept.tables[key] = entry
            self._tables_kept.append(key)
            self._keep_tables(entry.nested)
            table_node.routes.extend(entry.nodes)
            return self._reused_routes(entry, chain, key)
        self.stats["tables_expanded"] += 1
        frame = self._push()
        first = len(self._tables_kept)
        try:
            produced = super()._table_routes(table, table_node, chain, matchers, options, labels, effective_sort,
                                             below)
        finally:
            self._pop()
        entry = _TableEntry(table, context, list(table_node.routes),
                            [(r, r.position.reason, r.position.detail) for r in produced], frame,
                            nested=self._tables_kept[first:])
        self._tables_kept.append(key)
        if all(map(_VALID, produced)):
            entry.shared, entry.shared_ids = list(produced), [id(r) for r in produced]
        self.kept.tables[key] = entry
        return self._handed_out(produced, entry)

    def _reused_routes(self, entry: _TableEntry, chain: tuple[ChainLink, ...], key: Any) -> list[FlattenedRoute]:
        """The routes of a reused table expansion. When the chain above is the same resources (the context already
        matched its values), the route objects themselves are reused — the engine changes them only through
        `_writable`, which copies — so an edit elsewhere in a 10,000-route host copies no route of this table."""
        above = len(chain)
        routes = entry.routes
        shared = entry.shared
        if shared is not None and (
                not shared or all(map(operator.is_, map(_RESOURCE, chain), map(_RESOURCE, shared[0].chain)))):
            self._borrowed.update(entry.shared_ids)
            return self._handed_out(list(shared), entry)
        # the chain above was re-read, or a route is invalid (the invalidRoutePolicy changes it): copies
        out = [_copy(route, reason, detail, chain + route.chain[above:]) for route, reason, detail in routes]
        if entry.shared is not None:  # the next build shares these, the routes of the chain as it is now
            kept = self.kept.tables[key] = dataclasses.replace(entry, shared=list(out), shared_ids=list(map(id, out)),
                                                               placed=None)
            return self._handed_out(out, kept)
        return out

    def _check_route_names(self, owner: Resource, routes: list[Route], path: tuple[Any, ...]) -> None:
        key = (owner.key, path)
        if self.previous.unique_names.get(key) is owner or self.kept.unique_names.get(key) is owner:
            self.kept.unique_names[key] = owner
            self._ambiguous_names.setdefault(key, set())
            return
        super()._check_route_names(owner, routes, path)
        if not self._ambiguous_names.get(key):
            names = [r.name for r in routes if r.name]
            if len(names) == len(set(names)):
                self.kept.unique_names[key] = owner

    def _own_copy(self, route: FlattenedRoute) -> FlattenedRoute:
        return _copy(route, route.position.reason, route.position.detail, route.chain)

    def _apply_invalid_policy(self, view: VirtualHostView, spec: VirtualHostSpec) -> None:
        if self._all_valid:
            return  # nothing to apply; known without a pass over every route (100k routes: ~7 ms a pass)
        # the policy changes only invalid routes, and those were built now (a reused route is valid): no shared
        # route needs copying
        super()._apply_invalid_policy(view, spec)

    def _shadow_findings(self, key: TableKey, view: VirtualHostView) -> list[Finding]:
        return shadow_findings(self.previous.shadow, self.kept.shadow, key, view, self.stats)


_VALID = operator.attrgetter("valid")
_RESOURCE = operator.attrgetter("resource")


def _copy(route: FlattenedRoute, reason: str, detail: str, chain: tuple[ChainLink, ...]) -> FlattenedRoute:
    """A reused route for a new view: the reason and detail of where it sits, no invalid-policy replacement, and
    the chain links of this build above its table (their resources may have been re-read)."""
    copy = object.__new__(FlattenedRoute)
    copy.__dict__.update(route.__dict__)
    copy.chain = chain
    copy.position = Position(reason, detail)
    copy.replaced_by_direct_response = None
    return copy


_OWNER_LOCK = threading.Lock()


def routing_view_of(owner: Any) -> Callable[[Snapshot], RoutingView]:
    """The routing-view builder of a long-lived object (a Workspace): incremental across its snapshots, with its
    FREEZE_CONFIG memory. Every consumer of the workspace's shared routing view computes it through this."""
    with _OWNER_LOCK:
        routing = getattr(owner, "_meshctl_incremental_routing", None)
        if routing is None:
            routing = IncrementalRouting()
            owner._meshctl_incremental_routing = routing
        freeze = freeze_memory_of(owner)
    return lambda snapshot: routing.build(snapshot, freeze)
