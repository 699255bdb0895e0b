"""The editor: a resource file's YAML, validated as you type; preview (tree diff, requests that change
route), atomic apply with undo, and an xDS push when a server is attached. Failures keep your text."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Static, TextArea

from ..actions import bindings
from ..console import ConsoleAccess
from ..editing import AppliedEdit, Preview, TextCheck, WriteError, atomic_write, check_text, preview_edit, undo
from ..themes import SemanticColors
from ..widgets.yaml_area import YamlArea

CHECK_DELAY = 0.3  # seconds of quiet typing before validating


class EditorScreen(ConsoleAccess, Screen[None]):
    BINDINGS = bindings("editor")
    DEFAULT_CSS = """
    EditorScreen #editor-title { height: 1; background: $panel; padding: 0 1; }
    EditorScreen YamlArea { height: 1fr; }
    EditorScreen #editor-problems { height: auto; max-height: 8; border-top: solid $panel; padding: 0 1; }
    EditorScreen #editor-status { height: auto; padding: 0 1; background: $panel; }
    """

    def __init__(self, path: str, text: str, focus_line: int | None = None) -> None:
        super().__init__()
        self.path = path
        self.original = text
        self.initial_text = text
        self.focus_line = focus_line
        self.check: TextCheck | None = None
        self._timer: Any = None
        self.checks_done = 0  # for tests: how many validations finished
        self.busy = False

    def compose(self) -> ComposeResult:
        yield Static(self.path, id="editor-title")
        yield YamlArea(self.initial_text, id="editor-area")
        with VerticalScroll(id="editor-problems"):
            yield Static("", id="editor-problems-text")
        yield Static("ctrl+s: preview & apply · ctrl+r: undo last apply · f2: next error · escape: back",
                     id="editor-status")
        yield Footer()

    @property
    def area(self) -> YamlArea:
        return self.query_one(YamlArea)

    @property
    def semantic(self) -> SemanticColors:
        return self.console.semantic

    def on_mount(self) -> None:
        area = self.area
        area.read_only = self.console.read_only
        if self.focus_line is not None:
            area.move_cursor((self.focus_line, 0))
            area.scroll_to(y=max(0, self.focus_line - 3), animate=False)
        area.focus()
        self._title()
        self.schedule_check()

    def _title(self, extra: str = "") -> None:
        dirty = self.area.text != self.original
        ro = "  [read-only]" if self.console.read_only else ""
        state = "modified" if dirty else "saved"
        self.query_one("#editor-title", Static).update(f"{self.path} — {state}{ro}{extra}")

    def status(self, text: str, style: str = "") -> None:
        self.query_one("#editor-status", Static).update(Text(text, style=style))

    # -- validation as you type ------------------------------------------------------------------------
    @on(TextArea.Changed)
    def _changed(self) -> None:
        self._title()
        self.schedule_check()

    def schedule_check(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(CHECK_DELAY, self._start_check)

    def _start_check(self) -> None:
        self._check(self.area.text)

    @work(thread=True, exclusive=True, group="editor-check")
    def _check(self, text: str) -> None:
        model = self.console.model
        if model is None:
            return
        result = check_text(model.snapshot, self.path, text)
        self.app.call_from_thread(self._checked, text, result)

    def _checked(self, text: str, result: TextCheck) -> None:
        if text != self.area.text:
            return  # typed on meanwhile; a newer check is coming
        self.check = result
        self.checks_done += 1
        c = self.semantic
        lines = result.error_lines()
        self.area.set_marks({line - 1: "meshctl.error" for line in lines})
        out = Text()
        if result.ok:
            warnings = [f for f in result.findings if f.severity.value != "error"]
            out.append("✓ valid", style=f"bold {c.healthy}")
            if warnings:
                out.append(f" · {len(warnings)} warning(s)", style=c.shadowed)
            for f in warnings[:5]:
                out.append(f"\n  line {f.line}: {f.code}: {f.message}", style=c.muted)
        else:
            out.append(f"✗ {len(result.errors)} error(s)", style=f"bold {c.invalid}")
            for f in result.errors[:20]:
                out.append(f"\n  line {f.line}: ", style="bold")
                out.append(f"{f.code}: {f.message}")
        self.query_one("#editor-problems-text", Static).update(out)

    def action_next_error(self) -> None:
        if self.check is None or not self.check.errors:
            self.notify("no errors")
            return
        row = self.area.cursor_location[0] + 1
        lines = sorted(self.check.error_lines())
        target = next((line for line in lines if line > row), lines[0])
        self.area.move_cursor((target - 1, 0))

    # -- apply ----------------------------------------------------------------------------------------------
    def action_preview_apply(self) -> None:
        if self.console.read_only:
            self.status("read-only: applying is disabled", self.semantic.invalid)
            return
        if self.busy:
            return
        self.busy = True
        self.status("computing preview…")
        self._preview(self.area.text)

    @work(thread=True, exclusive=True, group="editor-apply")
    def _preview(self, text: str) -> None:
        model = self.console.model
        requests = self.console.store.all_requests()
        try:
            preview = preview_edit(model.snapshot, model.view, self.path, text, requests)
        except Exception as exc:  # a crash in the engine must not cost the text
            self.app.call_from_thread(self._failed, f"preview failed: {type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show_preview, text, preview)

    def _failed(self, message: str) -> None:
        self.busy = False
        self.status(f"✗ {message} — your text is kept", self.semantic.invalid)

    def _show_preview(self, text: str, preview: Preview) -> None:
        self.busy = False
        if not preview.check.ok:
            self._checked(text, preview.check)
            self.status(f"✗ not applied: {len(preview.check.errors)} error(s) — your text is kept", self.semantic.invalid)
            return

        def decided(ok: bool | None) -> None:
            if ok:
                self.busy = True
                self.status("applying…")
                self._apply(text)
            else:
                self.status("not applied")
        self.app.push_screen(PreviewScreen(self.path, preview), decided)

    @work(thread=True, exclusive=True, group="editor-apply")
    def _apply(self, text: str) -> None:
        app = self.console
        link = app.xds
        since = None
        if link is not None and link.can_push:
            try:
                since = link.mark()  # before the write: the server may push (and Envoy NACK) before we ask
            except Exception:
                since = None
        try:
            edit = atomic_write(self.path, text)
        except WriteError as exc:
            app.call_from_thread(self._failed, str(exc))
            return
        app.call_from_thread(self._written, edit)
        app.reload_sources_blocking()
        if link is not None and link.can_push:
            try:
                result = link.push(since=since)
            except Exception as exc:
                app.call_from_thread(self._pushed, False, f"push failed: {exc}")
                return
            app.call_from_thread(self._pushed, result.ok, result.message)
        else:
            app.call_from_thread(self._pushed, True, "")

    def _written(self, edit: AppliedEdit) -> None:
        app = self.console
        app.last_apply = edit
        app.drafts.pop(self.path, None)
        self.original = edit.new_text
        self._title()
        self.status(f"written {time.strftime('%H:%M:%S')}", self.semantic.healthy)

    def _pushed(self, ok: bool, message: str) -> None:
        self.busy = False
        c = self.semantic
        if ok:
            self.status(f"✓ applied{': ' + message if message else ''} · ctrl+r undoes", c.healthy)
        else:
            self.status(f"✗ {message} — the file was written, your text is kept; ctrl+r undoes the apply", c.invalid)

    def action_undo_apply(self) -> None:
        app = self.console
        edit: AppliedEdit | None = app.last_apply
        if app.read_only or edit is None:
            self.status("nothing to undo" if edit is None else "read-only", self.semantic.muted)
            return
        from .confirm import ConfirmScreen

        def decided(ok: bool | None) -> None:
            if ok:
                self._undo(edit)
        app.push_screen(ConfirmScreen(f"Undo the last apply to {Path(edit.path).name}?",
                                      f"The file goes back to its content before {time.strftime('%H:%M:%S', time.localtime(edit.at))}."),
                        decided)

    @work(thread=True, exclusive=True, group="editor-apply")
    def _undo(self, edit: AppliedEdit) -> None:
        app = self.console
        link = app.xds
        since = link.mark() if link is not None and link.can_push else None
        try:
            undo(edit)
        except WriteError as exc:
            app.call_from_thread(self._failed, str(exc))
            return
        app.reload_sources_blocking()
        message = ""
        if link is not None and link.can_push:
            try:
                message = link.push(since=since).message
            except Exception as exc:
                message = f"push failed: {exc}"
        app.call_from_thread(self._undone, edit, message)

    def _undone(self, edit: AppliedEdit, message: str) -> None:
        app = self.console
        app.last_apply = None
        if edit.path == self.path:
            self.original = edit.previous_text or ""
            self.area.load_text(self.original)
        self.status(f"↶ undone{': ' + message if message else ''}", self.semantic.healthy)
        self._title()

    def action_back(self) -> None:
        app = self.console
        if self.area.text != self.original:
            app.drafts[self.path] = self.area.text
            self.notify("draft kept: edit the file again to continue")
        self.dismiss(None)


class PreviewScreen(ConsoleAccess, ModalScreen[bool]):
    """What the apply will change: route tree diff, requests whose route changes, new diagnostics."""

    BINDINGS = bindings("preview")
    DEFAULT_CSS = """
    PreviewScreen { align: center middle; }
    PreviewScreen > Vertical { width: 90%; height: 85%; border: thick $warning; background: $surface; }
    PreviewScreen #preview-body { height: 1fr; padding: 0 1; }
    PreviewScreen #preview-buttons { height: 3; align-horizontal: right; }
    PreviewScreen Button { margin-left: 2; }
    """

    def __init__(self, path: str, preview: Preview) -> None:
        super().__init__()
        self.path = path
        self.preview = preview

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll(id="preview-body"):
                yield Static(self.render_preview(), id="preview-text")
            with Horizontal(id="preview-buttons"):
                yield Button("Cancel (esc)", id="preview-cancel")
                yield Button("Apply (ctrl+s)", id="preview-apply", variant="warning")

    def render_preview(self) -> Text:
        p = self.preview
        c: SemanticColors = self.console.semantic
        t = Text(f"Apply {self.path}?\n\n", style="bold")
        t.append(f"Route tree: {len(p.route_changes)} change(s)\n", style="bold")
        colour = {"added": c.matched, "removed": c.invalid, "moved": c.shadowed, "changed": c.delegated}
        for ch in p.route_changes[:200]:
            t.append(f"  {ch.kind:<8}", style=f"bold {colour[ch.kind]}")
            t.append(ch.describe()[len(ch.kind):].strip() + "\n")
        if len(p.route_changes) > 200:
            t.append(f"  … {len(p.route_changes) - 200} more\n", style=c.muted)
        t.append(f"\nRequests that change route ({len(p.outcome_changes)} of {p.probes} replayed: saved, recent "
                 "and one sample per route)\n", style="bold")
        for oc in p.outcome_changes[:100]:
            t.append(f"  {oc.request.method} {oc.request.authority}{oc.request.path}\n", style="bold")
            t.append(f"     before: {oc.old}\n", style=c.muted)
            t.append(f"     after:  {oc.new}\n")
        if p.unchanged:
            t.append("\nNo route and no tested request changes.\n", style=c.muted)
        errors = [f for f in p.new_findings if f.severity.value == "error"]
        if errors:
            t.append(f"\nThe new configuration has {len(errors)} error finding(s):\n", style=f"bold {c.invalid}")
            for f in errors[:10]:
                t.append(f"  {f.render()}\n")
        return t

    def on_mount(self) -> None:
        self.query_one("#preview-cancel", Button).focus()

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#preview-apply")
    def _apply(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#preview-cancel")
    def _cancel(self) -> None:
        self.dismiss(False)
