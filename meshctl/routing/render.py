"""Route views as text (tree, table) and as the stable JSON document of `meshctl routes -o json`."""

from __future__ import annotations

from typing import Any

from ..model.findings import Finding
from .actions import action_dict, describe_action
from .types import FlattenedRoute, GatewayView, RoutingView, TableNode, TreeNode, VirtualHostView

SCHEMA_VERSION = "meshctl.routes/v1"


def route_dict(r: FlattenedRoute, index: int | None) -> dict[str, Any]:
    """One route as JSON; `index`: its place in the virtual host's Envoy route list (None: not served)."""
    out: dict[str, Any] = {
        "id": r.id,
        "name": r.name,
        "owner": r.owner_ref,
        "chain": [link.ref for link in r.chain],
        "match": [m.to_dict() for m in r.matchers],
        "action": action_dict(r),
        "position": {"index": index, "reason": r.position.reason, "detail": r.position.detail},
        "valid": r.valid,
    }
    weights = [link.weight for link in r.chain if link.weight is not None]
    if weights:
        out["weights"] = weights
    if r.problems:
        out["problems"] = list(r.problems)
    if r.labels:
        out["labels"] = dict(r.labels)
    options = r.options.to_dict()
    if options:
        out["options"] = options
    return out


def vhost_dict(v: VirtualHostView) -> dict[str, Any]:
    out: dict[str, Any] = {"name": v.name, "owner": v.owner.ref, "domains": list(v.domains),
                           "routes": [route_dict(r, i) for i, r in enumerate(v.routes)]}
    if v.invalid:
        out["invalid"] = True
    if v.invalid_policy:
        out["invalidRoutePolicy"] = v.invalid_policy
    return out


def view_dict(view: RoutingView, gateways: list[GatewayView] | None = None) -> dict[str, Any]:
    chosen = view.gateways if gateways is None else gateways
    return {
        "schema": SCHEMA_VERSION,
        "gateways": [{"gateway": g.name, "virtualHosts": [vhost_dict(v) for v in g.virtual_hosts]} for g in chosen],
        "diagnostics": [d.to_dict() for d in view.diagnostics],
    }


# --- text --------------------------------------------------------------------------------------

def _route_marks(route_ids: list[str], by_route: dict[str, list[Finding]]) -> str:
    marks = []
    for rid in route_ids:
        for f in by_route.get(rid, []):
            if f.code == "shadowed-route":
                marks.append(f"⚠ shadowed (witness {f.witness})")
            elif f.code == "partially-shadowed":
                marks.append(f"◐ partially shadowed ({f.witness})")
    return "  " + "; ".join(dict.fromkeys(marks)) if marks else ""


def findings_by_route(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        if f.routes:
            out.setdefault(f.routes[0], []).append(f)
    return out


def render_tree(view: RoutingView, gateways: list[GatewayView] | None = None) -> str:
    lines: list[str] = []
    by_route = findings_by_route(view.diagnostics)
    for g in view.gateways if gateways is None else gateways:
        v2 = g.listener_index is not None  # Gloo v2: gateway → listener → host → routes
        if v2:
            port = g.default_port if g.default_port is not None else "(named port)"
            lines.append(f"VirtualGateway {g.name}  listener {g.listener_index}, port {port}")
        else:  # a v2 sidecar's routes come as a pseudo-gateway of kind Sidecar (routing/v2_eastwest.py)
            kind = "Sidecar" if g.gateway.kind == "Sidecar" else "VirtualGateway"
            lines.append(f"{kind} {g.name}")
        for vi, v in enumerate(g.virtual_hosts):
            last_v = vi == len(g.virtual_hosts) - 1
            state = " INVALID: no routes produced" if v.invalid else ""
            if v2:
                lines.append(f"{'└─' if last_v else '├─'} host {v.name}  root {v.owner.ref}{state}")
            else:
                lines.append(f"{'└─' if last_v else '├─'} VirtualHost {v.name}  domains: {', '.join(v.domains)}{state}")
            index = {r.id: r for r in v.all_routes}
            _tree_nodes(lines, v.tree, "   " if last_v else "│  ", index, by_route, v)
    return "\n".join(lines)


def _tree_nodes(lines: list[str], nodes: list[TreeNode], prefix: str, index: dict[str, FlattenedRoute],
                by_route: dict[str, list[Finding]], v: VirtualHostView) -> None:
    for i, node in enumerate(nodes):
        last = i == len(nodes) - 1
        branch = "└─ " if last else "├─ "
        label = node.route.name or f"#{node.link.route_index}"
        match = " | ".join(m.describe() for m in node.matchers) or "(no matcher)"
        if node.is_delegate:
            sort = node.sort_method or "TABLE_WEIGHT"
            note = " (overridden by the enclosing delegate)" if node.sort_overridden else ""
            problems = f"  ✗ {'; '.join(node.problems)}" if node.problems else ""
            lines.append(f"{prefix}{branch}{label}  {match}  delegate, sorted by {sort}{note}{problems}")
            _tables(lines, node.tables, prefix + ("   " if last else "│  "), index, by_route, v)
            continue
        rid = node.flat_ids[0] if node.flat_ids else ""
        flat = index.get(rid)
        place = v.index_of(rid) if flat is not None else None
        pos = f"[{place}] " if place is not None else "[-] "
        action = describe_action(flat) if flat is not None else ""
        problems = f"  ✗ {'; '.join(node.problems)}" if node.problems else ""
        why = f"  ({flat.position.reason})" if flat is not None and flat.position.reason else ""
        lines.append(f"{prefix}{branch}{pos}{label}  {match}  {action}{why}{problems}"
                     f"{_route_marks([rid], by_route)}")


def _tables(lines: list[str], tables: list[TableNode], prefix: str, index: dict[str, FlattenedRoute],
            by_route: dict[str, list[Finding]], v: VirtualHostView) -> None:
    for i, t in enumerate(tables):
        last = i == len(tables) - 1
        lines.append(f"{prefix}{'└─' if last else '├─'} RouteTable {t.table.namespace}/{t.table.name}"
                     f"  weight {t.weight}, via {t.via}")
        _tree_nodes(lines, t.routes, prefix + ("   " if last else "│  "), index, by_route, v)


def render_table(view: RoutingView, gateways: list[GatewayView] | None = None) -> str:
    rows = [("#", "GATEWAY", "VIRTUAL HOST", "ROUTE", "MATCH", "ACTION", "OWNER", "ORDER")]
    for g in view.gateways if gateways is None else gateways:
        for v in g.virtual_hosts:
            for i, r in enumerate(v.routes):
                rows.append((str(i), g.name, v.name, r.name or f"#{r.chain[-1].route_index}",
                             r.describe_match(), describe_action(r), r.owner_ref, r.position.reason))
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(widths[c]) for c, cell in enumerate(row)).rstrip() for row in rows)
