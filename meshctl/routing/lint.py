"""All findings for a configuration: load problems, validation and the route engine's diagnostics, once each."""

from __future__ import annotations

from ..model.findings import Finding, sort_findings
from ..model.snapshot import Snapshot
from ..model.validate import ValidationMemo, validate
from .types import RoutingView

# the engine reports these itself, with routes attached; validation's copies would be duplicates
_ENGINE_CODES = {"dangling-delegate-ref", "duplicate-domain", "route-no-action", "route-multiple-actions",
                 "delegate-not-prefix", "bad-regex", "bad-status", "delegate-no-target"}


def lint(snapshot: Snapshot, view: RoutingView, memo: ValidationMemo | None = None) -> list[Finding]:
    """`memo` (kept across the snapshots of one source) re-validates only the resources that changed; the
    engine's own findings (shadowing included) come from the view, which is incremental per virtual host."""
    seen: set[tuple[object, ...]] = set()
    out: list[Finding] = []
    engine_spots = {(f.code, f.file, f.line) for f in view.diagnostics}
    for f in [*validate(snapshot, memo), *view.diagnostics]:
        if f in view.diagnostics:
            pass
        elif f.code in _ENGINE_CODES and (f.code, f.file, f.line) in engine_spots:
            continue
        key = (f.code, f.file, f.line, f.column, f.message)
        if key in seen:
            continue
        seen.add(key)
        out.append(f)
    return sort_findings(out)
