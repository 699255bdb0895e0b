"""The k9s-like `:` command line: `:gw NAME`, `:routes`, `:test GET /path`, `:edit`, `:xds`, `:theme NAME`, `:q`.

Its words are the console rows of the verb table (meshctl.verbs) that have words; the app runs the verb.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.binding import Binding
from textual.suggester import SuggestFromList
from textual.widgets import Input

from ...verbs import VERBS, Verb
from ..actions import console_verbs
from ..console import ConsoleAccess
from ..messages import RunCommand


def command_help() -> dict[str, str]:
    """`word` → "word ARGS — what it does", for help and suggestions (one entry per verb, by its first word)."""
    return {v.word: f"{v.word}{' ' + v.usage if v.usage else ''} — {v.title}"
            for v in console_verbs() if v.words}


@dataclass
class ParsedCommand:
    name: str  # the verb's first word (aliases resolved)
    args: list[str]
    verb: Verb


def parse_command_line(text: str) -> ParsedCommand:
    """Split `:name args…` (shell quoting) and find the verb; ValueError for unknown words."""
    text = text.strip().lstrip(":")
    if not text:
        raise ValueError("empty command")
    parts = shlex.split(text)
    verb = VERBS.find(parts[0].lower(), repl=False)
    if verb is None:
        raise ValueError(f"unknown command {parts[0]!r} (try: {', '.join(command_help())})")
    return ParsedCommand(verb.word, parts[1:], verb)


class CommandLine(ConsoleAccess, Input):
    """Hidden until `:`; enter runs, escape closes."""

    BINDINGS = [Binding("escape", "close", "Close", show=False)]
    DEFAULT_CSS = """
    /* closed = zero height, not display:none, so it can take focus at once when ':' is pressed */
    CommandLine { dock: bottom; height: 0; border: none; padding: 0; }
    CommandLine.-open { height: 3; border: tall $accent; padding: 0 1; }
    """

    def __init__(self, extra_words: list[str] | None = None, **kwargs: Any) -> None:
        words = [*VERBS.words(repl=False), *(extra_words or [])]
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
        self.console.focus_active_pane()

    @on(Input.Submitted)
    def _run(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value
        self.value = ""
        self.remove_class("-open")
        if not text.strip():
            self.console.focus_active_pane()
            return
        try:
            parsed = parse_command_line(text)
        except ValueError as exc:
            self.notify(str(exc), severity="error")
            self.console.focus_active_pane()
            return
        self.post_message(RunCommand(parsed))
