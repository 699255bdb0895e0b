"""What `meshctl workspaces` (and the REPL's `:workspaces`) print: each workspace with its clusters and
namespaces, its exports and imports, and the resources it owns and sees."""

from __future__ import annotations

from typing import Any

from ..snapshot import Snapshot
from .workspaces import IMPLICIT_NOTE, workspaces_of


def workspaces_report(snapshot: Snapshot) -> dict[str, Any]:
    """The JSON shape: {"implicit", "note", "workspaces": [...], "findings": [...]}."""
    model = workspaces_of(snapshot)
    from .external_services import external_service_addresses

    findings = [*model.findings, *external_service_addresses(snapshot).findings()]
    return {"implicit": model.implicit, "note": IMPLICIT_NOTE if model.implicit else None,
            "workspaces": model.describe(), "findings": [f.to_dict() for f in findings]}


def _selectors(entries: list[dict[str, Any]]) -> str:
    parts = []
    for e in entries:
        who = ", ".join(w.get("name") or "labels " + ",".join(f"{k}={v}" for k, v in (w.get("selector") or {}).items())
                        for w in e["workspaces"]) or "(no workspace)"
        what = ", ".join(str(r.get("kind") or "ALL") + ("" if len(r) <= 1 else " " + ",".join(
            f"{k}={v}" for k, v in r.items() if k != "kind")) for r in e["resources"]) or "everything"
        parts.append(f"{who} [{what}]")
    return "; ".join(parts) or "-"


def render_workspaces(report: dict[str, Any]) -> str:
    lines: list[str] = []
    if report["note"]:
        lines.append(f"note: {report['note']}")
    for ws in report["workspaces"]:
        settings = f"  (settings {ws['settings']})" if ws["settings"] else ("" if ws["implicit"] else
                                                                             "  (no WorkspaceSettings)")
        lines.append(f"Workspace {ws['name']}{settings}")
        for c in ws["clusters"]:
            lines.append(f"  cluster {c['name'] or '(any)'}: {', '.join(c['namespaces'])}")
        if not ws["clusters"]:
            lines.append("  no clusters or namespaces")
        lines.append(f"  exportTo:   {_selectors(ws['exportTo'])}   → shares with: {', '.join(ws['exportsTo']) or '-'}")
        lines.append(f"  importFrom: {_selectors(ws['importFrom'])}   → sees from: {', '.join(ws['importsFrom']) or '-'}")
        lines.append(f"  owns ({len(ws['owned'])}): {', '.join(ws['owned']) or '-'}")
        lines.append(f"  imports ({len(ws['imported'])}): {', '.join(ws['imported']) or '-'}")
    for f in report["findings"]:
        where = f"{f['file']}:{f['line']}" if f["file"] and f["line"] else (f["file"] or "")
        lines.append(f"{where}: {f['severity']}[{f['code']}] {f['resource'] or ''}: {f['message']}".lstrip(": "))
    return "\n".join(lines)
