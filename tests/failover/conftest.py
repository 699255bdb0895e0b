"""Fixtures: one demo (real apps, xDS server, Envoys) for the failover tests, with short ejection times.

The demo YAML ejects for 15 s (reviews) and 120 s (database); the tests override both to 1 s with a 0.5 s
interval so a failover and the return to the local locality both happen within seconds.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from meshctl.demo.environment import DemoEnvironment, DemoInfo, DemoOptions
from meshctl.demo.failover_control import controller_for_demo
from meshctl.failover.trigger import FailoverController
from meshctl.failover.watch import wait_settled

TEST_OPTIONS = DemoOptions(base_ejection_time_s=1.0, outlier_interval_s=0.5)
LOCAL = "us-east-1/us-east-1a"
REMOTE_REVIEWS = "us-east-2/us-east-2b"
REMOTE_DATABASE = "us-west-1/us-west-1a"


@dataclass
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def locality(self) -> str:
        loc = self.body.get("locality") or {}
        return f"{loc.get('region')}/{loc.get('zone')}"


def get(url: str, host: str | None = None, timeout: float = 5.0) -> Answer:
    """One GET on a fresh connection (loopback only)."""
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1"
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path or "/", headers={"Host": host} if host else {})
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        body = json.loads(raw)
    except ValueError:
        body = {"raw": raw.decode(errors="replace")}
    return Answer(response.status, body if isinstance(body, dict) else {"value": body})


@dataclass
class RunningDemo:
    info: DemoInfo
    env: DemoEnvironment
    controller: FailoverController

    def reviews(self) -> Answer:
        entry = self.info.urls["reviews"]
        return get(entry["url"], entry["host"])

    def database(self) -> Answer:
        entry = self.info.urls["database"]
        return get(entry["url"], entry["host"])


def running_demo(tmp_path_factory: pytest.TempPathFactory, name: str,
                 options: DemoOptions) -> Iterator[RunningDemo]:
    """A demo of its own (state under a temporary directory), stopped after its last test, on failure too."""
    state = Path(tmp_path_factory.mktemp(name))
    env = DemoEnvironment(state, options)
    try:
        info = env.up()
        yield RunningDemo(info, env, controller_for_demo(state))
    finally:
        env.down()


def settled(demo: RunningDemo) -> Iterator[RunningDemo]:
    """A shared demo, settled before and restored after each test (no failure leaks into the next)."""
    assert not wait_settled(demo.info.admin_urls(), timeout=10.0)
    try:
        yield demo
    finally:
        demo.controller.restore_all()
        wait_settled(demo.info.admin_urls(), timeout=10.0)


@pytest.fixture(scope="package")
def demo_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    yield from running_demo(tmp_path_factory, "failover-demo", TEST_OPTIONS)


@pytest.fixture
def demo(demo_env: RunningDemo) -> Iterator[RunningDemo]:
    yield from settled(demo_env)
