"""The Diagnostics tab: every lint finding (validation + route engine), enter jumps to the route."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ...model.findings import Finding, Severity
from ..actions import bindings
from ..messages import JumpToFinding
from ..state import ConsoleModel
from ..themes import SemanticColors


class DiagnosticsPane(Vertical):
    BINDINGS = bindings("diagnostics")
    DEFAULT_CSS = """
    DiagnosticsPane #diag-count { height: 1; padding: 0 1; background: $panel; }
    DiagnosticsPane DataTable { height: 1fr; }
    DiagnosticsPane #diag-detail { height: auto; max-height: 6; padding: 0 1; border-top: solid $panel; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.findings: list[Finding] = []
        self.semantic = SemanticColors()
        self._shown_semantic: SemanticColors | None = None  # the colours the rows were drawn with

    def compose(self) -> ComposeResult:
        yield Static("no findings yet", id="diag-count")
        table: DataTable[Any] = DataTable(id="diag-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("sev", "code", "where", "resource", "message")
        yield table
        yield Static("", id="diag-detail")

    def show_model(self, model: ConsoleModel) -> None:
        if model.findings == self.findings and self._shown_semantic is self.semantic:
            return  # most edits change no finding: the table (and its cursor) stays as it is
        current = self.current()
        self.findings = list(model.findings)
        self._shown_semantic = self.semantic
        c = self.semantic
        table = self.query_one(DataTable)
        table.clear()
        counts = {s: 0 for s in Severity}
        for i, f in enumerate(self.findings):
            counts[f.severity] += 1
            style = {Severity.ERROR: c.invalid, Severity.WARNING: c.shadowed}.get(f.severity, c.muted)
            where = f.location()
            if len(where) > 48:
                where = "…" + where[-47:]
            table.add_row(Text(f.severity.value, style=f"bold {style}"), f.code, where, f.resource or "",
                          f.message if len(f.message) < 120 else f.message[:117] + "…", key=str(i))
        self.query_one("#diag-count", Static).update(
            f"{counts[Severity.ERROR]} error(s), {counts[Severity.WARNING]} warning(s), "
            f"{counts[Severity.INFO]} note(s) · enter: go to the route")
        if current is not None and current in self.findings:  # the cursor stays on its finding
            table.move_cursor(row=self.findings.index(current))

    def current(self) -> Finding | None:
        table = self.query_one(DataTable)
        if not self.findings or table.cursor_row is None or table.cursor_row >= len(self.findings):
            return None
        return self.findings[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        f = self.current()
        detail = self.query_one("#diag-detail", Static)
        if f is None:
            detail.update("")
            return
        text = Text(f.render())
        if f.witness:
            text.append(f"\nwitness: {f.witness}", style="bold")
        if f.routes:
            text.append(f"\nroutes: {', '.join(f.routes)}", style=self.semantic.muted)
        detail.update(text)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_jump()

    def action_jump(self) -> None:
        f = self.current()
        if f is not None:
            self.post_message(JumpToFinding(f))
