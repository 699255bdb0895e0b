"""Generate docs/commands/*.md, one page per command, from the live `--help` text (so the docs cannot drift)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..cli.main import build_parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def pages() -> dict[str, str]:
    """File name -> Markdown for every built-in command and sub-command (plugins excluded)."""
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal width; keep the pages stable
    parser = build_parser(with_plugins=False)
    out: dict[str, str] = {}
    index = ["# Command reference", "", "Generated from `--help` by `python -m meshctl.devtools.command_docs`.", ""]
    for name, sub in sorted(_subparsers(parser).items()):
        nested = _subparsers(sub)
        body = [f"# meshctl {name}", "", "```text", sub.format_help().rstrip(), "```", ""]
        for child_name, child in sorted(nested.items()):
            body += [f"## meshctl {name} {child_name}", "", "```text", child.format_help().rstrip(), "```", ""]
        out[f"{name}.md"] = "\n".join(body)
        index.append(f"- [meshctl {name}]({name}.md) — {(sub.description or '').split('.')[0]}")
    out["README.md"] = "\n".join(index) + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    target = Path(argv[0] if argv else "docs/commands")
    target.mkdir(parents=True, exist_ok=True)
    for name, text in pages().items():
        (target / name).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
