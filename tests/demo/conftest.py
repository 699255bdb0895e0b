"""Fixtures for the demo apps and supervisor tests: real processes, always stopped afterwards."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshctl.demo.apps import AppsSpec, InstanceSpec, RunningApps, launch_apps
from meshctl.demo.supervisor import Supervisor

BACKENDS = AppsSpec(instances=(
    InstanceSpec(id="reviews-v1@cluster-1", service="reviews", namespace="bookinfo", version="v1",
                 cluster="cluster-1", region="us-east-1", zone="us-east-1a", kind="reviews"),
    InstanceSpec(id="reviews-v2@cluster-1", service="reviews", namespace="bookinfo", version="v2",
                 cluster="cluster-1", region="us-east-1", zone="us-east-1a", kind="reviews"),
    InstanceSpec(id="reviews-v3@cluster-2", service="reviews", namespace="bookinfo", version="v3",
                 cluster="cluster-2", region="us-east-2", zone="us-east-2b", kind="reviews"),
    InstanceSpec(id="ratings-v1@cluster-1", service="ratings", namespace="bookinfo", version="v1",
                 cluster="cluster-1", region="us-east-1", zone="us-east-1a", kind="ratings"),
    InstanceSpec(id="database@dallas", service="database", namespace="external", version="v1",
                 cluster="dallas", region="us-south", zone="us-south-1", kind="database"),
    InstanceSpec(id="echo@cluster-1", service="echo", namespace="default", version="v1",
                 cluster="cluster-1", region="us-east-1", zone="us-east-1b", kind="generic"),
))


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    sup = Supervisor(tmp_path / "state")
    try:
        yield sup
    finally:
        sup.stop_all()


@pytest.fixture(scope="module")
def module_supervisor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Supervisor]:
    sup = Supervisor(tmp_path_factory.mktemp("demo-state"))
    try:
        yield sup
    finally:
        sup.stop_all()


@pytest.fixture(scope="module")
def backends(module_supervisor: Supervisor) -> RunningApps:
    """One apps process hosting reviews v1/v2/v3, ratings, a database and a generic echo."""
    return launch_apps(module_supervisor, BACKENDS, name="backends")


@pytest.fixture
def bystander() -> Iterator[subprocess.Popen[bytes]]:
    """A process the supervisor did not start (own session, so a wrong killpg hits only it)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                            start_new_session=True)
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()
