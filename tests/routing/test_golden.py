"""Golden files: `meshctl routes` tree and JSON output for every 004 step and the demo.

Run from anywhere (the test switches to the repo root so file paths in the output are stable).
Regenerate after an intended change with:  MESHCTL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/routing/test_golden.py
and review the diff of tests/routing/golden/.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from meshctl.cli.main import main
from meshctl.model.snapshot import demo_data_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
STEPS = sorted(p.name for p in (REPO_ROOT / "docs/examples/004-advanced-routing").iterdir() if p.is_dir())
SOURCES = [(step, [f"docs/examples/004-advanced-routing/{step}"]) for step in STEPS] + [("demo", ["--demo"])]
UPDATE = os.environ.get("MESHCTL_UPDATE_GOLDEN") == "1"


def run_routes(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["routes", *args]) == 0
    out = capsys.readouterr().out
    return out.replace(str(demo_data_dir()), "<demo>")  # the demo's files live wherever meshctl is installed


@pytest.mark.parametrize("fmt", ["tree", "json"])
@pytest.mark.parametrize(("name", "args"), SOURCES, ids=[s[0] for s in SOURCES])
def test_routes_output_matches_golden(name: str, args: list[str], fmt: str, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    got = run_routes([*args, "-o", fmt], capsys)
    if fmt == "json":
        json.loads(got)  # well-formed before anything else
    golden = GOLDEN / f"{name}.{'txt' if fmt == 'tree' else 'json'}"
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(got, encoding="utf-8")
    assert golden.exists(), f"missing {golden.relative_to(REPO_ROOT)}; create it with MESHCTL_UPDATE_GOLDEN=1"
    assert got == golden.read_text(encoding="utf-8"), (
        f"{golden.relative_to(REPO_ROOT)} differs; if the change is intended, rerun with MESHCTL_UPDATE_GOLDEN=1")


def test_every_golden_file_is_still_produced() -> None:
    expected = {f"{name}.{ext}" for name, _ in SOURCES for ext in ("txt", "json")}
    assert {p.name for p in GOLDEN.iterdir()} == expected
