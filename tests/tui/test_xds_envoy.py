"""Editor + xDS with a real server and a real Envoy: apply bumps the acknowledged version and Envoy serves
the edit; a configuration Envoy rejects is NACKed, the reason is shown and the editor keeps the text."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from meshctl.envoy.ports import free_port
from meshctl.envoy.process import EnvoyProcess
from meshctl.sources.files import FileSource
from meshctl.sources.workspace import Workspace
from meshctl.tui.app import MeshctlApp
from meshctl.tui.integrations import LocalXdsLink
from meshctl.tui.screens.editor import EditorScreen, PreviewScreen
from meshctl.xds.codec import ROUTE_TYPE
from meshctl.xds.service import XdsService
from meshctl.xds.translate import TranslateOptions

from .conftest import SIZE, loaded, wait_until

pytestmark = pytest.mark.envoy

CONFIG = """\
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualGateway
metadata: {name: gw, namespace: app}
spec:
  connectionHandlers:
  - http:
      routeConfig:
      - virtualHostSelector: {namespaces: [app]}
---
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualHost
metadata: {name: vh, namespace: app}
spec:
  domains: ["*"]
  routes:
  - name: probe
    matchers: [{uri: {prefix: /probe}}]
    directResponseAction: {status: 200, body: good}
"""
# RE2 compiles it (meshctl's validation passes) but Envoy's default program size limit (100) rejects it
BIG_REGEX = """  - name: big-regex
    matchers: [{uri: {regex: "/[a-z]{200}"}}]
    directResponseAction: {status: 200, body: big}
"""
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(port: int, path: str) -> tuple[int, str]:
    try:
        with _NO_PROXY.open(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


class Mesh:
    def __init__(self, config_dir: Path) -> None:
        self.port = free_port()
        self.workspace = Workspace([FileSource([config_dir], interval=0.1)]).load()
        options = TranslateOptions(listener_ports={"app/gw": self.port}, sidecar_port=free_port())
        self.service = XdsService(self.workspace, options, listen="127.0.0.1:0").start()
        self.envoy = EnvoyProcess("edge-1", self.service.bound_port, node_cluster="gateway")

    def rds(self) -> Any:
        clients = [c for c in self.service.status() if c.node_id == "edge-1"]
        return clients[0].per_type.get(ROUTE_TYPE) if clients else None

    def stop(self) -> None:
        self.envoy.stop()
        self.service.stop()
        self.workspace.stop()


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[Mesh]:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "config.yaml").write_text(CONFIG)
    m = Mesh(config_dir)
    try:
        m.envoy.start().wait_live(15)
        yield m
    finally:
        m.stop()


async def _apply(app: MeshctlApp, pilot: Any, screen: EditorScreen, text: str) -> str:
    area = screen.area
    area.replace(text, (0, 0), area.document.end)
    await wait_until(pilot, lambda: screen.check is not None and screen.area.text == text and screen.check.ok,
                     what="valid text")
    await pilot.press("ctrl+s")
    await wait_until(pilot, lambda: isinstance(app.screen, PreviewScreen), what="preview")
    await pilot.press("ctrl+s")
    status = screen.query_one("#editor-status")
    await wait_until(pilot, lambda: not screen.busy and ("applied" in str(status.render()) or
                                                         "✗" in str(status.render())), timeout=30, what="apply")
    return str(status.render())


async def test_apply_pushes_and_nack_keeps_text(mesh: Mesh, tmp_path: Path) -> None:
    deadline = time.monotonic() + 15
    while http_get(mesh.port, "/probe") != (200, "good") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert http_get(mesh.port, "/probe") == (200, "good")
    first = mesh.rds()
    assert first is not None and first.state == "SYNCED"

    app = MeshctlApp(mesh.workspace, xds=LocalXdsLink(mesh.service), watch=False, tests_file=tmp_path / "t.yaml")
    config = tmp_path / "config" / "config.yaml"
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        # the xDS pane shows the connected Envoy and its per-type state
        await pilot.press("3")
        await wait_until(pilot, lambda: app.main_query("XdsPane").clients, what="xDS clients")
        table = app.main_query("#xds-table")
        assert table.row_count == 1 and "edge-1" in str(table.get_row_at(0)[0])
        assert "SYNCED" in [str(cell) for cell in table.get_row_at(0)]

        app.open_editor_path(str(config))
        screen = await wait_until(pilot, lambda: app.screen if isinstance(app.screen, EditorScreen) else None,
                                  what="editor")
        await wait_until(pilot, lambda: screen.checks_done >= 1, what="first check")

        # a good edit: written, pushed, acknowledged with a new version, served by Envoy
        status = await _apply(app, pilot, screen, CONFIG.replace("body: good", "body: better"))
        assert "all acknowledged" in status, status
        after = mesh.rds()
        assert after.state == "SYNCED" and after.acked_version != first.acked_version
        assert http_get(mesh.port, "/probe") == (200, "better")

        # Envoy rejects this one: NACK reason shown, the text stays, Envoy keeps serving the last good config
        rejected = CONFIG.replace("body: good", "body: rejected") + BIG_REGEX
        status = await _apply(app, pilot, screen, rejected)
        assert "NACK" in status and "program size" in status, status
        assert screen.area.text == rejected
        assert mesh.rds().state == "NACKED"
        assert http_get(mesh.port, "/probe") == (200, "better")
        assert config.read_text() == rejected  # written; ctrl+r would undo it


async def test_verify_key_checks_the_connected_envoy_against_the_configuration(mesh: Mesh, tmp_path: Path) -> None:
    """`v` on the xDS tab runs meshctl verify against each gateway Envoy whose admin API the console knows."""
    from meshctl.envoy.admin import AdminClient

    deadline = time.monotonic() + 15
    while http_get(mesh.port, "/probe") != (200, "good") and time.monotonic() < deadline:
        time.sleep(0.05)
    admin = AdminClient(f"http://127.0.0.1:{mesh.envoy.admin_port}")
    app = MeshctlApp(mesh.workspace, xds=LocalXdsLink(mesh.service), watch=False, tests_file=tmp_path / "t.yaml",
                     envoy_admins=[admin])
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("3")
        pane = app.main_query("XdsPane")
        await wait_until(pilot, lambda: pane.clients, what="xDS clients")
        await pilot.press("v")
        await wait_until(pilot, lambda: pane.verify_lines and pane.verify_lines != ["verifying ..."], timeout=30,
                         what="verify result")
        assert pane.verify_lines[0].startswith("edge-1: agrees"), pane.verify_lines
