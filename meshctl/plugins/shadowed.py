"""Plugin `shadowed`: the shadowed and unreachable routes as a table; exit 1 when there is any (for CI)."""

from __future__ import annotations

from typing import Any

from meshctl.extend import MeshctlAPI
from meshctl.model.findings import Finding, format_path

CODES = {"shadowed-route": "shadowed", "virtual-host-invalid": "unreachable (invalid virtual host)",
         "unreached-route-table": "unreachable (no gateway)", "unselected-virtual-host": "unreachable (not selected)"}
PARTIAL = "partially shadowed"


def run(api: MeshctlAPI, args: Any) -> int:
    names = _route_names(api) if any(f.code == "shadowed-route" or f.code == "partially-shadowed"
                                     for f in api.diagnostics) else {}
    rows = [_row(CODES[f.code], f, names) for f in api.diagnostics if f.code in CODES]
    if args.include_partial:
        rows += [_row(PARTIAL, f, names) for f in api.diagnostics if f.code == "partially-shadowed"]
    if rows or api.output.format != "text":
        api.output.table(["STATE", "RESOURCE", "ROUTE", "FIELD", "WITNESS", "WHERE"], rows)
    else:
        api.output.write("no shadowed or unreachable routes")
    return 1 if any(r[0] != PARTIAL for r in rows) else 0


def _row(state: str, f: Finding, names: dict[tuple[str, str], str]) -> list[str]:
    # ROUTE is the name operators write and search for; FIELD keeps where it sits in the resource
    name = names.get((f.resource or "", f.path or ""), "")
    return [state, f.resource or "", name, f.path or "", f.witness or "", f.location()]


def _route_names(api: MeshctlAPI) -> dict[tuple[str, str], str]:
    """(resource, field path) of each route written in a resource → the route's name (its ref when unnamed)."""
    names: dict[tuple[str, str], str] = {}
    for gateway in api.view.gateways:
        for vhost in gateway.virtual_hosts:
            for route in vhost.all_routes:
                link = route.chain[-1]
                names.setdefault((route.owner.display, format_path(link.route_path)), route.name or link.ref)
    return names
