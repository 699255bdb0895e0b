"""`:workspaces`: the Gloo v2 workspaces of the loaded configuration, as `meshctl workspaces` prints them."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class WorkspacesScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="workspaces.close")]
    DEFAULT_CSS = """
    WorkspacesScreen { align: center middle; }
    WorkspacesScreen > Vertical { width: 90%; height: 85%; border: thick $primary; background: $surface; }
    WorkspacesScreen #workspaces-title { padding: 0 1; background: $panel; }
    WorkspacesScreen #workspaces-body { padding: 0 1; }
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Workspaces — ownership, exports, imports, visibility  (escape closes)",
                         id="workspaces-title")
            with VerticalScroll():
                yield Static(self.text, id="workspaces-body", markup=False)

    async def action_dismiss(self, result: Any = None) -> None:
        self.dismiss(None)


def workspaces_text(snapshot: Any) -> str:
    from ...model.v2.workspace_report import render_workspaces, workspaces_report

    return render_workspaces(workspaces_report(snapshot))
