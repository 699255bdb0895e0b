"""The `meshctl` command line: builds the parser from one module per command and turns errors into exit codes."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from .. import __version__
from .common import EXIT_USAGE, UsageError

# One module per command; each has register(subparsers). Heavy imports stay inside their run().
COMMAND_MODULES = (
    "validate",
    "routes",
    "lint",
    "workspaces",
    "test_route",
    "verify",
    "xds",
    "envoy",
    "demo",
    "failover",
    "tui",
    "sources",
    "apply",
    "export",
    "plugins",
    "config",
    "info",
    "completion",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's default exits 2 with usage; keep it to one clear line
        raise UsageError(f"{self.prog}: {message}")


def build_parser(with_plugins: bool = True) -> argparse.ArgumentParser:
    parser = _Parser(prog="meshctl", description="A terminal console for service-mesh operators.",
                     epilog="example:\n  meshctl tui --demo\n  meshctl routes --demo",
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"meshctl {__version__}")
    parser.add_argument("--read-only", action="store_true", help="forbid every change (edits, applies, failovers)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"meshctl.cli.cmd_{name}").register(sub)
    if with_plugins:
        from ..extend.discovery import discover
        from .plugin_commands import add_plugin_commands

        add_plugin_commands(sub, discover(), set(sub.choices))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        from ..config import load_settings

        settings = load_settings()
        args.read_only = bool(args.read_only or settings.read_only)
        args.settings = settings
        if getattr(args, "context", None) and hasattr(args, "cluster_name"):
            from ..config import cluster_name_flags

            args.cluster_name = cluster_name_flags(settings, args.context, args.cluster_name)
        if not getattr(args, "func", None):
            parser.print_help()
            return EXIT_USAGE
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"meshctl: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # never show a traceback to the operator unless asked
        if os.environ.get("MESHCTL_DEBUG"):
            raise
        print(f"meshctl: error: {type(exc).__name__}: {exc} (set MESHCTL_DEBUG=1 for a traceback)", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
