"""Route detail: the owning resource's YAML with the route highlighted, provenance, inherited options,
diagnostics with witnesses, and (with an xDS server) which clients acknowledged which version."""

from __future__ import annotations

from typing import Any

import yaml
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from ...model.resources import Resource
from ...routing.actions import describe_action
from ...routing.types import FlattenedRoute
from ..actions import bindings
from ..console import ConsoleAccess
from ..state import ConsoleModel
from ..themes import SemanticColors
from ..widgets.xds_pane import short_type
from ..widgets.yaml_area import YamlArea


def _child(node: Any, part: Any) -> Any:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]
    return None


def node_span(resource: Resource, path: tuple[Any, ...]) -> tuple[int, int] | None:
    """0-based first and last line of the YAML node at `path` in the resource's file (None if unknown)."""
    doc = resource.doc
    if doc is None:
        return None
    nodes = doc.source.nodes()
    node = nodes[doc.index] if doc.index < len(nodes) else None
    for part in (*doc.base, *path):
        node = _child(node, part)
        if node is None:
            return None
    end = node.end_mark.line if node.end_mark.column > 0 else node.end_mark.line - 1
    return node.start_mark.line, max(node.start_mark.line, end)


def describe_route(model: ConsoleModel, gateway: str, vhost: str, r: FlattenedRoute, c: SemanticColors) -> Text:
    t = Text()
    t.append(f"{r.name or '(unnamed)'}\n", style="bold")
    t.append(f"{r.id}\n", style=c.muted)
    t.append(f"gateway {gateway} · virtual host {vhost}\n\n", style=c.muted)
    place = model.index_of(gateway, vhost, r.id)
    t.append("Envoy position  ", style="bold")
    t.append(f"[{place}]" if place is not None else "not served (dropped)")
    t.append(f"  {r.position.reason}\n  {r.position.detail}\n", style=c.muted)
    t.append("Match  ", style="bold")
    t.append(r.describe_match() + "\n")
    t.append("Action  ", style="bold")
    t.append(describe_action(r) + "\n")
    if r.sort_method:
        t.append(f"Sorted by  {r.sort_method}\n")
    t.append("\nProvenance\n", style="bold")
    for depth, link in enumerate(r.chain):
        file, line, _ = link.resource.locate(link.route_path)
        weight = f" weight {link.weight}" if link.weight is not None else ""
        where = f"  {file}:{line}" if file else ""
        t.append(f"{'  ' * depth}{'└ ' if depth else ''}{link.ref}{weight}", style=c.delegated if depth < len(r.chain) - 1 else "")
        t.append(f"{where}\n", style=c.muted)
    options = r.options.to_dict()
    t.append("\nInherited options\n", style="bold")
    t.append((yaml.safe_dump(options, sort_keys=False).rstrip() if options else "(none)") + "\n")
    if r.labels:
        t.append("\nLabels  ", style="bold")
        t.append(", ".join(f"{k}={v}" for k, v in r.labels.items()) + "\n")
    t.append("\nDiagnostics\n", style="bold")
    findings = model.by_route.get(r.id, [])
    if not findings and r.valid and not r.problems:
        t.append("none\n", style=c.healthy)
    for p in r.problems:
        t.append(f"✗ {p}\n", style=c.invalid)
    for f in findings:
        style = {"error": c.invalid, "warning": c.shadowed}.get(f.severity.value, c.muted)
        t.append(f"{f.severity.value}[{f.code}] ", style=f"bold {style}")
        t.append(f"{f.message}\n")
        if f.witness:
            t.append(f"  witness: {f.witness}\n", style="bold")
        if len(f.routes) > 1:
            t.append(f"  with: {', '.join(f.routes[1:])}\n", style=c.muted)
    return t


class RouteDetailScreen(ConsoleAccess, Screen[None]):
    BINDINGS = bindings("detail")
    DEFAULT_CSS = """
    RouteDetailScreen #detail-yaml { width: 3fr; }
    RouteDetailScreen #detail-side { width: 2fr; border-left: solid $panel; padding: 0 1; }
    RouteDetailScreen #detail-title { height: 1; background: $panel; padding: 0 1; }
    """

    def __init__(self, model: ConsoleModel, gateway: str, vhost: str, route_id: str) -> None:
        super().__init__()
        self.model = model
        self.gateway = gateway
        self.vhost = vhost
        self.route_id = route_id
        self.route = model.route(gateway, vhost, route_id)

    def compose(self) -> ComposeResult:
        r = self.route
        owner = r.owner if r else None
        file = owner.doc.file if owner is not None and owner.doc is not None else "(no file)"
        yield Static(f"{owner.display if owner else '?'} — {file}", id="detail-title")
        with Horizontal():
            text = owner.doc.source.text if owner is not None and owner.doc is not None else ""
            yield YamlArea(text, read_only=True, id="detail-yaml")
            with VerticalScroll(id="detail-side"):
                yield Static(id="detail-info")
                yield Static("", id="detail-xds")
        yield Footer()

    def on_mount(self) -> None:
        c = self.console.semantic
        info = self.query_one("#detail-info", Static)
        r = self.route
        if r is None:
            info.update("this route is gone (the configuration changed)")
            return
        info.update(describe_route(self.model, self.gateway, self.vhost, r, c))
        area = self.query_one(YamlArea)
        span = node_span(r.owner, r.chain[-1].route_path)
        if span is not None:
            start, end = span
            area.set_marks({i: "meshctl.focus" for i in range(start, end + 1)})
            area.move_cursor((start, 0))
            area.scroll_to(y=max(0, start - 3), animate=False)
        area.focus()
        link = self.console.xds
        if link is not None:
            self._xds(link)
        else:
            self.query_one("#detail-xds", Static).update(Text("\nxDS: no server attached", style=c.muted))

    @work(thread=True, exclusive=True)
    def _xds(self, link: Any) -> None:
        try:
            clients = link.status()
            error = ""
        except Exception as exc:
            clients, error = [], str(exc)
        self.app.call_from_thread(self._show_xds, clients, error)

    def _show_xds(self, clients: list[Any], error: str) -> None:
        c = self.console.semantic
        t = Text("\nxDS clients (route configuration)\n", style="bold")
        if error:
            t.append(f"✗ {error}\n", style=c.invalid)
        if not clients and not error:
            t.append("no client connected\n", style=c.muted)
        for client in clients:
            rds = [(u, s) for u, s in client.per_type.items() if short_type(u) == "RDS"]
            for _, s in rds or [("", None)]:
                if s is None:
                    t.append(f"{client.node_id}: no route configuration requested\n", style=c.muted)
                    continue
                t.append(f"{client.node_id} ", style="bold")
                t.append(s.state, style=f"bold {c.sync_state(s.state)}")
                t.append(f"  acked {s.acked_version or '—'}  {', '.join(s.resource_names)}\n")
        self.query_one("#detail-xds", Static).update(t)

    def action_back(self) -> None:
        self.dismiss(None)

    def action_edit(self) -> None:
        if self.route is not None:
            self.console.open_editor(self.route.owner, self.route.chain[-1].route_path)

    def action_test_witness(self) -> None:
        """Send this route's first witness (or its own matcher's sample) to the sandbox."""
        r = self.route
        if r is None:
            return
        witness = next((f.witness for f in self.model.by_route.get(r.id, []) if f.witness), None)
        self.dismiss(None)
        self.console.test_route_sample(self.gateway, self.vhost, r, witness)
