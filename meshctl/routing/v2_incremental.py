"""The Gloo v2 gateways rebuilt incrementally: only the delegated tables and hosts a change touches.

The same mechanism as the v1beta1 engine's (incremental.py, shared pieces in memo.py): entries recorded per
delegated-table expansion and per host, reused while their resources are the same objects and every dependency
(which tables each delegate selector chose, in order) gives the same answer. v2 adds:

- an *epoch*: what workspace visibility (W, X, G2, R2, R16), destination checks and route policies (P1-P5) read
  besides the tables: the workspace model's state, the destinations the configuration knows, the route policy
  resources. When it differs from the previous build's, nothing is reused (correct first; these change rarely);
- the listener port and the host in a table entry's key (a matcher's `port` keeps a route off other listeners;
  no route object is in two views of one build);
- hosts whose root tables include a FREEZE_CONFIG one are built every time (their routes come from the
  session's FreezeMemory, which changes between builds); their delegated tables are still reused;
- copy-on-write, as for v1beta1: a reused table whose routes were all valid, under the same chain resources,
  hands over the previous view's route objects (borrowed); the engine changes positions only through `_writable`
  and invalidates (R16) only through `_detached`, both of which copy a shared route, so a shared route stays valid
  and no view sees another's changes (a table entry also keeps private copies as its subtree left them, for a
  re-read chain above). A ROUTE_SPECIFICITY sort given the very routes it was given before hands over its order;
  numbering looks only at routes not at their place in the host's previous view;
- what the host-level passes found for a shared route (R16, missing destinations, policy conflicts: functions of
  the route and the epoch) is recorded per route (`_Checked`) and used again instead of recomputed; a shared route
  they found nothing for is *settled*: the passes skip it, found in C (`_unsettled`);
- per host, the missing-destination findings, the policy findings and the shadowing findings are kept with the
  host's view and replayed while the view is reused.

`V2IncrementalRouting.add_gateways` equals `add_v2_gateways` on the same snapshot and FreezeMemory (routes,
positions, ids, tree, diagnostics and their order, policies): tests/routing/test_v2_incremental.py checks it
after every step of random edit sequences.
"""

from __future__ import annotations

import dataclasses
import operator
from functools import partial
from itertools import compress
from typing import Any, Callable, Iterable

from ..model.common import Policy, Route
from ..model.findings import Finding
from ..model.snapshot import Snapshot
from ..model.v2.policies import ROUTE_POLICY_KINDS
from ..model.v2.resources import ObjectSelectorV2, RouteTableV2, VirtualGatewayV2
from ..model.v2.workspaces import SharedObject, WorkspaceModel
from .matchers import EffectiveMatcher
from .memo import Borrowing, Dependency, Frame, Recording, ShadowEntry, same_objects, shadow_findings
from .types import ChainLink, FlattenedRoute, GatewayView, Position, TableNode, TreeNode, VirtualHostView
from .v2_engine import FreezeMemory, HostKey, TableConflict, TableKey, V2RouteEngine, add_v2_gateways
from .v2_policies import Conflict, RoutePolicies, attach

Outcome = list[FlattenedRoute] | TableConflict


@dataclasses.dataclass(frozen=True)
class Epoch:
    """What every answer about workspaces, destinations and route policies is computed from: `values` compare by
    value, `objects` (resources findings are located in) by identity."""

    values: tuple[Any, ...]
    objects: tuple[Any, ...]

    def same(self, other: Epoch | None) -> bool:
        return other is not None and self.values == other.values and same_objects(self.objects, other.objects)


def epoch_of(snapshot: Snapshot, model: WorkspaceModel) -> Epoch:
    destinations = tuple(SharedObject.of(r) for kind in ("Service", "VirtualDestination", "ExternalService")
                         for r in snapshot.of_kind(kind))
    in_clusters = tuple((c.name, s.namespace, s.name, tuple(sorted(s.labels.items())))
                        for c in snapshot.of_kind("Cluster") for s in getattr(getattr(c, "spec", None), "services", []))
    policies = tuple(p for kind in ROUTE_POLICY_KINDS for p in snapshot.of_kind(kind))
    return Epoch((model.state(), destinations, in_clusters), policies)


@dataclasses.dataclass(slots=True)
class _TableEntry:
    table: RouteTableV2
    context: tuple[Any, ...]  # the chain above and what it hands down (see V2IncrementalEngine._v2_table_routes)
    nodes: list[TreeNode]  # TreeNode of each route of the table expanded
    outcome: Outcome  # the routes as the subtree left them (private copies), or the conflict it stopped at
    frame: Frame
    # the route objects handed to the view that built the entry, when all were valid: later builds borrow them
    shared: list[FlattenedRoute] | None = None
    shared_ids: list[int] = dataclasses.field(default_factory=list)
    placed: str | None = None  # the TABLE_WEIGHT text the shared routes were placed with


@dataclasses.dataclass(slots=True)
class _Sorted:
    """One ROUTE_SPECIFICITY sort of a build: the routes it was given and the order it gave them (valid routes,
    which later builds borrow when given the very same routes in the same order)."""

    under: str
    given: list[FlattenedRoute]
    ordered: list[FlattenedRoute]


@dataclasses.dataclass(slots=True)
class _Checked:
    """What the host-level passes found for one shared route, computed once per epoch: None until a pass ran on it
    (R16 invisible destinations, missing destinations, route policy conflicts)."""

    route: FlattenedRoute  # pins the id the record is filed under
    invisible: tuple[tuple[int, str], ...] | None = None
    missing: tuple[tuple[int, str], ...] | None = None
    conflicts: list[Conflict] | None = None


@dataclasses.dataclass(slots=True)
class _RootEntry:
    """One route written in a root table, expanded with everything below it (a one-route edit in one delegated
    table of a 100-table host otherwise redoes every other delegating route: selection, merges, entry checks)."""

    table: RouteTableV2
    route: Route  # the converted route (conversions are kept across builds while the table is the same object)
    id_part: str
    node: TreeNode
    routes: list[FlattenedRoute]  # as the expansion returned them (all valid)
    route_ids: list[int]
    frame: Frame
    table_keys: list[tuple[Any, ...]]  # the table entries below it (handed on with it)


@dataclasses.dataclass(slots=True)
class _HostEntry:
    gateway: VirtualGatewayV2
    tables: tuple[RouteTableV2, ...]  # the root tables serving the host, in root order
    view: VirtualHostView
    frame: Frame
    # the table entries its build used: a later build reusing the host hands them on, so an edit below it after
    # an edit elsewhere still finds them (and so for its root-route entries)
    table_keys: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    root_keys: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(slots=True)
class _ViewEntry:
    """What one pass over the built hosts reported for one host's view (missing destinations, policies)."""

    view: VirtualHostView
    frame: Frame


@dataclasses.dataclass
class _Memory:
    epoch: Epoch | None = None
    tables: dict[tuple[Any, ...], _TableEntry] = dataclasses.field(default_factory=dict)
    hosts: dict[HostKey, _HostEntry] = dataclasses.field(default_factory=dict)
    missing: dict[HostKey, _ViewEntry] = dataclasses.field(default_factory=dict)
    policies: dict[HostKey, _ViewEntry] = dataclasses.field(default_factory=dict)
    shadow: dict[HostKey, ShadowEntry] = dataclasses.field(default_factory=dict)
    checked: dict[int, _Checked] = dataclasses.field(default_factory=dict)  # by id of the shared route
    settled: set[int] = dataclasses.field(default_factory=set)  # ids of shared routes with empty records
    sorted: dict[tuple[Any, ...], _Sorted] = dataclasses.field(default_factory=dict)  # by host and delegating route
    roots: dict[tuple[Any, ...], _RootEntry] = dataclasses.field(default_factory=dict)
    # each table's converted routes, with the table object they were converted from
    converted: dict[tuple[str, str, str], tuple[RouteTableV2, list[Route]]] = dataclasses.field(default_factory=dict)


class V2IncrementalRouting:
    """The v2 gateways of successive snapshots of one source, reusing what did not change. Not thread-safe on its
    own: IncrementalRouting (its one user) builds one snapshot at a time."""

    def __init__(self) -> None:
        self._memory = _Memory()
        self.last_stats: dict[str, int] = {}

    def add_gateways(self, snapshot: Snapshot, gateways: list[GatewayView], diagnostics: list[Any],
                     freeze: FreezeMemory | None = None) -> None:
        """As `add_v2_gateways(snapshot, gateways, diagnostics, freeze)`."""
        engine = V2IncrementalEngine(snapshot, freeze, self._memory)
        add_v2_gateways(snapshot, gateways, diagnostics, freeze, engine)
        engine.settle()
        self._memory = engine.kept  # entries not used by this snapshot are forgotten
        self.last_stats = engine.stats


class V2IncrementalEngine(Borrowing, Recording, V2RouteEngine):
    """V2RouteEngine that reuses the entries of a previous build whose dependencies still hold."""

    def __init__(self, snapshot: Snapshot, freeze: FreezeMemory | None, previous: _Memory) -> None:
        super().__init__(snapshot, freeze)
        epoch = epoch_of(snapshot, self.workspaces)
        same_epoch = epoch.same(previous.epoch)
        self.previous = previous if same_epoch else _Memory()
        self.kept = _Memory(epoch)
        self._frames: list[Frame] = []
        self._hits: dict[int, tuple[ObjectSelectorV2, tuple[RouteTableV2, ...]]] = {}
        self.stats = {"epoch_changed": int(previous.epoch is not None and not same_epoch), "hosts_reused": 0,
                      "hosts_built": 0, "tables_reused": 0, "tables_expanded": 0, "shadow_routes_analysed": 0,
                      "routes_copied": 0, "roots_reused": 0}
        self._borrowed: set[int] = set()  # ids of routes an earlier view holds too (see _shared_routes)
        self._held: set[int] = set()  # ids of routes this build made and keeps for later builds to borrow
        self._host_key: HostKey = ()
        self._host_tables: list[tuple[Any, ...]] = []  # the table entries the host being built uses
        self._entry_of: dict[int, tuple[list[FlattenedRoute], Any]] = {}  # a table's route list -> entry
        # ids of borrowed routes an earlier build found nothing to report or change for (see settle)
        self._settled: set[int] = set()
        self._root_keys: list[tuple[Any, ...]] = []  # the root-route entries the host being built uses
        self._frozen_host = False  # the host being built is served from the FreezeMemory: no root-route reuse
        # a table that is the same object converts to the same routes: keep them, so root routes stay the same
        # objects across builds (their entries are reused on identity)
        self._tables_now = {t.key: t for t in self.tables}
        for key, (table, routes) in self.previous.converted.items():
            if self._tables_now.get(key) is table:
                self._converted[key] = routes

    # -- dependencies ------------------------------------------------------------------------------
    def _selected_now(self, sel: ObjectSelectorV2) -> tuple[RouteTableV2, ...]:
        cached = self._hits.get(id(sel))
        if cached is None or cached[0] is not sel:  # the selector kept in the entry: its id is not reused
            cached = self._hits[id(sel)] = (sel, tuple(super()._v2_selected(sel)))
        return cached[1]

    def _v2_selected(self, sel: ObjectSelectorV2) -> list[RouteTableV2]:
        hits = self._selected_now(sel)
        self._note(("v2sel", sel, hits))
        return list(hits)

    def _still(self, dep: Dependency) -> bool:
        return same_objects(self._selected_now(dep[1]), dep[2])

    # -- delegated tables ----------------------------------------------------------------------------
    def _v2_table_routes(self, table: RouteTableV2, table_node: TableNode, chain: tuple[ChainLink, ...],
                         matchers: list[EffectiveMatcher], options: Any, labels: dict[str, str],
                         effective_sort: str | None, below: tuple[TableKey, ...]) -> Outcome:
        # What the expansion reads besides the table and its selectors: the chain above (compared by value, so a
        # re-read root table whose delegating route did not change keeps its subtrees), what the chain hands down,
        # the sort in force, the visiting set and the listener port.
        links = tuple((link.resource.key, link.route_index, link.route_name, link.route_path, link.weight,
                       link.id_part) for link in chain)
        # keyed by the chain's resources too: two root tables delegating from the same route index must not share
        # and by host: the host-level passes (R16 reads the gateway's workspace) leave their marks on shared routes,
        # and no route object may appear in two views of one build
        key = (table.key, tuple(link[:4] for link in links), effective_sort, self.listener_port, self._host_key)
        context = (links, tuple(matchers), options, labels, below)
        self._host_tables.append(key)
        entry = self._reuse(self.previous.tables, self.kept.tables, key,
                            lambda e: e.table is table and e.context == context)
        if entry is not None:
            self.stats["tables_reused"] += 1
            table_node.routes.extend(entry.nodes)
            return self._shared_routes(entry, chain, key)
        self.stats["tables_expanded"] += 1
        outcome, frame = self._recorded(partial(super()._v2_table_routes, table, table_node, chain, matchers,
                                                options, labels, effective_sort, below))
        kept = outcome if isinstance(outcome, TableConflict) else [_fresh(r, r.chain) for r in outcome]
        entry = self.kept.tables[key] = _TableEntry(table, context, list(table_node.routes), kept, frame)
        if isinstance(outcome, TableConflict) or not all(r.valid for r in outcome):
            return outcome
        entry.shared, entry.shared_ids = list(outcome), [id(r) for r in outcome]
        self._held.update(entry.shared_ids)
        return self._handed_out(outcome, entry)

    def _shared_routes(self, entry: _TableEntry, chain: tuple[ChainLink, ...], key: tuple[Any, ...]) -> Outcome:
        """A reused table's routes: the very objects of the earlier view when the chain above is the same
        resources (its values matched already), borrowed — changed only through copies — else copies."""
        shared = entry.shared
        if shared is not None and (not shared or all(
                a.resource is b.resource for a, b in zip(chain, shared[0].chain, strict=False))):
            self._borrow(entry.shared_ids)
            return self._handed_out(list(shared), entry)
        out = _relinked(entry.outcome, chain)
        if shared is None or isinstance(out, TableConflict):
            return out
        # the chain above was re-read: the copies on it are what the next builds share (else every later build
        # would copy them again)
        kept = self.kept.tables[key] = dataclasses.replace(entry, shared=list(out), shared_ids=list(map(id, out)),
                                                           placed=None)
        self._held.update(kept.shared_ids)
        return self._handed_out(out, kept)

    def _borrow(self, ids: list[int]) -> None:
        """Routes of the earlier view (by id) handed to this one: borrowed (copied before any change), and settled
        for the host-level passes if they were settled there."""
        self._borrowed.update(ids)
        self._settled.update(self.previous.settled.intersection(ids))

    def _root_route(self, route: Route, link: ChainLink) -> tuple[TreeNode, list[FlattenedRoute]]:
        table = link.resource
        assert isinstance(table, RouteTableV2)
        key = (self._host_key, self.listener_port, table.key, link.route_index)
        self._root_keys.append(key)
        entry = None if self._frozen_host else self.previous.roots.get(key)
        if (entry is not None and entry.table is table and entry.route is route and entry.id_part == link.id_part
                and self._holds(entry.frame.deps)):
            self.stats["roots_reused"] += 1
            self._replay(entry.frame)
            self.kept.roots[key] = entry
            for table_key in entry.table_keys:
                table_entry = self.previous.tables.get(table_key)
                if table_entry is not None:
                    self.kept.tables.setdefault(table_key, table_entry)
                    self._host_tables.append(table_key)
            self._borrow(entry.route_ids)
            return entry.node, list(entry.routes)
        first = len(self._host_tables)
        (node, produced), frame = self._recorded(partial(super()._root_route, route, link))
        if not self._frozen_host and all(r.valid for r in produced):
            ids = list(map(id, produced))
            self.kept.roots[key] = _RootEntry(table, route, link.id_part, node, list(produced), ids, frame,
                                              self._host_tables[first:])
            # later builds share them: from here on the host-level passes copy a route before invalidating it
            # (R16), as for the routes a table entry shares; the ones borrowed already are copied anyway
            self._held.update(rid for rid in ids if rid not in self._borrowed)
        return node, produced

    def _order_by_specificity(self, produced: list[FlattenedRoute], chain: tuple[ChainLink, ...]) -> None:
        # given the very routes of the previous build's sort, in the same order: its result, borrowed
        key = (self._host_key, tuple((link.resource.key, link.route_path) for link in chain))
        under, last = chain[-1].ref, self.previous.sorted.get(key)
        if last is not None and last.under == under and len(last.given) == len(produced) and all(
                map(operator.is_, last.given, produced)):
            produced[:] = last.ordered
            ids = list(map(id, produced))
            self._borrow(ids)
            self.kept.sorted[key] = last
            return
        given = list(produced)
        super()._order_by_specificity(produced, chain)
        if all(r.valid for r in produced):
            self.kept.sorted[key] = _Sorted(under, given, list(produced))
            self._held.update(map(id, produced))

    def _own_copy(self, route: FlattenedRoute) -> FlattenedRoute:
        self._carry(route)
        copy = _fresh(route, route.chain)
        if id(route) in self._settled:  # same route, chain and options: the passes would find the same nothing
            self._settled.add(id(copy))
        return copy

    def _carry(self, route: FlattenedRoute) -> None:
        """A borrowed route being copied stays shared (its entry keeps it): so does its record."""
        record = self.previous.checked.get(id(route))
        if record is not None and record.route is route:
            self.kept.checked[id(route)] = record

    def _detached(self, routes: list[FlattenedRoute], i: int) -> FlattenedRoute:
        # a shared route stays valid (entries share valid routes only): a copy is invalidated, and, not served,
        # keeps index 0 as in a fresh build
        route, rid = routes[i], id(routes[i])
        if rid in self._held or rid in self._borrowed:
            self._borrowed.discard(rid)
            self._carry(route)
            routes[i] = _fresh(route, route.chain)
            self.stats["routes_copied"] += 1
        return routes[i]

    # -- host-level passes over shared routes: once per route and epoch ---------------------------------
    def _unsettled(self, routes: list[FlattenedRoute]) -> Iterable[int]:
        if not self._settled:
            return range(len(routes))
        return compress(range(len(routes)), map(operator.not_, map(self._settled.__contains__, map(id, routes))))

    def settle(self) -> None:
        """After the host-level passes: the shared routes the next build may skip in them — those settled before,
        and those made now that every pass ran on and found nothing (a route left out of its view, by a
        FREEZE_CONFIG tree or a matcher conflict, is not)."""
        tables_now = self._tables_now
        self.kept.converted = {key: (tables_now[key], routes) for key, routes in self._converted.items()
                               if key in tables_now}
        policies = any(self.snapshot.of_kind(kind) for kind in ROUTE_POLICY_KINDS)
        settled = self.kept.settled = set(self._settled)
        for rid in self._held:
            record = self.kept.checked.get(rid)
            if record is not None and record.invisible == () and record.missing == () and (
                    record.conflicts == [] if policies else record.conflicts is None):
                settled.add(rid)

    def _checked(self, route: FlattenedRoute) -> _Checked | None:
        """The record of a shared route (borrowed or held), carried into the next build's memory; None for a route
        of this view alone."""
        rid = id(route)
        record = self.kept.checked.get(rid)
        if record is not None and record.route is route:
            return record
        if rid in self._borrowed:
            record = self.previous.checked.get(rid)
            if record is None or record.route is not route:
                record = _Checked(route)
        elif rid in self._held:
            record = _Checked(route)
        else:
            return None
        self.kept.checked[rid] = record
        return record

    def _check_destinations_visible(self, routes: list[FlattenedRoute], i: int) -> None:
        record = self._checked(routes[i])
        if record is None:
            super()._check_destinations_visible(routes, i)
            return
        if record.invisible is None:
            record.invisible = self._visibility_problems(routes[i])
        if record.invisible:
            self._invalidate(routes, i, record.invisible)

    def _route_missing(self, r: FlattenedRoute) -> tuple[tuple[int, str], ...]:
        record = self._checked(r)
        if record is None:
            return super()._route_missing(r)
        if record.missing is None:
            record.missing = super()._route_missing(r)
        return record.missing

    # -- hosts -----------------------------------------------------------------------------------------
    def _host_view(self, vg: VirtualGatewayV2, listener: int, host: str,
                   tables: list[RouteTableV2]) -> VirtualHostView:
        key: HostKey = (*self._listener_key, host)
        roots = tuple(tables)
        frozen = any(t.spec.failure_mode == "FREEZE_CONFIG" for t in roots)  # served from the FreezeMemory
        entry = None if frozen else self._reuse(self.previous.hosts, self.kept.hosts, key,
                                                lambda e: e.gateway is vg and same_objects(roots, e.tables))
        if entry is not None:
            self.stats["hosts_reused"] += 1
            for root_key in entry.root_keys:
                root_entry = self.previous.roots.get(root_key)
                if root_entry is not None:
                    self.kept.roots.setdefault(root_key, root_entry)
            for table_key in entry.table_keys:  # with what the passes recorded for their shared routes
                table_entry = self.previous.tables.get(table_key)
                if table_entry is None:
                    continue
                self.kept.tables.setdefault(table_key, table_entry)
                for rid in table_entry.shared_ids or ():
                    record = self.previous.checked.get(rid)
                    if record is not None:
                        self.kept.checked.setdefault(rid, record)
                    if rid in self.previous.settled:
                        self._settled.add(rid)
            self._add_view(entry.view)
            return entry.view
        self.stats["hosts_built"] += 1
        self._host_key = key
        self._host_tables = []
        self._root_keys = []
        self._frozen_host = frozen
        try:
            view, frame = self._recorded(partial(super()._host_view, vg, listener, host, tables))
        finally:
            self._frozen_host = False
        if not frozen:
            self.kept.hosts[key] = _HostEntry(vg, roots, view, frame, self._host_tables, self._root_keys)
        self._host_tables = []
        self._root_keys = []
        return view

    def _per_view(self, previous: dict[HostKey, _ViewEntry], kept: dict[HostKey, _ViewEntry], key: HostKey,
                  view: VirtualHostView, compute: Callable[[], Any]) -> None:
        """Replay what a pass reported for a reused view (its routes already carry the pass's effects), else run it."""
        if self._reuse(previous, kept, key, lambda e: e.view is view) is None:
            _, frame = self._recorded(compute)
            kept[key] = _ViewEntry(view, frame)

    def _missing_in(self, key: HostKey, view: VirtualHostView) -> None:
        self._per_view(self.previous.missing, self.kept.missing, key, view,
                       partial(super()._missing_in, key, view))

    def _host_shadow(self, key: HostKey, view: VirtualHostView) -> list[Finding]:
        return shadow_findings(self.previous.shadow, self.kept.shadow, key, view, self.stats)

    def attach_policies(self) -> None:
        if not any(self.snapshot.of_kind(kind) for kind in ROUTE_POLICY_KINDS):
            return
        policies = RoutePolicies(self.snapshot, self.workspaces)
        for key, view in zip(self.view_keys, self.views, strict=True):
            self._per_view(self.previous.policies, self.kept.policies, key, view,
                           partial(self._attach, policies, view))

    def _attach(self, policies: RoutePolicies, view: VirtualHostView) -> None:
        """P1-P5 on one host's routes. A shared route carries the effect already (same route, same policies):
        its conflicts are reported again; the rest get the policies attached."""
        for i in self._passes_over(view):
            route = view.all_routes[i]
            record = self._checked(route)
            if record is None:
                policies.attach_route(route, self.diags)
                continue
            if record.conflicts is not None:
                policies.report(route, record.conflicts, self.diags)
                continue
            values, applied, conflicts = policies.choose(route)
            policies.report(route, conflicts, self.diags)
            if id(route) not in self._borrowed:  # made by this build: attached in place
                attach(route, values, applied)
            elif not _carries(route, values, applied):  # borrowed but never attached (left out of its first view)
                self.stats["routes_copied"] += 1
                attach(_copy_in_view(view, i), values, applied)
                continue  # not recorded: the shared route still lacks the policies
            record.conflicts = conflicts


def _fresh(route: FlattenedRoute, chain: tuple[ChainLink, ...]) -> FlattenedRoute:
    """A copy the host-level steps may change: its own Position and problems, on `chain`."""
    out = object.__new__(FlattenedRoute)
    out.__dict__ = {**route.__dict__, "chain": chain, "problems": list(route.problems),
                    "position": Position(route.position.reason, route.position.detail)}
    return out


def _relinked(outcome: Outcome, chain: tuple[ChainLink, ...]) -> Outcome:
    """A reused table's routes for this build: copies on this build's links above the table."""
    if isinstance(outcome, TableConflict):
        return outcome
    above = len(chain)
    return [_fresh(r, chain + r.chain[above:]) for r in outcome]


def _carries(route: FlattenedRoute, values: dict[str, Any], applied: list[str]) -> bool:
    """Whether `route` already has the options and names the policies give it (attaching is idempotent)."""
    options = dataclasses.replace(route.options or Policy(), **values) if values else route.options
    return options == route.options and applied == route.applied_policies


def _copy_in_view(view: VirtualHostView, i: int) -> FlattenedRoute:
    """A copy of route i of `view`'s routes (shared with an earlier view), in place of it in both lists."""
    route = view.all_routes[i]
    copy = view.all_routes[i] = _fresh(route, route.chain)
    view.routes = [copy if r is route else r for r in view.routes]
    return copy
