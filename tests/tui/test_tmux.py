"""The real `meshctl tui --demo` in a real terminal (tmux): it draws the route tree and quits cleanly."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None,
                                reason="tmux is not installed (apt-get install tmux)")


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10)
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def capture(self) -> str:
        return self.run("capture-pane", "-p", "-t", "console", check=False)

    def alive(self) -> bool:
        return subprocess.run(["tmux", "-L", self.socket, "has-session", "-t", "console"],
                              capture_output=True, timeout=10).returncode == 0

    def wait_for(self, predicate, timeout: float = 30.0) -> str:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.capture()
            if predicate(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"timed out; the screen was:\n{screen}")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    socket = f"meshctl-test-{uuid.uuid4().hex[:8]}"
    t = Tmux(socket)
    try:
        yield t
    finally:
        t.run("kill-server", check=False)
        # if the console died before its own teardown, stop the demo it started (apps, xDS, Envoys)
        from meshctl.demo.environment import DemoEnvironment

        DemoEnvironment(tmp_path / "state" / "meshctl" / "demo").down()


def test_demo_console_in_tmux(tmux: Tmux, tmp_path: Path) -> None:
    exit_file = tmp_path / "exit-code"
    # COLUMNS/LINES (set by pytest) would override the terminal size for Textual
    command = (f"cd {shlex.quote(str(tmp_path))} && unset COLUMNS LINES; TERM=xterm-256color "
               f"XDG_STATE_HOME={shlex.quote(str(tmp_path / 'state'))} PYTHONPATH={shlex.quote(str(REPO))} "
               f"{shlex.quote(sys.executable)} -m meshctl.cli.main tui --demo; echo $? > {shlex.quote(str(exit_file))}")
    tmux.run("-f", "/dev/null", "new-session", "-d", "-s", "console", "-x", "140", "-y", "40", "sh", "-c", command)
    screen = tmux.wait_for(lambda s: "[0] ratings" in s and "VirtualGateway" in s, timeout=60)
    assert "gloo-mesh/demo-gateway" in screen
    assert "VirtualHost gloo-mesh/demo-virtualhost" in screen
    assert "delegate, sorted by ROUTE_SPECIFICITY" in screen
    assert "demo" in screen.splitlines()[0]  # the header names the source
    # test a request through the `:` command line and see the match
    tmux.run("send-keys", "-t", "console", "-l", ":")
    tmux.wait_for(lambda s: ":command (gw, routes" in s, timeout=10)  # typed like a person: after it opens
    tmux.run("send-keys", "-t", "console", "-l", "test GET http://www.example.com/ratings/1")
    tmux.run("send-keys", "-t", "console", "Enter")
    screen = tmux.wait_for(lambda s: "▶ [0] ratings" in s, timeout=20)
    # the demo environment is up: real Envoys connected to its xDS server, all types acknowledged
    screen = tmux.wait_for(lambda s: "demo environment: xDS" in s, timeout=30)
    assert "2 Envoy(s)" in screen.splitlines()[0]
    tmux.run("send-keys", "-t", "console", "3")  # (no Escape before it: ESC+3 reads as alt+3)
    screen = tmux.wait_for(lambda s: "istio-ingressgateway" in s and "SYNCED" in s, timeout=30)
    tmux.run("send-keys", "-t", "console", "C-q")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not exit_file.exists():
        time.sleep(0.2)
    assert exit_file.exists(), tmux.capture()
    assert exit_file.read_text().strip() == "0"
    from meshctl.demo.environment import DemoNotRunning, load_demo
    from meshctl.demo.supervisor import Supervisor

    with pytest.raises(DemoNotRunning):  # the console stopped the demo it started
        load_demo(tmp_path / "state" / "meshctl" / "demo")
    assert not [p for p in Supervisor(tmp_path / "state" / "meshctl" / "demo").status() if p.alive]
