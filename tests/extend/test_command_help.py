"""Every command's --help has an example, and docs/commands/ is what the live --help says."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from meshctl.cli.main import build_parser
from meshctl.devtools.command_docs import pages

REPO = Path(__file__).resolve().parents[2]


def all_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    out = []
    stack = [("meshctl", build_parser())]
    while stack:
        name, parser = stack.pop()
        out.append((name, parser))
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                stack.extend((f"{name} {sub}", p) for sub, p in action.choices.items())
    return out


@pytest.mark.parametrize("name,parser", all_parsers(), ids=lambda v: v if isinstance(v, str) else "")
def test_help_has_an_example(name, parser):
    text = parser.format_help()
    assert "example" in text.lower(), f"`{name} --help` has no example"


def test_command_pages_are_current(monkeypatch):
    generated = pages()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in (REPO / "docs/commands").glob("*.md")}
    assert set(generated) == set(on_disk), "run: python -m meshctl.devtools.command_docs"
    stale = [n for n in generated if generated[n] != on_disk[n]]
    assert not stale, f"stale pages {stale}; run: python -m meshctl.devtools.command_docs"
