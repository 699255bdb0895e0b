"""Plugin `shadowed`: the shadowed and unreachable routes as a table; exit 1 when there is any (for CI)."""

from __future__ import annotations

from typing import Any

from meshctl.extend import Arg, MeshctlAPI, PluginRegistry

CODES = {"shadowed-route": "shadowed", "virtual-host-invalid": "unreachable (invalid virtual host)",
         "unreached-route-table": "unreachable (no gateway)", "unselected-virtual-host": "unreachable (not selected)"}


def run(api: MeshctlAPI, args: Any) -> int:
    rows = []
    for f in api.diagnostics:
        if f.code not in CODES:  # partially shadowed routes are added below, only when asked for
            continue
        rows.append([CODES[f.code], f.resource or "", f.path or "", f.witness or "", f.location()])
    if args.include_partial:
        rows += [["partially shadowed", f.resource or "", f.path or "", f.witness or "", f.location()]
                 for f in api.diagnostics if f.code == "partially-shadowed"]
    if rows or api.output.format != "text":
        api.output.table(["STATE", "RESOURCE", "ROUTE", "WITNESS", "WHERE"], rows)
    else:
        api.output.write("no shadowed or unreachable routes")
    return 1 if any(r[0] != "partially shadowed" for r in rows) else 0


def register(registry: PluginRegistry) -> None:
    registry.command(
        "shadowed", help="list shadowed and unreachable routes; exit 1 if any (for CI)",
        args=[Arg("--include-partial", "also list partially shadowed routes (never fails the run)", bool, False)],
        example="meshctl shadowed docs/examples/004-advanced-routing/06-table-weight",
    )(run)
