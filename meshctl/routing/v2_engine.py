"""The route engine for Gloo v2: VirtualGateway listeners → hosts → merged, flattened routes with provenance.

It is the v1beta1 engine (RouteEngine) with v2 roots and v2 delegation: the same matcher merge, route expansion,
ROUTE_SPECIFICITY sort, positions and shadow analysis, so every surface reads the result unchanged. Rules are
those of docs/route-semantics.md, section "Gloo v2" (G3-G5, R4, R6-R9, R11, R13, R14)."""

from __future__ import annotations

import dataclasses
import threading
from operator import attrgetter
from typing import Any, Iterable

from ..model.common import Policy, RedirectAction, Route
from ..model.findings import Finding, Severity
from ..model.regex import regex_error
from ..model.resources import Resource
from ..model.snapshot import Snapshot
from ..model.v2.resources import ObjectSelectorV2, RouteTableV2, VirtualGatewayV2
from ..model.v2.validate import v2_resources
from .flatten import (
    ROUTE_SPECIFICITY,
    TABLE_WEIGHT,
    RouteEngine,
    _Diagnostics,
    _ordinal,
    _regexes,
    _route_id_part,
    order_by_specificity,
)
from .matchers import ROOT, EffectiveMatcher, merge
from .types import ChainLink, FlattenedRoute, GatewayView, Position, TableNode, TreeNode, VirtualHostView
from .v2_binding import bind, references_gateway
from .v2_convert import V2Delegate, V2Destination, V2RouteAction, converted_routes
from .v2_visibility import binding_problem, delegation_problem, destination_problem, selector_reaches

# v1beta1 field names the shared engine uses in finding paths, and their v2 names
_V2_FIELDS = {"routeAction": "forwardTo", "delegateAction": "delegate", "redirectAction": "redirect",
              "directResponseAction": "directResponse", "routes": "http"}
REPLACEMENT_STATUS = 500
_DESTINATION_REFS = ("kube_service", "virtual_destination", "external_service")
_VALID = attrgetter("valid")
_REPLACED = attrgetter("replaced_by_direct_response")


class _V2Diagnostics(_Diagnostics):
    """Findings on v2 resources name v2 fields (`spec.http[0].delegate`, not `delegateAction`)."""

    def add(self, resource: Resource, severity: Severity, code: str, message: str,
            path: tuple[Any, ...] = (), routes: tuple[str, ...] = (), witness: str | None = None) -> None:
        if isinstance(resource, RouteTableV2):
            path = tuple(_V2_FIELDS.get(p, p) if isinstance(p, str) else p for p in path)
            if code == "route-no-action":
                message = "route has no action (forwardTo, delegate, redirect or directResponse)"
        super().add(resource, severity, code, message, path, routes, witness)


def root_order(table: RouteTableV2) -> tuple[Any, ...]:
    """R8 (our decision): root tables sharing a host: weight descending, then creation time, namespace, name."""
    return (-table.spec.weight, table.metadata.creation_timestamp, table.namespace, table.name)


def selection_order(table: RouteTableV2) -> tuple[Any, ...]:
    """R6: tables matched by one selector, oldest first; then name (and namespace) for equal or missing times."""
    return (table.metadata.creation_timestamp, table.name, table.namespace)


class FreezeMemory:
    """The last good routes of each FREEZE_CONFIG tree (gateway listener, host, root table), across the snapshots
    of one live session (the xDS server's workspace), so a broken tree keeps serving them (R11)."""

    def __init__(self) -> None:
        self._good: dict[tuple[Any, ...], list[FlattenedRoute]] = {}
        self._lock = threading.Lock()

    def remember(self, key: tuple[Any, ...], routes: list[FlattenedRoute]) -> None:
        with self._lock:
            self._good[key] = list(routes)

    def recall(self, key: tuple[Any, ...]) -> list[FlattenedRoute] | None:
        with self._lock:
            routes = self._good.get(key)
        # copies: the engine may still change a route of the view it recalls into, and the earlier view keeps its own
        return None if routes is None else [dataclasses.replace(r, problems=list(r.problems)) for r in routes]


def freeze_memory_of(owner: Any) -> FreezeMemory:
    """The FreezeMemory kept on a long-lived object (a Workspace), created on first use."""
    memory = getattr(owner, "_meshctl_freeze_memory", None)
    if memory is None:
        memory = FreezeMemory()
        owner._meshctl_freeze_memory = memory
    return memory


HostKey = tuple[Any, ...]  # the listener (gateway namespace, name, listener index) and the host
TableKey = tuple[str, str, str]


@dataclasses.dataclass(frozen=True, slots=True)
class TableConflict:
    """R4: route `index` of a delegated table conflicts with the delegating route (`message` says how)."""

    index: int
    message: str


class _SelectionIndex:
    """The tables a delegate selector can match, found by name or by one of its labels instead of a scan of every
    table; each bucket keeps the tables' order (selection_order sorts stably)."""

    def __init__(self, tables: list[RouteTableV2]) -> None:
        self.tables = tables
        self.by_name: dict[str, list[RouteTableV2]] = {}
        self.by_label: dict[tuple[str, str], list[RouteTableV2]] = {}
        for t in tables:
            self.by_name.setdefault(t.name, []).append(t)
            for label in t.labels.items():
                self.by_label.setdefault(label, []).append(t)

    def candidates(self, sel: ObjectSelectorV2) -> list[RouteTableV2]:
        if sel.name:
            return self.by_name.get(sel.name, [])
        if sel.labels:
            return min((self.by_label.get(label, []) for label in sel.labels.items()), key=len)
        return self.tables


class V2RouteEngine(RouteEngine):
    def __init__(self, snapshot: Snapshot, freeze: FreezeMemory | None = None) -> None:
        super().__init__(snapshot)
        self.freeze = freeze
        self._listener_key: tuple[Any, ...] = ()
        self.diags = _V2Diagnostics()
        from ..model.v2.workspaces import workspaces_of

        self.workspaces = workspaces_of(snapshot)
        # W3/W5: resources outside every workspace (or outside its config namespaces) are not read
        self.tables: list[RouteTableV2] = [t for t in v2_resources(snapshot, RouteTableV2)
                                           if self.workspaces.config_counts(t)]
        self.gateways: list[VirtualGatewayV2] = [g for g in v2_resources(snapshot, VirtualGatewayV2)
                                                 if self.workspaces.config_counts(g)]
        self._not_visible: set[tuple[tuple[str, str, str], tuple[str, str, str]]] = set()
        self._translating: str | None = None  # the workspace translating the current root table (R16)
        self._converted: dict[tuple[str, str, str], list[Route]] = {}
        self.views: list[VirtualHostView] = []
        self.view_keys: list[HostKey] = []  # (gateway namespace, name, listener index, host) of each view
        self.listener_port: int | None = None
        self._selectable: _SelectionIndex | None = None
        self._services: set[tuple[str, str]] | None = None
        self._destination_problems: dict[tuple[str, str, str, str], str | None] = {}
        # per view built here: (view, its all_routes, the indexes the host-level passes look at); see _host_view
        self._loose: dict[int, tuple[VirtualHostView, list[FlattenedRoute], list[int]]] = {}

    # -- gateways, listeners, hosts ----------------------------------------------------------------
    def build_gateways(self) -> list[GatewayView]:
        out: list[GatewayView] = []
        roots = sorted((t for t in self.tables if t.spec.hosts), key=root_order)
        admitted: set[tuple[str, str, str]] = set()
        losers = self._listener_conflicts()
        for vg in sorted(self.gateways, key=lambda g: (g.namespace, g.name)):
            http = [(i, ls) for i, ls in enumerate(vg.spec.listeners) if ls.is_http]
            for i, ls in http:
                if (vg.key, i) in losers:
                    continue
                self.listener_port = ls.port.number if ls.port is not None else None
                self._listener_key = (vg.namespace, vg.name, i)
                self._translating = self.workspaces.owner(vg)
                by_host: dict[str, list[RouteTableV2]] = {}
                for table in roots:
                    if not references_gateway(table, vg) or not self._may_bind(table, vg):
                        continue
                    binding = bind(ls, vg, table)
                    if binding is None:
                        continue
                    admitted.add(table.key)
                    for host in binding.hosts:
                        by_host.setdefault(host.lower(), []).append(table)
                views = [self._host_view(vg, i, host, tables) for host, tables in by_host.items()]
                if ls.https_redirect:
                    for view in views:
                        self._https_redirect(vg, i, view)
                if not views:
                    self.diags.add(vg, Severity.WARNING, "listener-no-route-tables",
                                   f"no RouteTable binds to listener {i} of this gateway; it serves nothing",
                                   ("spec", "listeners", i))
                label = ls.label(i) if len(http) > 1 else None
                out.append(GatewayView(vg, views, label, i, self.listener_port))
        self.listener_port = None
        self._gateway_refs(admitted)
        self._unreached_v2()
        self._missing_destinations()
        for key, view in zip(self.view_keys, self.views, strict=True):
            self.diags.items.extend(self._host_shadow(key, view))
        return out

    def _host_shadow(self, key: HostKey, view: VirtualHostView) -> list[Finding]:
        from .shadow import analyse_shadowing

        return analyse_shadowing(view)

    def attach_policies(self) -> None:
        """P1-P5: route policies by route labels, on every route of every host built."""
        from .v2_policies import attach_route_policies

        attach_route_policies(self.snapshot, self.workspaces, self.views, self.diags)

    def _may_bind(self, table: RouteTableV2, vg: VirtualGatewayV2) -> bool:
        """G2, reported once per (table, gateway)."""
        problem = binding_problem(self.workspaces, table, vg)
        if problem is None:
            return True
        if (table.key, vg.key) not in self._not_visible:
            self._not_visible.add((table.key, vg.key))
            j = references_gateway(table, vg)[0]
            self.diags.add(table, Severity.ERROR, "route-table-not-visible", problem, ("spec", "virtualGateways", j))
        return False

    def _listener_conflicts(self) -> set[tuple[tuple[str, str, str], int]]:
        """G6: listeners on one port with the same app protocol and "first host" conflict; (our decision) the
        older gateway (creation time, then namespace/name) and, within it, the earlier listener win."""
        seen: dict[tuple[Any, ...], tuple[VirtualGatewayV2, int]] = {}
        losers: set[tuple[tuple[str, str, str], int]] = set()
        order = sorted(self.gateways, key=lambda g: (g.metadata.creation_timestamp, g.namespace, g.name))
        for vg in order:
            for i, ls in enumerate(vg.spec.listeners):
                if ls.port is None or ls.port.number is None:
                    continue
                first = ls.allowed_route_tables[0].host if ls.allowed_route_tables else "*"
                protocol = (ls.app_protocol or ("HTTPS" if ls.tls is not None else "HTTP") if ls.is_http
                            else "TCP").upper()
                key = (ls.port.number, protocol, first)
                if key in seen:
                    winner, j = seen[key]
                    losers.add((vg.key, i))
                    self.diags.add(vg, Severity.ERROR, "listener-conflict",
                                   f"listener {i} (port {ls.port.number}, {protocol}, first host {first!r}) conflicts "
                                   f"with listener {j} of VirtualGateway {winner.namespace}/{winner.name}, which was "
                                   "accepted first; this listener is not served", ("spec", "listeners", i))
                else:
                    seen[key] = (vg, i)
        return losers

    def _https_redirect(self, vg: VirtualGatewayV2, index: int, view: VirtualHostView) -> None:
        """A listener with httpsRedirect answers every request with a 301 to the same URL on https."""
        path = ("spec", "listeners", index, "httpsRedirect")
        route = Route(name="https-redirect",
                      redirect_action=RedirectAction(https_redirect=True, response_code="MOVED_PERMANENTLY"))
        link = ChainLink(vg, index, "https-redirect", path, None, f"{vg.ref}#listener-{index}-https-redirect")
        leaf = FlattenedRoute(id=link.id_part, name="https-redirect", chain=(link,), matchers=(ROOT,), route=route,
                              options=Policy(), position=Position("written order",
                                                                  f"listener {index} has httpsRedirect"))
        view.routes = [leaf]

    def _gateway_refs(self, admitted: set[tuple[str, str, str]]) -> None:
        known = {(g.namespace, g.name) for g in self.gateways}
        for table in self.tables:
            if not table.spec.hosts:
                continue
            for j, ref in enumerate(table.spec.virtual_gateways):
                ns = ref.namespace or table.namespace
                if (ns, ref.name) not in known:
                    self.diags.add(table, Severity.ERROR, "dangling-gateway-ref",
                                   f"virtualGateways names VirtualGateway {ns}/{ref.name} "
                                   f"({'networking.gloo.solo.io/v2'}), which does not exist",
                                   ("spec", "virtualGateways", j))
                elif table.key not in admitted and not any(t == table.key for t, _ in self._not_visible):
                    self.diags.add(table, Severity.WARNING, "route-table-not-admitted",
                                   f"no listener of VirtualGateway {ns}/{ref.name} admits this table: none of its "
                                   f"hosts ({', '.join(table.spec.hosts)}) passes the listeners' allowedRouteTables",
                                   ("spec", "virtualGateways", j))
            if not table.spec.virtual_gateways:
                self.diags.add(table, Severity.INFO, "east-west-only",
                               "this root table names no virtualGateways: it applies to sidecars only (east-west, "
                               "E1/E4); see `meshctl routes --workload NS/NAME`", ("spec", "hosts"))

    def _unreached_v2(self) -> None:
        for table in self.tables:
            if not table.spec.hosts and table.key not in self.reached_tables:
                self.diags.add(table, Severity.WARNING, "unreached-route-table",
                               "no delegate selects this RouteTable, so its routes are not served",
                               ("metadata", "name"))

    def _host_view(self, vg: VirtualGatewayV2, listener: int, host: str,
                   tables: list[RouteTableV2]) -> VirtualHostView:
        flat: list[FlattenedRoute] = []
        tree: list[TreeNode] = []
        owner = tables[0]
        # indexes in `flat` of the routes the host-level passes look at (all but the ones an earlier view settled,
        # which are valid and found nothing: the incremental engine's 10,000 routes are not walked again)
        loose: list[int] = []
        for table in tables:
            routes = converted_routes(table, self._converted)
            start, table_loose = len(flat), len(loose)
            for i, route in enumerate(routes):
                rpath = ("spec", "http", i)
                link = ChainLink(table, i, route.name, rpath, None, _route_id_part(table.ref, (), i, route.name))
                node, produced = self._root_route(route, link)
                detail = f"route {i} of {table.ref}, in written order"
                base = len(flat)
                for j in self._unsettled(produced):
                    r = produced[j]
                    if r.sort_method is None and (r.position.reason != "written order" or r.position.detail != detail):
                        self._writable(produced, j).position = Position("written order", detail)
                    self._check_destinations_visible(produced, j)
                    loose.append(base + j)
                tree.append(node)
                flat.extend(produced)
            frozen = self._failure_mode(table, flat, start, [flat[k] for k in loose[table_loose:]],
                                        (*self._listener_key, host, table.key))
            if frozen is not None:
                flat[start:] = frozen
                loose[table_loose:] = range(start, len(flat))
        checked = [flat[k] for k in loose]
        # the routes not checked are valid, so not replaced either
        routes_served = list(flat) if all(map(_VALID, checked)) else [
            r for r in flat if r.valid or r.replaced_by_direct_response]
        view = VirtualHostView(owner, host, [host], routes_served, tree, ("spec",), all_routes=flat)
        view.invalid_policy = "directResponse" if any(map(_REPLACED, checked)) else None
        self._loose[id(view)] = (view, flat, loose)
        self._add_view(view)
        return view

    def _root_route(self, route: Route, link: ChainLink) -> tuple[TreeNode, list[FlattenedRoute]]:
        """One route written in a root table, expanded (a hook: the incremental engine reuses it)."""
        return self._expand(route, (link,), [ROOT], True, None, {}, None, ())

    def _unsettled(self, routes: list[FlattenedRoute]) -> Iterable[int]:
        """The indexes of the routes the host-level passes must look at (the incremental engine skips the routes
        an earlier view settled)."""
        return range(len(routes))

    def _passes_over(self, view: VirtualHostView) -> Iterable[int]:
        """The indexes in `view.all_routes` a host-level pass looks at (see _host_view); every route of a view
        made elsewhere."""
        kept = self._loose.get(id(view))
        if kept is not None and kept[0] is view and kept[1] is view.all_routes:
            return kept[2]
        return self._unsettled(view.all_routes)

    def _add_view(self, view: VirtualHostView) -> None:
        self.views.append(view)
        self.view_keys.append((*self._listener_key, view.name))

    def _check_destinations_visible(self, routes: list[FlattenedRoute], i: int) -> None:
        """R16: a destination not visible in the translating workspace makes the route invalid."""
        problems = self._visibility_problems(routes[i])
        if problems:
            self._invalidate(routes, i, problems)

    def _visibility_problems(self, r: FlattenedRoute) -> tuple[tuple[int, str], ...]:
        """R16's problems with one route: (destination index, sentence)."""
        action = r.route.route_action
        if self._translating is None or not isinstance(action, V2RouteAction) or not r.valid:
            return ()
        found = ((k, self._destination_problem(d, self._translating)) for k, d in enumerate(action.destinations))
        return tuple((k, problem) for k, problem in found if problem is not None)

    def _invalidate(self, routes: list[FlattenedRoute], i: int, problems: tuple[tuple[int, str], ...]) -> None:
        r = self._detached(routes, i)
        link = r.chain[-1]
        for k, problem in problems:
            r.valid = False
            r.problems.append(problem)
            self.diags.add(link.resource, Severity.ERROR, "destination-not-visible", problem,
                           link.route_path + ("forwardTo", "destinations", k), routes=(r.id,))

    def _detached(self, routes: list[FlattenedRoute], i: int) -> FlattenedRoute:
        """routes[i], about to become invalid: as `_writable`, and the incremental engine never invalidates a route
        it keeps for later builds (those share only valid routes)."""
        return self._writable(routes, i)

    def _destination_problem(self, d: Any, where: str) -> str | None:
        """destination_problem, once per destination reference and workspace (routes share a few services)."""
        for attr in _DESTINATION_REFS:  # the first reference set decides, as in destination_problem
            ref = getattr(d, attr, None)
            if ref is not None:
                break
        else:
            return None
        key = (attr, ref.namespace, ref.name, where)
        if key not in self._destination_problems:
            self._destination_problems[key] = destination_problem(self.workspaces, self.snapshot, d, where)
        return self._destination_problems[key]

    def _failure_mode(self, root: RouteTableV2, flat: list[FlattenedRoute], start: int,
                      loose: list[FlattenedRoute], key: tuple[Any, ...]) -> list[FlattenedRoute] | None:
        """R11: ROUTE_REPLACEMENT answers 500 in place of each broken route; FREEZE_CONFIG keeps the last good
        tree: the routes remembered from an earlier snapshot of this session (returned), or, offline or with no
        good tree yet, the valid routes only; either way it is reported. The tree's routes are flat[start:];
        `loose` are those the host-level passes looked at (the others are valid)."""
        invalid = [r for r in loose if not r.valid and r.replaced_by_direct_response is None]
        freeze = root.spec.failure_mode == "FREEZE_CONFIG"
        if not invalid:
            if freeze and self.freeze is not None:
                self.freeze.remember(key, flat[start:])
            return None
        if freeze:
            last_good = self.freeze.recall(key) if self.freeze is not None else None
            kept = ("serves the last good routes of this tree, from an earlier snapshot" if last_good is not None
                    else "has no earlier good tree, so it serves the valid routes only")
            self.diags.add(root, Severity.ERROR, "freeze-config",
                           f"{len(invalid)} invalid route(s) in this tree and failureMode FREEZE_CONFIG: Gloo keeps "
                           f"the last accepted configuration of the whole tree; meshctl {kept}",
                           ("spec", "failureMode"), routes=tuple(r.id for r in invalid))
            return last_good
        for r in invalid:
            # a matcher Envoy would reject (an RE2-invalid regex) cannot carry the 500 either: left out
            if r.matchers and not any(regex_error(t) for m in r.matchers for t in _regexes(m)):
                r.replaced_by_direct_response = (REPLACEMENT_STATUS, f"invalid route {r.name or r.id}: "
                                                                     f"{r.problems[0] if r.problems else 'invalid'}")
        return None

    def _missing_destinations(self) -> None:
        for key, view in zip(self.view_keys, self.views, strict=True):
            self._missing_in(key, view)

    def _known_services(self) -> set[tuple[str, str]]:
        """(namespace, name) of every Service the configuration knows, as resources or inside Cluster objects."""
        if self._services is None:
            self._services = {(s.namespace, s.name) for s in self.snapshot.of_kind("Service")}
            for c in self.snapshot.of_kind("Cluster"):
                for s in getattr(getattr(c, "spec", None), "services", []):
                    self._services.add((s.namespace, s.name))
        return self._services

    def _missing_in(self, key: HostKey, view: VirtualHostView) -> None:
        """`missing-destination` for the routes of one host."""
        routes = view.all_routes
        for j in self._passes_over(view):
            r = routes[j]
            missing = self._route_missing(r)
            link = r.chain[-1]
            for k, text in missing:
                self.diags.add(link.resource, Severity.WARNING, "missing-destination",
                               f"destination {text} does not exist in the loaded configuration",
                               link.route_path + ("forwardTo", "destinations", k), routes=(r.id,))

    def _route_missing(self, r: FlattenedRoute) -> tuple[tuple[int, str], ...]:
        """The destinations of one route the configuration does not have: (index, what it names)."""
        action = r.route.route_action
        if not isinstance(action, V2RouteAction):
            return ()
        found = ((k, self._missing(d) if isinstance(d, V2Destination) else None)
                 for k, d in enumerate(action.destinations))
        return tuple((k, text) for k, text in found if text)

    def _missing(self, d: V2Destination) -> str | None:
        """The object a destination names when the configuration does not have it (Services: only when any
        Service is known at all)."""
        if d.kube_service is not None:
            services = self._known_services()
            known = not services or (d.kube_service.namespace, d.kube_service.name) in services
            return None if known else f"Service {d.kube_service.namespace}/{d.kube_service.name}"
        for ref, kind in ((d.virtual_destination, "VirtualDestination"), (d.external_service, "ExternalService")):
            if ref is not None:
                found = self.snapshot.get(kind, ref.namespace, ref.name)
                return None if found is not None else f"{kind} {ref.namespace}/{ref.name}"
        return None

    # -- one route ----------------------------------------------------------------------------------
    def _expand(self, route: Route, chain: tuple[ChainLink, ...], parent_matchers: list[EffectiveMatcher],
                parent_is_root: bool, inherited: Any, inherited_labels: dict[str, str], active_sort: str | None,
                visiting: tuple[tuple[str, str, str], ...]) -> tuple[TreeNode, list[FlattenedRoute]]:
        ports = [getattr(m, "port", None) for m in route.matchers]
        if self.listener_port is not None and any(ports):
            kept = [m for m, p in zip(route.matchers, ports, strict=True) if not p or p == self.listener_port]
            if not kept:  # every matcher wants another listener port: the route is not on this listener
                return TreeNode(chain[-1], route, (), problems=[f"matches port(s) other than {self.listener_port}"]), []
            route = dataclasses.replace(route, matchers=kept)
        node, produced = super()._expand(route, chain, parent_matchers, parent_is_root, inherited,
                                         inherited_labels, active_sort, visiting)
        action = route.route_action
        if isinstance(action, V2RouteAction) and action.weight_problem and produced:
            for r in produced:
                if action.weight_problem not in r.problems:
                    r.problems.append(action.weight_problem)
                    r.valid = False
            self.diags.add(chain[-1].resource, Severity.ERROR, "bad-weights", action.weight_problem,
                           chain[-1].route_path + ("forwardTo", "destinations"), routes=tuple(r.id for r in produced))
        return node, produced

    def _delegate(self, node: TreeNode, route: Route, chain: tuple[ChainLink, ...], matchers: list[EffectiveMatcher],
                  options: Any, labels: dict[str, str], active_sort: str | None,
                  visiting: tuple[tuple[str, str, str], ...]) -> list[FlattenedRoute]:
        delegate = route.delegate_action
        if not isinstance(delegate, V2Delegate):
            return super()._delegate(node, route, chain, matchers, options, labels, active_sort, visiting)
        link = chain[-1]
        owner, dpath = link.resource, link.route_path + ("delegateAction",)
        effective_sort = self._sort_method(node, delegate, active_sort, owner, dpath)
        tables = self._v2_delegate_tables(owner, delegate, dpath)
        tables.sort(key=lambda t: -t.weight)  # stable: equal weights keep selector, then creation order (R6)
        produced: list[FlattenedRoute] = []
        for t_index, table_node in enumerate(tables):
            table = table_node.table
            assert isinstance(table, RouteTableV2)
            if self._closes_cycle(owner, table, visiting, dpath):
                continue
            self._reach(table.key)
            node.tables.append(table_node)
            weight_reason = (f"table {table.namespace}/{table.name} (weight {table.spec.weight}, {table_node.via}, "
                             f"{_ordinal(t_index + 1)} of {len(tables)} under {link.ref}), route ")
            expanded = self._v2_table_routes(table, table_node, chain, matchers, options, labels, effective_sort,
                                             visiting + (owner.key,))
            if isinstance(expanded, TableConflict):
                return [self._conflict_route(node, chain, matchers, options, labels, active_sort, expanded.message,
                                             table, expanded.index)]
            if effective_sort == TABLE_WEIGHT:
                self._place_by_weight(table, expanded, weight_reason)
            produced.extend(expanded)
        if active_sort is None and effective_sort == ROUTE_SPECIFICITY:
            self._order_by_specificity(produced, chain)
        return produced

    def _order_by_specificity(self, produced: list[FlattenedRoute], chain: tuple[ChainLink, ...]) -> None:
        """ROUTE_SPECIFICITY below the delegating route that ends `chain`."""
        order_by_specificity(produced, chain[-1].ref, self._writable)

    def _v2_table_routes(self, table: RouteTableV2, table_node: TableNode, chain: tuple[ChainLink, ...],
                         matchers: list[EffectiveMatcher], options: Any, labels: dict[str, str],
                         effective_sort: str | None, below: tuple[TableKey, ...]) -> list[FlattenedRoute] | TableConflict:
        """The routes of one delegated table in written order (its subtrees expanded), its tree nodes added; or the
        first child route that conflicts with the delegating route (R4), once the routes before it were expanded."""
        produced: list[FlattenedRoute] = []
        for j, child in enumerate(converted_routes(table, self._converted)):
            conflict = self._conflict(matchers, child)
            if conflict:
                return TableConflict(j, conflict)
            child_link = ChainLink(table, j, child.name, ("spec", "http", j), table.spec.weight,
                                   _route_id_part(table.ref, (), j, child.name))
            child_node, child_routes = self._expand(
                child, chain + (child_link,), matchers, False, options, labels, effective_sort, below)
            table_node.routes.append(child_node)
            produced.extend(child_routes)
        return produced

    def _conflict(self, parent: list[EffectiveMatcher], child: Route) -> str | None:
        """A parent/child header, query or method contradiction (R4), as the merge reports it."""
        if not any(m.headers or m.query or m.method for m in parent) and not any(
                m.headers or m.query_parameters or m.method for m in child.matchers):
            return None
        for pm in parent:
            for cm in (child.matchers or [None]):  # type: ignore[list-item]  # None: a child without matchers
                for code, message in merge(pm, cm, False).problems:
                    if code == "matcher-conflict":
                        return message
        return None

    def _conflict_route(self, node: TreeNode, chain: tuple[ChainLink, ...], matchers: list[EffectiveMatcher],
                        options: Any, labels: dict[str, str], active_sort: str | None, message: str,
                        table: RouteTableV2, j: int) -> FlattenedRoute:
        """R4 [P]: a parent/child conflict replaces the delegating route with a direct response saying why."""
        link = chain[-1]
        why = f"route {j} of {table.ref} conflicts with the delegating route: {message}"
        self.diags.add(table, Severity.ERROR, "matcher-conflict",
                       f"{why}; the delegating route {link.ref} answers {REPLACEMENT_STATUS} instead",
                       ("spec", "http", j, "matchers"))
        self.diags.add(link.resource, Severity.ERROR, "delegate-replaced",
                       f"delegating route replaced by a {REPLACEMENT_STATUS} direct response: {why}",
                       link.route_path + ("delegateAction",))
        node.tables = []
        leaf = FlattenedRoute(id=" > ".join(l.id_part for l in chain), name=link.route_name, chain=chain,
                              matchers=tuple(matchers), route=node.route, options=options,
                              position=Position("written order", "delegating route replaced (matcher conflict)"),
                              valid=False, problems=[why], replaced_by_direct_response=(REPLACEMENT_STATUS, why),
                              labels=labels, sort_method=active_sort, branch_weight=link.weight)
        node.problems.append(why)
        node.flat_ids = [leaf.id]
        return leaf

    def _v2_selected(self, sel: ObjectSelectorV2) -> list[RouteTableV2]:
        """The tables one delegate selector matches, in selection order (R6), before visibility (R2)."""
        if self._selectable is None:
            self._selectable = _SelectionIndex(self.tables)
        hits = [t for t in self._selectable.candidates(sel)
                if (not sel.name or t.name == sel.name) and (not sel.namespace or t.namespace == sel.namespace)
                and all(t.labels.get(k) == v for k, v in sel.labels.items())
                and selector_reaches(self.workspaces, sel, t)]
        hits.sort(key=selection_order)
        return hits

    def _v2_delegate_tables(self, owner: Resource, delegate: V2Delegate, dpath: tuple[Any, ...]) -> list[TableNode]:
        out: list[TableNode] = []
        seen: set[tuple[str, str, str]] = set()
        if not delegate.route_tables:
            self.diags.add(owner, Severity.ERROR, "delegate-no-target", "delegate has no routeTables selectors",
                           dpath)
        for j, sel in enumerate(delegate.route_tables):
            hits = self._v2_selected(sel)
            visible = []
            for t in hits:  # R2: only tables visible in the parent's workspace (and, strictly, seeing it back)
                problem = None if t.spec.hosts else delegation_problem(self.workspaces, owner, t)
                if problem is None:
                    visible.append(t)
                else:
                    self.diags.add(owner, Severity.ERROR, "delegate-not-visible", problem,
                                   dpath + ("routeTables", j))
            hits = visible
            if not hits:
                self.diags.add(owner, Severity.WARNING, "selector-selects-nothing",
                               "delegate.routeTables selector selects no RouteTable", dpath + ("routeTables", j))
            how = "name" if sel.name and not sel.labels else "labels"
            for table in hits:
                if table.key in seen:
                    continue
                seen.add(table.key)
                if table.spec.hosts:
                    # a root table is never a child; picked by name that is a mistake, by labels or namespace an
                    # overlap (e.g. the root table itself in the selected namespace) worth a note only
                    by_name = bool(sel.name)
                    self.diags.add(owner, Severity.ERROR if by_name else Severity.INFO, "delegate-to-root",
                                   f"delegate selects RouteTable {table.namespace}/{table.name}, which has hosts; "
                                   "a delegated table must have none, so it is skipped", dpath + ("routeTables", j))
                    continue
                out.append(TableNode(table, table.spec.weight, f"selector {j + 1} ({how})"))
        return out


def add_v2_gateways(snapshot: Snapshot, gateways: list[GatewayView], diagnostics: list[Any],
                    freeze: FreezeMemory | None = None, engine: V2RouteEngine | None = None) -> None:
    """Append the v2 gateways (one view per HTTP listener) and their findings to a v1beta1 result. `engine`: one
    built for this snapshot (the incremental one), else a fresh V2RouteEngine."""
    engine = engine if engine is not None else V2RouteEngine(snapshot, freeze)
    gateways.extend(engine.build_gateways())
    engine.attach_policies()
    diagnostics.extend(engine.diags.items)
