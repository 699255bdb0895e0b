"""Shared fixtures for the model tests: load YAML written to a temporary file and validate it."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from meshctl.model.findings import Finding
from meshctl.model.snapshot import Snapshot, load_snapshot
from meshctl.model.validate import validate


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str | bytes, str], Path]:
    """Write text or bytes to tmp_path/name and return the path."""

    def write(content: str | bytes, name: str = "input.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return write


@pytest.fixture
def check_file(write_file: Callable[[str | bytes, str], Path]) -> Callable[..., tuple[Path, Snapshot, list[Finding]]]:
    """Write content to a file, load it like `meshctl validate` does, return (path, snapshot, findings)."""

    def check(content: str | bytes, name: str = "input.yaml") -> tuple[Path, Snapshot, list[Finding]]:
        path = write_file(content, name)
        snapshot = load_snapshot([path])
        return path, snapshot, validate(snapshot)

    return check
