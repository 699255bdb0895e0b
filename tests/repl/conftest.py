"""Fixtures for the REPL tests: a writable copy of a guide step and a REPL state over it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshctl.repl.state import FileConfig, ReplState

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "examples" / "004-advanced-routing"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(GUIDE / "07-route-specificity", target)
    return target


@pytest.fixture
def state(config_dir: Path) -> Iterator[ReplState]:
    yield ReplState(FileConfig([str(config_dir)]))
