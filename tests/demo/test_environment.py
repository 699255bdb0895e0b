"""The demo environment (apps, xDS server, real Envoys): routes work, and `demo down` leaves no process or port
behind — after a detached `demo up`, and after the process that ran `demo up` was killed."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest

from meshctl.demo.environment import DemoAlreadyRunning, DemoEnvironment, DemoNotRunning, load_demo
from meshctl.demo.supervisor import Supervisor

pytestmark = pytest.mark.envoy
MESHCTL = [sys.executable, "-m", "meshctl.cli.main"]


def meshctl(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MESHCTL, *args], capture_output=True, text=True, timeout=timeout)


class Answer(NamedTuple):
    status: int
    body: Any


def get(url: str, host: str | None = None) -> Answer:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=5)
    try:
        conn.request("GET", parts.path, headers={"Host": host} if host else {})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return Answer(response.status, json.loads(raw))
    except ValueError:
        return Answer(response.status, raw.decode())


def process_gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rfind(")") + 2] in "ZX"  # a zombie no longer runs or holds ports


def port_listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def recorded(state: Path) -> tuple[list[int], list[int]]:
    """(pids, ports) the demo recorded in its state dir."""
    status = json.loads(meshctl("demo", "status", "-o", "json", "--state-dir", str(state)).stdout)
    pids = [p["pid"] for p in status["processes"]]
    ports = [port for p in status["processes"] for port in p["ports"].values()]
    return pids, ports


def assert_all_gone(pids: list[int], ports: list[int], state: Path) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not all(process_gone(p) for p in pids):
        time.sleep(0.05)
    assert [p for p in pids if not process_gone(p)] == []
    assert [p for p in ports if port_listening(p)] == []
    assert list(state.glob("*.pid")) == [] and not (state / "demo.json").exists()


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "demo-state"
    try:
        yield directory
    finally:
        if directory.exists():
            Supervisor(directory).stop_all()  # whatever a failed test left running


def test_python_api_serves_the_guides_routes_and_down_stops_everything(state: Path) -> None:
    with DemoEnvironment(state) as info:
        gateway = info.urls
        version = get(gateway["gateway-version"]["url"], gateway["gateway-version"]["host"])
        assert (version.status, version.body) == (200, "'v2'")
        ratings = get(gateway["gateway-ratings"]["url"], gateway["gateway-ratings"]["host"])
        assert ratings.status == 200 and ratings.body["service"] == "ratings"
        v1 = get(gateway["gateway-reviews-v1"]["url"], gateway["gateway-reviews-v1"]["host"])
        assert v1.body["version"] == "v1" and v1.body["path"] == "/reviews/1"  # prefix rewritten
        page = get(gateway["productpage"]["url"])
        assert page.body["upstream_ok"] is True
        assert page.body["upstreams"]["database"]["body"]["instance"] == "database@db-dallas"
        assert load_demo(state).xds_address == info.xds_address
        with pytest.raises(DemoAlreadyRunning):
            DemoEnvironment(state).up()
        assert get(gateway["reviews"]["url"], gateway["reviews"]["host"]).status == 200  # still running
        pids, ports = recorded(state)
        assert len(pids) == 4 and all(port_listening(p) for p in ports)
    assert_all_gone(pids, ports, state)
    with pytest.raises(DemoNotRunning):
        load_demo(state)


def test_detached_up_then_down_leaves_no_process_or_port(state: Path) -> None:
    up = meshctl("demo", "up", "--detach", "--state-dir", str(state))
    assert up.returncode == 0, up.stderr
    assert "curl -s -H 'Host: reviews.bookinfo.svc.cluster.local'" in up.stdout
    pids, ports = recorded(state)
    assert len(pids) == 4 and all(not process_gone(p) for p in pids)
    assert all(port_listening(p) for p in ports)
    down = meshctl("demo", "down", "--state-dir", str(state))
    assert down.returncode == 0 and "stopped" in down.stdout
    assert_all_gone(pids, ports, state)


def test_down_cleans_up_after_the_foreground_up_was_killed(state: Path) -> None:
    parent = subprocess.Popen([*MESHCTL, "demo", "up", "--state-dir", str(state)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (state / "demo.json").exists() and parent.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (state / "demo.json").exists()
        pids, ports = recorded(state)
        os.kill(parent.pid, signal.SIGKILL)  # a crash: no teardown runs
        parent.wait(10)
        assert all(not process_gone(p) for p in pids)  # the children outlive their parent
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
    down = meshctl("demo", "down", "--state-dir", str(state))
    assert down.returncode == 0
    assert_all_gone(pids, ports, state)


def test_v2_variant_serves_the_same_story_through_real_envoy(state: Path) -> None:
    from meshctl.demo.env_config import DemoOptions
    from meshctl.model.snapshot import load_snapshot
    from meshctl.model.v2.resources import RouteTableV2, VirtualGatewayV2

    with DemoEnvironment(state, DemoOptions(api="v2")) as info:
        served = load_snapshot([info.config_dir])
        assert any(isinstance(r, VirtualGatewayV2) for r in served)
        assert not any(r.kind == "VirtualHost" for r in served)
        assert sum(isinstance(r, RouteTableV2) for r in served) >= 3
        gateway = info.urls
        version = get(gateway["gateway-version"]["url"], gateway["gateway-version"]["host"])
        assert (version.status, version.body) == (200, "'v2'")
        v1 = get(gateway["gateway-reviews-v1"]["url"], gateway["gateway-reviews-v1"]["host"])
        assert v1.body["version"] == "v1" and v1.body["path"] == "/reviews/1"
        assert get(gateway["gateway-reviews-global"]["url"], gateway["gateway-reviews-global"]["host"]).status == 200
