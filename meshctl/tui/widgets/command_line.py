"""The k9s-like `:` command line: `:gw NAME`, `:routes`, `:test GET /path`, `:edit`, `:xds`, `:theme NAME`, `:q`."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.binding import Binding
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input

COMMANDS: dict[str, str] = {
    "gw": "gw [NS/NAME] — show a gateway's route tree",
    "routes": "routes — the route tree",
    "filter": "filter TEXT — filter the route tree",
    "test": "test [METHOD] URL [-H 'k: v'] [@region/zone] — test a request",
    "edit": "edit — edit the selected route's resource",
    "diag": "diag — diagnostics",
    "xds": "xds — xDS clients and sync state",
    "failover": "failover — endpoints by locality, trigger/restore",
    "theme": "theme NAME — switch theme",
    "help": "help — key bindings",
    "q": "q — quit",
}
ALIASES = {"gateway": "gw", "gateways": "gw", "route": "routes", "r": "routes", "diagnostics": "diag",
           "lint": "diag", "fo": "failover", "quit": "q", "q!": "q", "exit": "q", "t": "test", "e": "edit"}


@dataclass
class ParsedCommand:
    name: str
    args: list[str]


def parse_command_line(text: str) -> ParsedCommand:
    """Split `:name args…` (shell quoting) and resolve aliases; ValueError for unknown commands."""
    text = text.strip().lstrip(":")
    if not text:
        raise ValueError("empty command")
    parts = shlex.split(text)
    name = ALIASES.get(parts[0].lower(), parts[0].lower())
    if name not in COMMANDS:
        raise ValueError(f"unknown command {parts[0]!r} (try: {', '.join(COMMANDS)})")
    return ParsedCommand(name, parts[1:])


class CommandLine(Input):
    """Hidden until `:`; enter runs, escape closes."""

    BINDINGS = [Binding("escape", "close", "Close", show=False)]
    DEFAULT_CSS = """
    /* closed = zero height, not display:none, so it can take focus at once when ':' is pressed */
    CommandLine { dock: bottom; height: 0; border: none; padding: 0; }
    CommandLine.-open { height: 3; border: tall $accent; padding: 0 1; }
    """

    class Run(Message):
        def __init__(self, command: ParsedCommand) -> None:
            super().__init__()
            self.command = command

    def __init__(self, extra_words: list[str] | None = None, **kwargs: Any) -> None:
        words = [*COMMANDS, *(extra_words or [])]
        super().__init__(placeholder=":command (gw, routes, test GET /path, edit, xds, failover, theme NAME, q)",
                         suggester=SuggestFromList(words, case_sensitive=False), **kwargs)

    def open(self, text: str = "") -> None:
        self.value = text
        self.add_class("-open")
        # focus now, not via call_later: keys typed right after ':' are already queued behind it
        self.screen.set_focus(self)

    def action_close(self) -> None:
        self.value = ""
        self.remove_class("-open")
        self.app.focus_active_pane()  # type: ignore[attr-defined]

    @on(Input.Submitted)
    def _run(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value
        self.value = ""
        self.remove_class("-open")
        if not text.strip():
            self.app.focus_active_pane()  # type: ignore[attr-defined]
            return
        try:
            parsed = parse_command_line(text)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            self.app.focus_active_pane()  # type: ignore[attr-defined]
            return
        self.post_message(self.Run(parsed))
