"""Failover tab against the real demo environment (apps, xDS server, Envoys): trigger marks the preferred
endpoints unhealthy as Envoy reports them, restore brings them back; the console stops the demo afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meshctl.sources.workspace import Workspace
from meshctl.tui import demo_env
from meshctl.tui.app import MeshctlApp

from .conftest import SIZE, loaded, wait_until

pytestmark = pytest.mark.envoy


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Any]:
    console_demo = demo_env.ConsoleDemo(tmp_path / "demo-state")
    try:
        yield console_demo
    finally:
        console_demo.stop()


def live_cells(app: MeshctlApp) -> list[tuple[str, str]]:
    table = app.main_query("#fo-table")
    return [(str(table.get_row_at(i)[0]), str(table.get_row_at(i)[5])) for i in range(table.row_count)]


async def test_trigger_and_restore_against_the_demo(demo: Any, tmp_path: Path) -> None:
    workspace = Workspace([demo.source])
    app = MeshctlApp(workspace, watch=False, startup=lambda: demo.start(workspace), tests_file=tmp_path / "t.yaml")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await wait_until(pilot, lambda: app.envoy_admins, timeout=30, what="the demo's Envoys")
        assert demo.started and app.failover is not None
        await pilot.press("4")
        pane = app.main_query("FailoverPane")
        assert pane.selected == "gloo-mesh/bookinfo-global"
        app.main_query("#fo-locality").value = "us-east-1/us-east-1a"  # the demo client's locality
        pane._render_endpoints()
        await wait_until(pilot, lambda: live_cells(app) and all("healthy" in live for _, live in live_cells(app)),
                         timeout=20, what="live health from Envoy")
        app.main_query("#fo-mode").value = "eds-unhealthy"
        await pilot.click("#fo-trigger")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", what="confirmation")
        await pilot.press("ctrl+y")
        # Envoy now reports the preferred (P0) endpoints unhealthy; the others stay healthy
        await wait_until(pilot, lambda: any(p == "P0" and "✗" in live for p, live in live_cells(app)),
                         timeout=20, what="P0 unhealthy")
        assert all("healthy" in live for p, live in live_cells(app) if p != "P0")
        await pilot.click("#fo-restore")
        await wait_until(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen", what="confirmation")
        await pilot.press("ctrl+y")
        await wait_until(pilot, lambda: all("✓" in live for _, live in live_cells(app)), timeout=20,
                         what="restored")
    demo.stop()
    from meshctl.demo.environment import DemoNotRunning, load_demo

    with pytest.raises(DemoNotRunning):
        load_demo(tmp_path / "demo-state")
