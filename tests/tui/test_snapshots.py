"""SVG snapshots of the main screens (fixed terminal size, relative paths, frozen clock, no cursor blink).

Update after an intended change: .venv/bin/pytest tests/tui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from meshctl.model.snapshot import demo_files
from meshctl.sources.files import FileSource
from meshctl.sources.workspace import Workspace
from meshctl.tui.app import MeshctlApp
from meshctl.tui.sandbox_adapter import SandboxRequest
from meshctl.tui.widgets.route_tree import RouteData

from .conftest import loaded, wait_until
from .test_routes_pane import SHADOWING_TABLE

TERMINAL = (130, 36)


@pytest.fixture
def snapshot_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MeshctlApp:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config"
    config.mkdir()
    for f in demo_files():
        shutil.copy(f, config / f.name)
    (config / "shadow.yaml").write_text(SHADOWING_TABLE)
    monkeypatch.setattr("meshctl.tui.widgets.header._ago", lambda ts, now: "12:00:00")
    return MeshctlApp(Workspace([FileSource(["config"])]), watch=False, tests_file=tmp_path / "t.yaml")


async def _ready(pilot: Any) -> None:
    app = pilot.app
    await loaded(pilot, app)
    for widget in app.screen.query("Input, TextArea"):
        widget.cursor_blink = False


def test_routes_tree(snap_compare, snapshot_app: MeshctlApp) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        pilot.app.main_query("RouteTree").expand_all_loaded()
        await pilot.pause(0.1)
    assert snap_compare(snapshot_app, terminal_size=TERMINAL, run_before=run_before)


def test_sandbox_match(snap_compare, snapshot_app: MeshctlApp) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        pilot.app.run_sandbox(SandboxRequest("GET", "http://www.example.com/reviews/v1/version"))
        await pilot.pause(0.1)
        pilot.app.main_query("RouteTree").focus()
        await pilot.pause(0.1)
    assert snap_compare(snapshot_app, terminal_size=TERMINAL, run_before=run_before)


def test_diagnostics(snap_compare, snapshot_app: MeshctlApp) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("2")
        await pilot.pause(0.1)
    assert snap_compare(snapshot_app, terminal_size=TERMINAL, run_before=run_before)


def test_route_detail(snap_compare, snapshot_app: MeshctlApp) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        app = pilot.app
        gw = app.model.view.gateways[0]
        vh = gw.virtual_hosts[0]
        route = next(r for r in vh.routes if r.name == "v1")
        app.open_detail(RouteData(gw.name, vh.name, route.id))
        await wait_until(pilot, lambda: type(app.screen).__name__ == "RouteDetailScreen", what="detail")
        for widget in app.screen.query("TextArea"):
            widget.cursor_blink = False
        await pilot.pause(0.1)
    assert snap_compare(snapshot_app, terminal_size=TERMINAL, run_before=run_before)


def test_editor_with_error(snap_compare, snapshot_app: MeshctlApp) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        app = pilot.app
        app.open_editor_path("config/shadow.yaml")
        screen = await wait_until(pilot, lambda: app.screen if type(app.screen).__name__ == "EditorScreen" else None,
                                  what="editor")
        await wait_until(pilot, lambda: screen.checks_done >= 1, what="first check")
        screen.area.cursor_blink = False
        area = screen.area
        area.replace(area.text.replace("status: 200, body: api", "status: 999, body: api"), (0, 0), area.document.end)
        await wait_until(pilot, lambda: screen.check is not None and not screen.check.ok, what="error")
        await pilot.pause(0.1)
    assert snap_compare(snapshot_app, terminal_size=TERMINAL, run_before=run_before)


def test_failover_and_xds(snap_compare, snapshot_app: MeshctlApp) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        await pilot.press("4")
        await pilot.pause(0.1)
    assert snap_compare(snapshot_app, terminal_size=TERMINAL, run_before=run_before)


def test_colorblind_theme(snap_compare, snapshot_app: MeshctlApp) -> None:
    async def run_before(pilot: Any) -> None:
        await _ready(pilot)
        pilot.app.set_console_theme("colorblind")
        await pilot.press("slash", *"host", "enter")
        await pilot.press("escape")
        pilot.app.main_query("#filter").value = "shadow"
        await pilot.pause(0.1)
    assert snap_compare(snapshot_app, terminal_size=TERMINAL, run_before=run_before)
