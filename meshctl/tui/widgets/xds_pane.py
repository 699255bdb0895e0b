"""The xDS tab: connected clients, per type SYNCED / NOT SENT / STALE / NACKED with reasons, last push, latency."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

if TYPE_CHECKING:  # the xDS stack (protobuf classes) loads only when a server is attached
    from ...xds.status import ClientStatus
from ..actions import bindings
from ..console import ConsoleAccess
from ..themes import SemanticColors

TYPE_SHORT = {"Cluster": "CDS", "ClusterLoadAssignment": "EDS", "Listener": "LDS", "RouteConfiguration": "RDS",
              "Secret": "SDS", "ScopedRouteConfiguration": "SRDS", "VirtualHost": "VHDS"}
COLUMNS = ("CDS", "EDS", "LDS", "RDS")


def short_type(type_url: str) -> str:
    name = type_url.rsplit(".", 1)[-1]
    return TYPE_SHORT.get(name, name)


def _when(ts: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) if ts else "—"


class XdsPane(ConsoleAccess, Vertical):
    BINDINGS = bindings("xds")
    DEFAULT_CSS = """
    XdsPane #xds-title { height: 1; padding: 0 1; background: $panel; }
    XdsPane DataTable { height: 1fr; }
    XdsPane #xds-detail { height: auto; max-height: 12; padding: 0 1; border-top: solid $panel; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clients: list[ClientStatus] = []
        self.semantic = SemanticColors()
        self.error = ""
        self.verify_lines: list[str] = []  # the last `v` check (meshctl verify against each gateway Envoy)

    def compose(self) -> ComposeResult:
        yield Static("no xDS server", id="xds-title")
        table: DataTable[Any] = DataTable(id="xds-table", cursor_type="row")
        table.add_columns("client", "cluster", "locality", *COLUMNS, "last push", "latency")
        yield table
        yield Static("", id="xds-detail")

    def on_mount(self) -> None:
        self.set_interval(1.0, self.action_refresh)
        self.action_refresh()

    def action_refresh(self) -> None:
        link = self.console.xds
        if link is None:
            self.query_one("#xds-title", Static).update("no xDS server (start with --demo, or --xds ADDR)")
            return
        self._fetch(link)

    @work(thread=True, exclusive=True, group="xds-status")
    def _fetch(self, link: Any) -> None:
        try:
            clients = link.status()
            error = ""
        except Exception as exc:  # the server may be gone; say so, keep polling
            clients, error = [], f"{type(exc).__name__}: {exc}"
        self.app.call_from_thread(self.show_status, link.address, clients, error)

    def action_verify(self) -> None:
        model = self.console.model
        if model is None or not self.console.envoy_admins:
            self.verify_lines = ["verify: needs the configuration and a connected Envoy's admin API (--demo)"]
            self._detail()
            return
        self.verify_lines = ["verifying ..."]
        self._detail()
        self._verify(model, list(self.console.envoy_admins))

    @work(thread=True, exclusive=True, group="xds-verify")
    def _verify(self, model: Any, admins: list[Any]) -> None:
        from ..verify_check import verify_connected

        try:
            lines = verify_connected(model.snapshot, model.view, admins)
        except Exception as exc:  # a check must never take the console down
            lines = [f"verify failed: {type(exc).__name__}: {exc}"]
        self.app.call_from_thread(self._show_verify, lines)

    def _show_verify(self, lines: list[str]) -> None:
        self.verify_lines = lines
        self._detail()

    def show_status(self, address: str, clients: list[ClientStatus], error: str = "") -> None:
        self.clients = sorted(clients, key=lambda c: c.node_id)
        self.error = error
        c = self.semantic
        title = f"xDS server {address} · {len(self.clients)} client(s)"
        if error:
            title += f" · ✗ {error}"
        self.query_one("#xds-title", Static).update(Text(title, style=c.invalid if error else ""))
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        for client in self.clients:
            by_short = {short_type(t): s for t, s in client.per_type.items()}
            cells: list[Any] = [client.node_id, client.cluster, "/".join(p for p in client.locality if p) or "—"]
            for col in COLUMNS:
                s = by_short.get(col)
                state = s.state if s else "NOT SENT"
                cells.append(Text(state, style=f"bold {c.sync_state(state)}"))
            pushes = [s.last_push_at for s in client.per_type.values() if s.last_push_at]
            latencies = [s.last_push_latency_ms for s in client.per_type.values() if s.last_push_latency_ms is not None]
            cells.append(_when(max(pushes) if pushes else None))
            cells.append(f"{max(latencies):.0f} ms" if latencies else "—")
            table.add_row(*cells, key=client.node_id)
        if self.clients and row is not None:
            table.move_cursor(row=min(row, len(self.clients) - 1))
        self._detail()

    @on(DataTable.RowHighlighted)
    def _detail(self) -> None:
        detail = self.query_one("#xds-detail", Static)
        table = self.query_one(DataTable)
        verified = Text("\n".join(self.verify_lines) + "\n") if self.verify_lines else Text("")
        if not self.clients or table.cursor_row is None or table.cursor_row >= len(self.clients):
            detail.update(verified)
            return
        client = self.clients[table.cursor_row]
        c = self.semantic
        text = Text(f"{client.node_id} ({client.stream_kind}) {client.user_agent}\n", style="bold")
        for type_url, s in client.per_type.items():
            text.append(f"  {short_type(type_url):<5}", style="bold")
            text.append(f"{s.state:<9}", style=f"bold {c.sync_state(s.state)}")
            text.append(f" sent {s.sent_version or '—'}  acked {s.acked_version or '—'}"
                        f"  {len(s.resource_names)} resource(s)")
            if s.state == "NACKED":
                text.append(f"\n        NACK of {s.nacked_version}: {s.nack_reason}", style=c.nacked)
            text.append("\n")
        detail.update(verified + text)
