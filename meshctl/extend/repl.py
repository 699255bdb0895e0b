"""Plugin commands inside the `test-route` REPL as `:NAME ARGS`, parsed exactly like `meshctl NAME ARGS`."""

from __future__ import annotations

import argparse
import io
import shlex
from typing import Any

from ..errors import UsageError
from .api import Output
from .registry import PluginCommand, PluginRegistry
from .runner import add_arg, run_plugin_command


class PluginArgumentError(Exception):
    """Bad arguments for a plugin command typed in the REPL or entered in the TUI form (the message says why;
    an empty message means help was asked for)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # keep the REPL / TUI alive: no sys.exit
        raise PluginArgumentError(f"{self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> None:
        raise PluginArgumentError(message or "")


def plugin_parser(cmd: PluginCommand) -> argparse.ArgumentParser:
    parser = _Parser(prog=f":{cmd.name}", description=cmd.help, add_help=True)
    for arg in cmd.args:
        add_arg(parser, arg)
    parser.add_argument("-o", "--output", choices=("text", "json", "yaml"), default="text")
    return parser


def parse_plugin_args(cmd: PluginCommand, argv: list[str]) -> argparse.Namespace:
    """Parse like `meshctl NAME ARGS` does; raises PluginArgumentError instead of exiting."""
    return plugin_parser(cmd).parse_args(argv)


def run_in_repl(cmd: PluginCommand, snapshot: Any, line: str, read_only: bool = False,
                context: dict[str, str] | None = None) -> str:
    """Run a plugin command on the REPL's current configuration; returns what it printed."""
    from ..repl.state import ReplError

    try:
        args = parse_plugin_args(cmd, shlex.split(line))
    except PluginArgumentError as exc:
        text = str(exc).strip()
        if text.startswith("usage") or not text:
            return plugin_parser(cmd).format_help()
        raise ReplError(text) from exc
    except ValueError as exc:  # unbalanced quotes
        raise ReplError(f":{cmd.name}: {exc}") from exc
    args.read_only = read_only
    buffer = io.StringIO()
    try:
        status = run_plugin_command(cmd, args, snapshot=snapshot, output=Output(args.output, buffer),
                                    context=context)
    except UsageError as exc:
        raise ReplError(str(exc)) from exc
    text = buffer.getvalue().rstrip()
    return text + (f"\n(exit status {status})" if status else "")


def install_plugin_commands(registry: PluginRegistry | None = None, read_only: bool = False) -> list[str]:
    """Register every discovered plugin command in the REPL; returns their names. Built-in names win."""
    from ..repl.commands import find_command, register_repl_command
    from .discovery import discover

    registry = registry or discover()
    installed = []
    for cmd in registry.commands.values():
        if find_command(cmd.name) is not None:
            continue

        def fn(state: Any, args: str, cmd: PluginCommand = cmd) -> str:
            gateway = getattr(state, "gateway", None) or ""
            return run_in_repl(cmd, state.sandbox.snapshot, args, read_only=read_only,
                               context={"gateway": gateway})

        register_repl_command(cmd.name, f"{cmd.help} [plugin {cmd.plugin}]", fn, plugin=cmd.plugin,
                              usage=f":{cmd.name} " + " ".join(a.name for a in cmd.args))
        installed.append(cmd.name)
    return installed
