"""`?`: every binding active on the screen you came from, with its action id (for keymaps)."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ..widgets.command_line import command_help


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 100; height: 85%; border: thick $primary; background: $surface; }
    HelpScreen DataTable { height: 1fr; }
    HelpScreen #help-title { padding: 0 1; background: $panel; }
    """

    def __init__(self, rows: list[tuple[str, str, str, str]], title: str) -> None:
        super().__init__()
        self.rows = rows
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Key bindings — {self.title_text}  (escape closes; ctrl+p: command palette)",
                         id="help-title")
            table: DataTable[Any] = DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
            table.add_columns("key", "action", "id", "where")
            for row in self.rows:
                table.add_row(*row)
            for name, text in command_help().items():
                table.add_row(f":{name}", text, "", "command line")
            yield table

    async def action_dismiss(self, result: Any = None) -> None:
        self.dismiss(None)


def binding_rows(screen: Any) -> list[tuple[str, str, str, str]]:
    """(key, description, action id, owning widget) for every binding reachable from the focused widget."""
    rows = []
    seen: set[tuple[str, str]] = set()
    for key, active in screen.active_bindings.items():
        binding: Binding = active.binding
        if binding.system and not binding.description:
            continue
        node = type(active.node).__name__
        ident = (key, binding.action)
        if ident in seen:
            continue
        seen.add(ident)
        rows.append((screen.app.get_key_display(binding), binding.description or binding.action,
                     binding.id or "", node))
    return sorted(rows, key=lambda r: (r[2] == "", r[3], r[0]))  # ours (with ids) first
