"""`meshctl verify --demo` against a real Envoy fed by the xDS server: agreement first, then a route
configuration broken by hand (pushed through the server, bypassing the engine) that verify must name."""

from __future__ import annotations

import io
import json
import time
from contextlib import redirect_stdout
from typing import Iterator

import pytest

from meshctl.cli.main import main
from meshctl.envoy.ports import free_port
from meshctl.envoy.process import EnvoyProcess
from meshctl.model.snapshot import demo_files
from meshctl.sources.files import FileSource
from meshctl.sources.workspace import Workspace
from meshctl.xds import codec
from meshctl.xds.cache import NodeInfo, XdsSnapshot
from meshctl.xds.codec import ROUTE_TYPE
from meshctl.xds.runner import BackgroundXdsServer
from meshctl.xds.service import XdsService, node_group
from meshctl.xds.translate import TranslateOptions

pytestmark = pytest.mark.envoy

GATEWAY = "gloo-mesh/demo-gateway"
CHANGED = "RouteTable/gloo-mesh/demo-routetable#v1"  # its cluster is swapped by hand
REMOVED = "RouteTable/gloo-mesh/reviews-misc-rt#v2-version"  # deleted by hand


class HandEditedServer:
    """The demo's translation served over ADS, with an optional hand edit of the route configuration."""

    def __init__(self, listener_port: int) -> None:
        self.workspace = Workspace([FileSource([str(p) for p in demo_files()], interval=3600)]).load()
        self.service = XdsService(self.workspace, TranslateOptions(listener_ports={GATEWAY: listener_port}))
        self.broken = False
        self.server = BackgroundXdsServer(self.build, "127.0.0.1:0", group_by=node_group).start()

    def build(self, node: NodeInfo) -> XdsSnapshot:
        snapshot = self.service.build(node)
        if not self.broken:
            return snapshot
        resources = {t: dict(by_name) for t, by_name in snapshot.resources.items()}
        for name, config in list(resources.get(ROUTE_TYPE, {}).items()):
            config = type(config).parse(codec.encode(config))  # a copy: the translation shares its messages
            for vh in config.virtual_hosts:
                kept = []
                for route in vh.routes:
                    if route.name == REMOVED:
                        continue
                    if route.name == CHANGED:
                        route.route.cluster = route.route.cluster.replace("version-v1", "version-v2")
                    kept.append(route)
                vh.routes = kept
            resources[ROUTE_TYPE][name] = config
        return XdsSnapshot(snapshot.version + "-hand-edited", resources)

    def stop(self) -> None:
        self.server.stop()
        self.workspace.stop()


@pytest.fixture
def demo_proxy() -> Iterator[tuple[HandEditedServer, EnvoyProcess, int]]:
    port = free_port()
    served = HandEditedServer(port)
    envoy = EnvoyProcess("verify-gw", served.server.bound_port, node_cluster=f"gateway:{GATEWAY}")
    try:
        envoy.start().wait_live(20)
        served.server.wait_synced(20)
        yield served, envoy, port
    finally:
        envoy.stop()
        served.stop()


def _verify(admin_url: str) -> tuple[int, dict]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["verify", "--demo", "--envoy-admin", admin_url, "--gateway", GATEWAY, "-o", "json"])
    return code, json.loads(out.getvalue())


def test_verify_agrees_then_names_the_hand_broken_routes(demo_proxy) -> None:
    served, envoy, _ = demo_proxy
    code, report = _verify(envoy.admin_url)
    assert code == 0, [r for r in report["routes"] if r["status"] != "same"]
    assert report["counts"]["same"] >= 6

    served.broken = True
    served.server.refresh().result(10)
    deadline = time.monotonic() + 20  # polled here: a blocking admin call must not run on the server's loop
    while REMOVED in envoy.admin.get("/config_dump"):
        assert time.monotonic() < deadline, "Envoy did not take the hand-edited routes"
        time.sleep(0.05)

    code, report = _verify(envoy.admin_url)
    assert code == 1
    by_route = {r["envoyRoute"]: r for r in report["routes"]}
    changed = by_route[CHANGED]
    assert changed["status"] == "different action"
    assert changed["request"] == "GET http://www.example.com/reviews/v1"
    assert any("version-v2" in d for d in changed["differences"])
    removed = by_route[REMOVED]
    assert removed["status"] == "missing"
    assert removed["request"] == "GET http://www.example.com/reviews/v2/version"


def test_the_console_check_names_the_broken_route(demo_proxy) -> None:
    """The xDS tab's `v` (meshctl/tui/verify_check.py) over the connected Envoy's admin API."""
    from meshctl.model.snapshot import load_snapshot
    from meshctl.routing.view import build_routing_view
    from meshctl.tui.verify_check import verify_connected

    served, envoy, _ = demo_proxy
    snapshot = load_snapshot([], demo=True)
    view = build_routing_view(snapshot)
    lines = verify_connected(snapshot, view, [envoy.admin])
    assert lines[0].startswith("verify-gw: agrees"), lines

    served.broken = True
    served.server.refresh().result(10)
    deadline = time.monotonic() + 20
    while REMOVED in envoy.admin.get("/config_dump"):
        assert time.monotonic() < deadline, "Envoy did not take the hand-edited routes"
        time.sleep(0.05)
    lines = verify_connected(snapshot, view, [envoy.admin])
    assert lines[0].startswith("verify-gw: DIFFERS"), lines
    assert "  different action: v1  GET http://www.example.com/reviews/v1" in lines
