"""Fixtures for the console tests: a writable copy of the demo configuration and an app driver."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from meshctl.model.snapshot import demo_files
from meshctl.sources.files import FileSource
from meshctl.sources.workspace import Workspace
from meshctl.tui.app import MeshctlApp

SIZE = (150, 42)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """The demo mesh as plain files the tests may edit."""
    target = tmp_path / "config"
    target.mkdir()
    for f in demo_files():
        shutil.copy(f, target / f.name)
    return target


@pytest.fixture
def make_app(config_dir: Path, tmp_path: Path) -> Callable[..., MeshctlApp]:
    def make(**kwargs: Any) -> MeshctlApp:
        kwargs.setdefault("tests_file", tmp_path / "tests.yaml")
        watch = kwargs.pop("watch", False)
        workspace = Workspace([FileSource([config_dir], interval=0.1)])
        return MeshctlApp(workspace, watch=watch, **kwargs)
    return make


async def wait_until(pilot: Any, condition: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    """Let the app run until condition() is truthy (bounded); fail with `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")


async def loaded(pilot: Any, app: MeshctlApp, updates: int = 1) -> None:
    await wait_until(pilot, lambda: app.model_updates >= updates, what="the configuration to load")
    await pilot.pause(0.05)


WaitUntil = Callable[..., Awaitable[Any]]
