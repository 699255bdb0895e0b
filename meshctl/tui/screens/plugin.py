"""A plugin command run from the palette: a form for its arguments, its output in a panel."""

from __future__ import annotations

import io
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

from ...extend.registry import Arg, PluginCommand


def form_argv(cmd: PluginCommand, values: dict[str, Any]) -> list[str]:
    """The command line the form stands for (parsed by the same parser as the CLI and the REPL)."""
    argv: list[str] = []
    for arg in cmd.args:
        value = values.get(arg.dest)
        if arg.type is bool:
            if value:
                argv.append(arg.name)
            continue
        if value in (None, ""):
            continue
        items = str(value).split() if arg.multiple else [str(value)]
        for item in items:
            argv += [arg.name, item] if arg.is_option else [item]
    return argv


class PluginScreen(ModalScreen[None]):
    BINDINGS = [("escape", "close", "Close"), ("ctrl+t", "run", "Run")]
    DEFAULT_CSS = """
    PluginScreen { align: center middle; }
    PluginScreen > Vertical { width: 110; height: 90%; border: thick $accent; background: $surface; padding: 1 2; }
    PluginScreen .plugin-field { height: auto; margin-bottom: 1; }
    PluginScreen #plugin-buttons { height: 3; align-horizontal: right; }
    PluginScreen #plugin-output { height: 1fr; border: round $panel; }
    """

    def __init__(self, command: PluginCommand, snapshot: Any, context: dict[str, str], read_only: bool) -> None:
        super().__init__()
        self.command = command
        self.snapshot = snapshot
        self.context = context
        self.read_only = read_only
        self.last_status: int | None = None

    def _field_id(self, arg: Arg) -> str:
        return f"plugin-arg-{arg.dest}"

    def compose(self) -> ComposeResult:
        cmd = self.command
        with Vertical():
            yield Label(f"plugin {cmd.plugin}: {cmd.name} — {cmd.help}" + (" [mutating]" if cmd.mutating else ""))
            for arg in cmd.args:
                with Vertical(classes="plugin-field"):
                    if arg.type is bool:
                        yield Checkbox(f"{arg.name}  {arg.help}", bool(arg.default), id=self._field_id(arg))
                    else:
                        yield Label(f"{arg.name}{' (required)' if arg.required else ''}  {arg.help}")
                        default = "" if arg.default is None else str(arg.default)
                        yield Input(default, placeholder=arg.type.__name__ + (" ..." if arg.multiple else ""),
                                    id=self._field_id(arg))
            with Horizontal(id="plugin-buttons"):
                yield Button("Close", id="plugin-close")
                yield Button("Run (ctrl+t)", id="plugin-run", variant="primary", disabled=cmd.mutating and self.read_only)
            with VerticalScroll(id="plugin-output"):
                yield Static("read-only: this command changes things" if cmd.mutating and self.read_only else "",
                             id="plugin-output-text", markup=False)

    def form_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for arg in self.command.args:
            widget = self.query_one(f"#{self._field_id(arg)}")
            values[arg.dest] = widget.value  # type: ignore[attr-defined]
        return values

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#plugin-close")
    def _close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#plugin-run")
    def action_run(self) -> None:
        if self.command.mutating and self.read_only:
            return
        self.query_one("#plugin-output-text", Static).update("running…")
        self._run(form_argv(self.command, self.form_values()))

    @work(thread=True, exclusive=True)
    def _run(self, argv: list[str]) -> None:
        # plugins may read files or replay logs: never on the UI thread
        from ...errors import UsageError
        from ...extend.api import Output
        from ...extend.repl import PluginArgumentError, parse_plugin_args
        from ...extend.runner import run_plugin_command

        buffer = io.StringIO()
        errors: list[str] = []
        try:
            args = parse_plugin_args(self.command, argv)
            args.read_only = self.read_only
            status = run_plugin_command(self.command, args, snapshot=self.snapshot, output=Output("text", buffer),
                                        context=self.context, report_error=errors.append)
        except (PluginArgumentError, UsageError) as exc:
            status, errors = 2, [str(exc).strip()]
        text = buffer.getvalue().rstrip()
        if errors:
            text = "\n".join([*errors, text]).strip()
        text += f"\n\n(exit status {status})"
        self.app.call_from_thread(self._show, text, status)

    def _show(self, text: str, status: int) -> None:
        self.last_status = status
        self.query_one("#plugin-output-text", Static).update(text)
