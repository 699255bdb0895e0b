"""Guard rails: ruff (pyflakes, isort, bugbear) and mypy on the core packages must report nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    # the tools come from the `test` extra; a missing one is a broken install, not a reason to skip
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    """pyproject.toml [tool.ruff] selects F, I and B for every Python file of the repository."""
    result = _run("ruff", "check", "--no-cache", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_in_the_core() -> None:
    """pyproject.toml [tool.mypy] `files` names the core modules (model, routing, sandbox, xds translate)."""
    result = _run("mypy", "--no-incremental")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
