"""The top bar: loaded sources with health and last reload time, xDS server, read-only badge."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.widgets import Static

from ..themes import SemanticColors


def _ago(ts: Any, now: float) -> str:
    if not isinstance(ts, (int, float)):
        return "never"
    return time.strftime("%H:%M:%S", time.localtime(ts))


class SourcesHeader(Static):
    """One line: `meshctl │ files ./cfg ✓ 12:01:03 │ xDS 127.0.0.1:18000 (2 clients) │ READ-ONLY`."""

    DEFAULT_CSS = """
    SourcesHeader { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", **kwargs)
        self.sources: list[dict[str, object]] = []
        self.xds_note = "no xDS server"
        self.read_only = False
        self.semantic = SemanticColors()
        self.routes = 0
        self.busy = ""
        self.clock: Any = time.time

    def update_state(self, **changes: Any) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        self.update(self.line_text())

    def line_text(self) -> Text:
        c = self.semantic
        now = self.clock()
        text = Text.assemble(("meshctl", "bold"))
        for s in self.sources:
            state = str(s.get("state", "?"))
            mark, style = {"ok": ("✓", c.healthy), "error": ("✗", c.invalid),
                           "stale": ("~", c.stale)}.get(state, ("…", c.muted))
            name = str(s.get("name", "?"))
            if len(name) > 40:
                name = "…" + name[-39:]
            text.append(" │ ", style=c.muted)
            text.append(f"{s.get('kind', 'source')} ", style=c.muted)
            text.append(name)
            text.append(f" {mark}", style=f"bold {style}")
            text.append(f" {_ago(s.get('lastSyncAt'), now)}", style=c.muted)
            if state == "error" and s.get("reason"):
                text.append(f" {s.get('reason')}", style=c.invalid)
        if self.busy:
            text.append(f" │ {self.busy}", style="italic")
        elif self.routes:
            text.append(f" │ {self.routes:,} routes", style=c.muted)
        text.append(" │ ", style=c.muted)
        text.append(self.xds_note)
        if self.read_only:
            text.append("  ")
            text.append(" READ-ONLY ", style="bold reverse")
        return text
