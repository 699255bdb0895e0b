"""Fixtures: the v2 variant of the demo (real apps, xDS server, Envoys) with short ejection times."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from meshctl.demo.environment import DemoOptions
from tests.failover.conftest import RunningDemo, running_demo, settled

V2_OPTIONS = DemoOptions(base_ejection_time_s=1.0, outlier_interval_s=0.5, api="v2")


@pytest.fixture(scope="package")
def demo_v2_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    yield from running_demo(tmp_path_factory, "failover-demo-v2", V2_OPTIONS)


@pytest.fixture
def demo_v2(demo_v2_env: RunningDemo) -> Iterator[RunningDemo]:
    """The shared v2 demo, settled before and restored after each test."""
    yield from settled(demo_v2_env)
