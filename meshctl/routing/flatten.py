"""The route engine: for each VirtualGateway, the exact ordered routes Envoy sees per virtual host, and why.

Semantics (docs/route-semantics.md): routes in written order; a delegating route is replaced in place by its
children (refs in list order, then selector hits by namespace/name, each table once); TABLE_WEIGHT sorts those
tables by weight (higher first, stable); ROUTE_SPECIFICITY flattens the whole subtree and stable-sorts it by the
most specific matcher; the top-most delegate's sort method wins.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Callable

from ..model.common import POLICY_FIELDS, Policy, Route
from ..model.findings import Finding, Severity, format_path
from ..model.regex import regex_error
from ..model.resources import Resource, RouteTable, VirtualGateway, VirtualHost, VirtualHostSpec
from ..model.selection import select
from ..model.snapshot import Snapshot
from ..model.validate import gateway_virtual_hosts
from .matchers import ROOT, EffectiveMatcher, merge
from .types import (
    ChainLink,
    FlattenedRoute,
    GatewayView,
    Position,
    RoutingView,
    TableNode,
    TreeNode,
    VirtualHostView,
)

TABLE_WEIGHT = "TABLE_WEIGHT"
ROUTE_SPECIFICITY = "ROUTE_SPECIFICITY"
_LAST = (9, 0)  # sort key of a route without usable matchers


def merge_options(parent: Policy | None, child: Policy | None) -> Policy:
    """Top-level fields inherited one by one; a field the child sets wins (our decision, as Gloo Edge does)."""
    if parent is None:
        return child if child is not None else Policy()
    if child is None:
        return parent
    return Policy(**{f: (getattr(child, f) if getattr(child, f) is not None else getattr(parent, f))
                     for f in POLICY_FIELDS})


def specificity_key(route: FlattenedRoute) -> tuple[int, int]:
    """The route's single most specific matcher decides; exact < regex < prefix, longer first."""
    if not route.matchers:
        return _LAST
    return min(m.specificity() for m in route.matchers)


class DiagnosticEvent:
    """One `add` call, kept so an incremental rebuild can replay a reused subtree's findings in their order."""

    __slots__ = ("key", "resource", "args", "_finding")

    def __init__(self, key: tuple[Any, ...], resource: Resource, args: tuple[Any, ...]) -> None:
        self.key, self.resource, self.args = key, resource, args
        self._finding: Finding | None = None

    def finding(self) -> Finding:
        if self._finding is None:
            severity, code, message, path, routes, witness = self.args
            file, line, col = self.resource.locate(path)
            self._finding = Finding(severity, code, message, file=file, line=line, column=col,
                                    resource=self.resource.display, path=format_path(path) or None,
                                    routes=routes, witness=witness)
        return self._finding


_ID = attrgetter("id")
_VALID = attrgetter("valid")
_SORT_METHOD = attrgetter("sort_method")


def _as_is(routes: list[FlattenedRoute], i: int) -> FlattenedRoute:
    return routes[i]


def order_by_specificity(produced: list[FlattenedRoute], under: str,
                         writable: Callable[[list[FlattenedRoute], int], FlattenedRoute] = _as_is) -> None:
    """ROUTE_SPECIFICITY: stable-sort a delegate's whole subtree and say each route's rank and why.

    `writable(list, i)` gives the route to change (see RouteEngine._writable); a position already right is kept."""
    produced.sort(key=specificity_key)  # list.sort is stable: ties keep weight-then-written order
    for rank, r in enumerate(produced):
        key = specificity_key(r)
        kind = {0: "exact", 1: "regex", 2: "prefix"}.get(key[0], "no matcher")
        best = min(r.matchers, key=lambda m: m.specificity()) if r.matchers else None
        length = f", length {len(best.path)}" if best and kind in ("exact", "prefix") else ""
        detail = f"rank {rank + 1} of {len(produced)} under {under} by specificity: {kind}{length}"
        if r.position.reason != "route specificity" or r.position.detail != detail:
            writable(produced, rank).position = Position("route specificity", detail)


class _Diagnostics:
    def __init__(self) -> None:
        self.items: list[Finding] = []
        self._seen: set[tuple[Any, ...]] = set()
        # open recordings (incremental engine): every add lands in each, duplicates included, in call order
        self.recorders: list[list[DiagnosticEvent]] = []

    def add(self, resource: Resource, severity: Severity, code: str, message: str,
            path: tuple[Any, ...] = (), routes: tuple[str, ...] = (), witness: str | None = None) -> None:
        key = (code, resource.key, path, message)
        if self.recorders:
            self.replay(DiagnosticEvent(key, resource, (severity, code, message, path, routes, witness)))
            return
        if key in self._seen:
            return
        self._seen.add(key)
        file, line, col = resource.locate(path)
        self.items.append(Finding(severity, code, message, file=file, line=line, column=col,
                                  resource=resource.display, path=format_path(path) or None,
                                  routes=routes, witness=witness))

    def replay(self, event: DiagnosticEvent) -> None:
        """Apply one recorded add (the same de-duplication as `add`)."""
        for recorder in self.recorders:
            recorder.append(event)
        if event.key in self._seen:
            return
        self._seen.add(event.key)
        self.items.append(event.finding())


class RouteEngine:
    """Builds a RoutingView from a snapshot. Pure: no I/O, no UI."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.diags = _Diagnostics()
        self.route_tables = snapshot.typed(RouteTable)
        self.reached_tables: set[tuple[str, str, str]] = set()
        # route names that do not identify one route of their list: (resource key, path of the list) -> names
        self._ambiguous_names: dict[tuple[Any, ...], set[str]] = {}
        self._vhost_cache: dict[tuple[str, str, str], VirtualHostView] = {}

    # -- gateways and virtual hosts --------------------------------------------------------------
    def build(self) -> RoutingView:
        gateways: list[GatewayView] = []
        selected: set[tuple[str, str, str]] = set()
        for gw in sorted(self.snapshot.typed(VirtualGateway), key=lambda g: (g.namespace, g.name)):
            views: list[VirtualHostView] = []
            claimed: dict[str, str] = {}
            for _label, spec, owner, spec_path in gateway_virtual_hosts(self.snapshot, gw):
                if owner is not gw:
                    selected.add(owner.key)
                view = self._virtual_host(gw, owner, spec, spec_path, len(views))
                views.append(view)
                for d, domain in enumerate(spec.domains):
                    low = domain.lower()
                    if low in claimed and claimed[low] != view.name:
                        self.diags.add(owner, Severity.ERROR, "duplicate-domain",
                                       f"domain {domain!r} is also claimed by {claimed[low]} in gateway {gw.namespace}/"
                                       f"{gw.name}; Envoy rejects a route configuration with a domain twice",
                                       spec_path + ("domains", d))
                    claimed.setdefault(low, view.name)
            gateways.append(GatewayView(gw, views))
        self._unreached(selected)
        for key, view in self._vhost_cache.items():
            self.diags.items.extend(self._shadow_findings(key, view))
        return RoutingView(gateways, self.diags.items)

    def _reach(self, table_key: tuple[str, str, str]) -> None:
        self.reached_tables.add(table_key)

    def _shadow_findings(self, key: tuple[str, str, str], view: VirtualHostView) -> list[Finding]:
        from .shadow import analyse_shadowing

        return analyse_shadowing(view)

    def _unreached(self, selected: set[tuple[str, str, str]]) -> None:
        for vh in self.snapshot.typed(VirtualHost):
            if vh.key not in selected:
                self.diags.add(vh, Severity.WARNING, "unselected-virtual-host",
                               "no VirtualGateway selects this VirtualHost, so none of its routes are served",
                               ("metadata", "name"))
        for rt in self.route_tables:
            if rt.key not in self.reached_tables:
                self.diags.add(rt, Severity.WARNING, "unreached-route-table",
                               "no gateway reaches this RouteTable through delegation, so its routes are not served",
                               ("metadata", "name"))

    def _virtual_host(self, gw: VirtualGateway, owner: Resource, spec: VirtualHostSpec,
                      spec_path: tuple[Any, ...], ordinal: int) -> VirtualHostView:
        cache_key = vhost_key(gw, owner, ordinal)
        hit = self._vhost_cache.get(cache_key)
        if hit is not None:
            return hit
        name = f"{owner.namespace}/{owner.name}" if owner is not gw else f"{gw.namespace}/{gw.name}/inline-{ordinal}"
        inherited = spec.options.traffic_policy if spec.options else None
        flat: list[FlattenedRoute] = []
        tree: list[TreeNode] = []
        self._check_route_names(owner, spec.routes, spec_path + ("routes",))
        for i, route in enumerate(spec.routes):
            rpath = spec_path + ("routes", i)
            link = ChainLink(owner, i, route.name, rpath, None, self._id_part(owner, i, route.name, rpath))
            node, produced = self._top_route(cache_key, route, link, inherited)
            if None in map(_SORT_METHOD, produced):  # a route not below a delegate (looked for in C: 100k routes)
                written = f"route {i} of {name}, in written order"
                for j, r in enumerate(produced):
                    if r.sort_method is None and (r.position.reason != "written order"
                                                  or r.position.detail != written):
                        self._writable(produced, j).position = Position("written order", written)
            tree.append(node)
            flat.extend(produced)
        view = VirtualHostView(owner, name, list(spec.domains), flat, tree, spec_path, all_routes=list(flat))
        if not spec.routes:
            self.diags.add(owner, Severity.WARNING, "empty-virtual-host",
                           "this virtual host has no routes; Envoy answers 404 to every request for its domains",
                           spec_path + ("routes",) if "routes" in spec._keys else spec_path)
        self._apply_invalid_policy(view, spec)
        self._vhost_cache[cache_key] = view
        return view

    def _top_route(self, host_key: Any, route: Route, link: ChainLink,
                   inherited: Policy | None) -> tuple[TreeNode, list[FlattenedRoute]]:
        """One route written in a virtual host, expanded (a hook: the incremental engine reuses it)."""
        return self._expand(route, (link,), [ROOT], True, inherited, {}, None, ())

    def _apply_invalid_policy(self, view: VirtualHostView, spec: VirtualHostSpec) -> None:
        if all(map(_VALID, view.routes)):  # in C: this runs over every route of the host on every build
            return
        invalid = [r for r in view.routes if not r.valid]
        policy = spec.options.invalid_route_policy if spec.options else None
        if policy is not None and policy.direct_response is not None:
            view.invalid_policy = "directResponse"
            code, body = policy.direct_response.code, policy.direct_response.body
            for r in invalid:
                if r.matchers:
                    r.replaced_by_direct_response = (code, body)
            view.routes = [r for r in view.routes if r.valid or r.replaced_by_direct_response]
        elif policy is not None and policy.drop is not None:
            view.invalid_policy = "drop"
            view.routes = [r for r in view.routes if r.valid]
        else:
            view.invalid = True
            view.routes = []
            self.diags.add(view.owner, Severity.ERROR, "virtual-host-invalid",
                           f"{len(invalid)} invalid route(s) and no invalidRoutePolicy: the whole virtual host "
                           f"produces no routes (set options.invalidRoutePolicy drop or directResponse to keep the rest)",
                           view.spec_path, routes=tuple(r.id for r in invalid))

    def _writable(self, routes: list[FlattenedRoute], i: int) -> FlattenedRoute:
        """routes[i], about to be changed. Every change the engine makes to a produced route goes through here, so
        the incremental engine can hand out routes of the previous view unchanged and copy only those it changes."""
        return routes[i]

    def _check_route_names(self, owner: Resource, routes: list[Route], path: tuple[Any, ...]) -> None:
        seen: dict[str, int] = {}
        ambiguous = self._ambiguous_names.setdefault((owner.key, path), set())
        for i, r in enumerate(routes):
            if not r.name:
                continue
            if r.name in seen:
                ambiguous.add(r.name)
                self.diags.add(owner, Severity.WARNING, "duplicate-route-name",
                               f"route name {r.name!r} is also used by route {seen[r.name]} of this resource; "
                               "route names identify routes in Envoy stats and meshctl output",
                               path + (i, "name"))
            else:
                seen[r.name] = i

    def _id_part(self, resource: Resource, index: int, name: str, route_path: tuple[Any, ...]) -> str:
        """A link in route ids: "Kind/ns/name#route", plus "@index" when the name could mean another route."""
        return _route_id_part(resource.ref, self._ambiguous_names.get((resource.key, route_path[:-1]), ()),
                              index, name)

    # -- one route (recursive through delegation) ------------------------------------------------
    def _expand(
        self,
        route: Route,
        chain: tuple[ChainLink, ...],
        parent_matchers: list[EffectiveMatcher],
        parent_is_root: bool,
        inherited: Policy | None,
        inherited_labels: dict[str, str],
        active_sort: str | None,
        visiting: tuple[tuple[str, str, str], ...],
    ) -> tuple[TreeNode, list[FlattenedRoute]]:
        link = chain[-1]
        owner, rpath = link.resource, link.route_path
        problems: list[str] = []

        matchers: list[EffectiveMatcher] = []
        for pm in parent_matchers:
            for j, cm in enumerate(route.matchers or [None]):
                result = merge(pm, cm, parent_is_root)
                mpath = rpath + (("matchers", j) if cm is not None else ())
                for code, message in result.warnings:
                    self.diags.add(owner, Severity.WARNING, code, message, mpath)
                for code, message in result.problems:
                    problems.append(message)
                    self.diags.add(owner, Severity.ERROR, code, message, mpath)
                if result.matcher is not None and result.matcher not in matchers:
                    matchers.append(result.matcher)
        for m in matchers:
            if m.path_kind != "regex" and not m.headers and not m.query:
                continue  # nothing RE2 must accept
            for text in _regexes(m):
                err = regex_error(text)
                if err:
                    message = f"RE2 rejects regex {text!r}: {err}"
                    problems.append(message)
                    self.diags.add(owner, Severity.ERROR, "bad-regex", message, rpath + ("matchers",))

        options = merge_options(inherited, route.options)
        labels = {**inherited_labels, **route.labels}
        actions = route.actions_set()
        if not actions:
            problems.append("route has no action")
            self.diags.add(owner, Severity.ERROR, "route-no-action",
                           "route has no action (routeAction, redirectAction, directResponseAction or delegateAction)",
                           rpath)
        elif len(actions) > 1:
            problems.append("route has more than one action")
            self.diags.add(owner, Severity.ERROR, "route-multiple-actions",
                           f"route has {len(actions)} actions; exactly one is allowed", rpath)
        if route.direct_response_action is not None and not 100 <= route.direct_response_action.status <= 599:
            message = f"direct response status {route.direct_response_action.status} is not an HTTP status (100-599)"
            problems.append(message)
            self.diags.add(owner, Severity.ERROR, "bad-status", message, rpath + ("directResponseAction", "status"))

        node = TreeNode(link, route, tuple(matchers), problems=list(problems))
        if route.delegate_action is not None and len(actions) == 1 and not problems:
            non_prefix = [m for m in matchers if m.path_kind != "prefix"]
            if non_prefix:
                message = f"a delegating route must match a path prefix; got {non_prefix[0].path_kind}"
                problems.append(message)
                node.problems.append(message)
                self.diags.add(owner, Severity.ERROR, "delegate-not-prefix", message, rpath + ("matchers",))
            else:
                produced = self._delegate(node, route, chain, matchers, options, labels, active_sort, visiting)
                node.flat_ids = list(map(_ID, produced))
                return node, produced

        leaf = FlattenedRoute(
            id=" > ".join([l.id_part for l in chain]),
            name=route.name,
            chain=chain,
            matchers=tuple(matchers),
            route=route,
            options=options,
            position=Position("", ""),
            valid=not problems,
            problems=problems,
            labels=labels,
            sort_method=active_sort,
            branch_weight=link.weight,
        )
        node.flat_ids = [leaf.id]
        return node, [leaf]

    def _delegate(
        self,
        node: TreeNode,
        route: Route,
        chain: tuple[ChainLink, ...],
        matchers: list[EffectiveMatcher],
        options: Policy,
        labels: dict[str, str],
        active_sort: str | None,
        visiting: tuple[tuple[str, str, str], ...],
    ) -> list[FlattenedRoute]:
        delegate = route.delegate_action
        assert delegate is not None
        link = chain[-1]
        owner, dpath = link.resource, link.route_path + ("delegateAction",)
        effective_sort = self._sort_method(node, delegate, active_sort, owner, dpath)
        tables = self._delegate_tables(owner, delegate, dpath)
        tables.sort(key=lambda t: -t.weight)  # stable: equal weights keep refs-then-selector order
        produced: list[FlattenedRoute] = []
        for t_index, table_node in enumerate(tables):
            table = table_node.table
            assert isinstance(table, RouteTable)
            if self._closes_cycle(owner, table, visiting, dpath):
                continue
            self._reach(table.key)
            self._check_route_names(table, table.spec.routes, ("spec", "routes"))
            node.tables.append(table_node)
            # the position text is the same for every route of the table but its index: format it once
            weight_reason = (f"table {table.namespace}/{table.name} (weight {table.spec.weight}, {table_node.via}, "
                             f"{_ordinal(t_index + 1)} of {len(tables)} under {link.ref}), route ")
            table_routes = self._table_routes(table, table_node, chain, matchers, options, labels, effective_sort,
                                              visiting + (owner.key,))
            if effective_sort == TABLE_WEIGHT:
                self._place_by_weight(table, table_routes, weight_reason)
            produced.extend(table_routes)

        if active_sort is None and effective_sort == ROUTE_SPECIFICITY:
            order_by_specificity(produced, link.ref, self._writable)
        return produced

    def _place_by_weight(self, table: Resource, table_routes: list[FlattenedRoute], weight_reason: str) -> None:
        """TABLE_WEIGHT: each route written in `table` says where its table and it stand."""
        for i, r in enumerate(table_routes):
            last = r.chain[-1]
            if last.resource is table:
                detail = f"{weight_reason}{last.route_index} in written order"
                if r.position.reason != "table weight" or r.position.detail != detail:
                    self._writable(table_routes, i).position = Position("table weight", detail)

    def _sort_method(self, node: TreeNode, delegate: Any, active_sort: str | None, owner: Resource,
                     dpath: tuple[Any, ...]) -> str | None:
        """The sort method in force below a delegate: the top-most delegate's; a different one written further
        down is reported (v1beta1 and v2 delegates alike)."""
        own_sort = delegate.sort_method
        effective_sort = active_sort or own_sort
        node.sort_method = effective_sort
        if active_sort is not None and "sortMethod" in delegate._keys and own_sort != active_sort:
            node.sort_overridden = True
            self.diags.add(owner, Severity.INFO, "sort-method-overridden",
                           f"sortMethod {own_sort} is overridden by the enclosing delegate's {active_sort}",
                           dpath + ("sortMethod",))
        return effective_sort

    def _closes_cycle(self, owner: Resource, table: Resource, visiting: tuple[tuple[str, str, str], ...],
                      dpath: tuple[Any, ...]) -> bool:
        """True (and reported on the delegating resource) when `table` is already on the delegation path."""
        if table.key not in visiting and table.key != owner.key:
            return False
        cycle = [f"{k[0]} {k[1]}/{k[2]}" for k in visiting + (owner.key, table.key)]
        self.diags.add(owner, Severity.ERROR, "delegation-cycle",
                       "delegation cycle: " + " -> ".join(cycle) + "; this branch is skipped", dpath)
        return True

    def _table_routes(self, table: RouteTable, table_node: TableNode, chain: tuple[ChainLink, ...],
                      matchers: list[EffectiveMatcher], options: Policy, labels: dict[str, str],
                      effective_sort: str | None, below: tuple[tuple[str, str, str], ...]) -> list[FlattenedRoute]:
        """The routes of one delegated table in written order (its subtrees expanded), its tree nodes added."""
        table_ref, ambiguous = table.ref, self._ambiguous_names.get((table.key, ("spec", "routes")), ())
        produced: list[FlattenedRoute] = []
        for j, child in enumerate(table.spec.routes):
            child_link = ChainLink(table, j, child.name, ("spec", "routes", j), table.spec.weight,
                                   _route_id_part(table_ref, ambiguous, j, child.name))
            child_node, child_routes = self._expand(
                child, chain + (child_link,), matchers, False, options, labels, effective_sort, below)
            table_node.routes.append(child_node)
            produced.extend(child_routes)
        return produced

    def _lookup_table(self, namespace: str, name: str) -> Resource | None:
        return self.snapshot.get("RouteTable", namespace, name)

    def _select_tables(self, selector: Any, namespace: str) -> list[RouteTable]:
        return select(selector, namespace, self.route_tables)

    def _delegate_tables(self, owner: Resource, delegate: Any, dpath: tuple[Any, ...]) -> list[TableNode]:
        out: list[TableNode] = []
        seen: set[tuple[str, str, str]] = set()
        for j, ref in enumerate(delegate.refs):
            ns = ref.namespace or owner.namespace
            table = self._lookup_table(ns, ref.name)
            if not isinstance(table, RouteTable):
                self.diags.add(owner, Severity.ERROR, "dangling-delegate-ref",
                               f"delegateAction refers to RouteTable {ns}/{ref.name}, which does not exist; "
                               "the reference is skipped", dpath + ("refs", j))
                continue
            if table.key not in seen:
                seen.add(table.key)
                out.append(TableNode(table, table.spec.weight, f"ref {j + 1}"))
        if delegate.selector is not None:
            hits = self._select_tables(delegate.selector, owner.namespace)
            if not hits:
                self.diags.add(owner, Severity.WARNING, "selector-selects-nothing",
                               "delegateAction.selector selects no RouteTable", dpath + ("selector",))
            for table in hits:
                if table.key not in seen:
                    seen.add(table.key)
                    out.append(TableNode(table, table.spec.weight, "selector"))
        if not delegate.refs and delegate.selector is None:
            self.diags.add(owner, Severity.ERROR, "delegate-no-target",
                           "delegateAction has neither refs nor selector", dpath)
        return out


def vhost_key(gw: VirtualGateway, owner: Resource, ordinal: int) -> tuple[str, str, str]:
    """A virtual host's identity in one build: its VirtualHost, or the gateway and ordinal of an inline one."""
    return owner.key if owner is not gw else (gw.kind, gw.namespace, f"{gw.name}#inline{ordinal}")


def _route_id_part(resource_ref: str, ambiguous: Any, index: int, name: str) -> str:
    """A link in route ids: "Kind/ns/name#route", plus "@index" when the name could mean another route."""
    ref = f"{resource_ref}#{name or index}"
    if name and (name.isdigit() or "@" in name or name in ambiguous):
        return f"{ref}@{index}"
    return ref


def _regexes(m: EffectiveMatcher) -> list[str]:
    out = [m.path] if m.path_kind == "regex" else []
    out += [h.value for h in m.headers if h.regex and h.value]
    out += [q.value for q in m.query if q.regex and q.value]
    return out


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
