"""Fixtures: the v2 variant of the demo (real apps, xDS server, Envoys) with short ejection times."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meshctl.demo.environment import DemoEnvironment, DemoOptions
from meshctl.demo.failover_control import controller_for_demo
from meshctl.failover.watch import wait_settled
from tests.failover.conftest import RunningDemo

V2_OPTIONS = DemoOptions(base_ejection_time_s=1.0, outlier_interval_s=0.5, api="v2")


@pytest.fixture(scope="package")
def demo_v2_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    state = Path(tmp_path_factory.mktemp("failover-demo-v2"))
    env = DemoEnvironment(state, V2_OPTIONS)
    try:
        info = env.up()
        yield RunningDemo(info, env, controller_for_demo(state))
    finally:
        env.down()


@pytest.fixture
def demo_v2(demo_v2_env: RunningDemo) -> Iterator[RunningDemo]:
    """The shared v2 demo, settled before and restored after each test."""
    assert not wait_settled(demo_v2_env.info.admin_urls(), timeout=10.0)
    try:
        yield demo_v2_env
    finally:
        demo_v2_env.controller.restore_all()
        wait_settled(demo_v2_env.info.admin_urls(), timeout=10.0)
