"""The main screen: sources header, the four tabs (routes, diagnostics, xDS, failover), `:` line, footer."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane

from ..console import ConsoleAccess
from ..widgets.command_line import CommandLine
from ..widgets.diagnostics_pane import DiagnosticsPane
from ..widgets.failover_pane import FailoverPane
from ..widgets.header import SourcesHeader
from ..widgets.routes_pane import RoutesPane
from ..widgets.xds_pane import XdsPane


class MainScreen(ConsoleAccess, Screen[None]):
    def compose(self) -> ComposeResult:
        yield SourcesHeader(id="header")
        with TabbedContent(id="tabs", initial="routes"):
            with TabPane("Routes", id="routes"):
                yield RoutesPane(id="routes-pane")
            with TabPane("Diagnostics", id="diagnostics"):
                yield DiagnosticsPane(id="diagnostics-pane")
            with TabPane("xDS", id="xds"):
                yield XdsPane(id="xds-pane")
            with TabPane("Failover", id="failover"):
                yield FailoverPane(id="failover-pane")
        yield CommandLine(id="command-line")
        yield Footer()

    def on_mount(self) -> None:
        self.console.main_ready()
