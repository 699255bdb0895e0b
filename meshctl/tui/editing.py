"""Editing a resource file without a UI: check a changed text against the rest, preview, atomic write, undo.

Pure of Textual: the editor screen calls these from worker threads; scripts and tests call them directly.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..model.findings import Finding, Severity, sort_findings
from ..model.loader import resource_from_document
from ..model.resources import Resource
from ..model.snapshot import Snapshot
from ..model.validate import validate
from ..model.yamldoc import parse_text
from ..routing.diff import OutcomeChange, RouteChange, changed_outcomes, diff_views, sample_requests
from ..routing.evaluate import Request
from ..routing.lint import lint
from ..routing.types import RoutingView
from ..routing.view import build_routing_view


@dataclass
class TextCheck:
    """The result of checking an edited file's text in the context of everything else loaded."""

    file: str
    findings: list[Finding]  # only those located in this file
    snapshot: Snapshot | None  # the whole configuration with this text in place of the file (None: unparsable)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def ok(self) -> bool:
        return self.snapshot is not None and not self.errors

    def error_lines(self) -> dict[int, list[str]]:
        """1-based line → messages of the errors on it (the editor marks these lines)."""
        out: dict[int, list[str]] = {}
        for f in self.errors:
            out.setdefault(f.line or 1, []).append(f"{f.code}: {f.message}")
        return out


def _same_file(a: str | None, b: str) -> bool:
    if a is None:
        return False
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def replace_file_text(base: Snapshot, file: str, text: str) -> tuple[Snapshot | None, list[Finding]]:
    """`base` with the resources of `file` replaced by those parsed from `text` (None if the text is no YAML)."""
    documents, findings = parse_text(text, file)
    if not documents and any(f.severity is Severity.ERROR for f in findings):
        return None, findings
    fresh: list[Resource] = []
    for doc in documents:
        resource, found = resource_from_document(doc)
        findings.extend(found)
        if resource is not None:
            fresh.append(resource)
    kept = [r for r in base.resources if not _same_file(r.doc.file if r.doc else None, file)]
    others = [f for f in base.findings if not _same_file(f.file, file)]
    files = list(base.files) if file in base.files else [*base.files, file]
    return Snapshot([*kept, *fresh], [*others, *findings], files), findings


def check_text(base: Snapshot, file: str, text: str) -> TextCheck:
    """Parse + load + validate the edited text against the rest of the configuration."""
    snapshot, parse_findings = replace_file_text(base, file, text)
    if snapshot is None:
        return TextCheck(file, sort_findings(parse_findings), None)
    mine = [f for f in [*snapshot.findings, *validate(snapshot)] if _same_file(f.file, file)]
    unique = list(dict.fromkeys(mine))
    return TextCheck(file, sort_findings(unique), snapshot)


@dataclass
class Preview:
    """What applying an edit would change, computed before anything is written."""

    check: TextCheck
    new_view: RoutingView | None
    route_changes: list[RouteChange] = field(default_factory=list)
    outcome_changes: list[OutcomeChange] = field(default_factory=list)
    new_findings: list[Finding] = field(default_factory=list)  # lint of the new configuration
    probes: int = 0  # how many requests were replayed

    @property
    def unchanged(self) -> bool:
        return not self.route_changes and not self.outcome_changes


def preview_edit(base: Snapshot, old_view: RoutingView, file: str, text: str,
                 requests: list[Request] | None = None, sample_limit: int = 300) -> Preview:
    """Route-tree diff and the saved/sample requests whose route changes (old route → new route)."""
    check = check_text(base, file, text)
    if check.snapshot is None:
        return Preview(check, None)
    new_view = build_routing_view(check.snapshot)
    probes = [*(requests or []), *sample_requests(old_view, sample_limit), *sample_requests(new_view, sample_limit)]
    return Preview(check, new_view, diff_views(old_view, new_view), changed_outcomes(old_view, new_view, probes),
                   lint(check.snapshot, new_view), len(probes))


# --- writing -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class AppliedEdit:
    """One apply, kept so that it can be undone: the file and its text before (None: it did not exist)."""

    path: str
    previous_text: str | None
    new_text: str
    backup_path: str | None
    at: float


class WriteError(Exception):
    """The file could not be written; nothing was changed on disk."""


def atomic_write(path: str | os.PathLike[str], text: str, keep_backup: bool = True) -> AppliedEdit:
    """Write `text` via a temporary file in the same directory and os.replace (readers never see half a file).

    Keeps the previous content in `<name>.meshctl-bak` next to it (and in memory) for undo.
    """
    target = Path(path)
    previous: str | None = None
    backup: str | None = None
    try:
        if target.exists():
            previous = target.read_text(encoding="utf-8")
            if keep_backup:
                backup = str(target.with_name(target.name + ".meshctl-bak"))
                _replace_with(Path(backup), previous, None)
        _replace_with(target, text, target if target.exists() else None)
    except OSError as exc:
        raise WriteError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return AppliedEdit(str(target), previous, text, backup, time.time())


def _replace_with(target: Path, text: str, mode_from: Path | None) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode_from is not None:
            os.chmod(tmp, os.stat(mode_from).st_mode & 0o7777)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def undo(edit: AppliedEdit) -> AppliedEdit:
    """Put the file back as it was before `edit` (removing it if the edit created it)."""
    target = Path(edit.path)
    if edit.previous_text is None:
        try:
            target.unlink()
        except OSError as exc:
            raise WriteError(f"cannot remove {target}: {exc.strerror or exc}") from exc
        return AppliedEdit(edit.path, edit.new_text, "", None, time.time())
    return atomic_write(target, edit.previous_text, keep_backup=False)
