"""Fixtures for live-cluster tests: two fake API servers (two clusters), a kubeconfig naming both, cleanup."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import yaml

from .fakeapi import FakeApiServer, kubeconfig
from .objects import endpoints, node, pod, service

REPO = Path(__file__).resolve().parents[2]
CRD_FILES = sorted((REPO / "deploy" / "crds").glob("*.yaml"))
ADMIN_TOKEN = "token-admin"


_CRDS: list[dict[str, Any]] = []


def crds() -> list[dict[str, Any]]:
    if not _CRDS:
        _CRDS.extend(yaml.load(f.read_text(), Loader=yaml.CSafeLoader) for f in CRD_FILES)
    return _CRDS


def install_crds(server: FakeApiServer) -> None:
    for crd in crds():
        server.install_crd(crd)


@pytest.fixture
def east() -> Iterator[FakeApiServer]:
    """Management cluster "east": Gloo CRDs installed, nodes in us-east-1a / us-east-1b."""
    server = FakeApiServer("east").start()
    install_crds(server)
    server.create(node("east-node-a", "us-east-1", "us-east-1a", "rack-1"))
    server.create(node("east-node-b", "us-east-1", "us-east-1b"))
    server.create(service("productpage", "bookinfo"))
    server.create(pod("productpage-v1-abc", "bookinfo", "east-node-a", "10.1.0.11", {"app": "productpage", "version": "v1"}))
    server.create(pod("productpage-v1-def", "bookinfo", "east-node-b", "10.1.0.12", {"app": "productpage", "version": "v1"}))
    server.create(endpoints("productpage", "bookinfo", 9080, [("10.1.0.11", "east-node-a", "productpage-v1-abc"),
                                                               ("10.1.0.12", "east-node-b", "productpage-v1-def")]))
    yield server
    server.stop()


@pytest.fixture
def west() -> Iterator[FakeApiServer]:
    """Workload cluster "west": no Gloo CRDs, one node in us-west-2 / us-west-2c."""
    server = FakeApiServer("west").start()
    server.create(node("west-node-a", "us-west-2", "us-west-2c"))
    server.create(service("ratings", "bookinfo"))
    server.create(pod("ratings-v3-xyz", "bookinfo", "west-node-a", "10.2.0.23", {"app": "ratings", "version": "v3"}))
    server.create(endpoints("ratings", "bookinfo", 9080, [("10.2.0.23", "west-node-a", "ratings-v3-xyz")]))
    yield server
    server.stop()


@pytest.fixture
def kubeconfig_path(tmp_path: Path, east: FakeApiServer, west: FakeApiServer) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig({"east": (east, ADMIN_TOKEN), "west": (west, ADMIN_TOKEN)})))
    return path


@pytest.fixture
def closing() -> Iterator[Callable[[Any], Any]]:
    """Register sources / workspaces to stop at teardown (also when the test fails)."""
    things: list[Any] = []

    def register(thing: Any) -> Any:
        things.append(thing)
        return thing

    yield register
    for thing in reversed(things):
        closer = getattr(thing, "close", None) or thing.stop
        closer()
