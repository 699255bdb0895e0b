"""Plugin commands as `meshctl NAME ARGS...`: one sub-command each, with the options every command has."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from ..cli.common import UsageError, add_output_arg, add_source_args, load_sources
from ..model.snapshot import Snapshot
from .api import MeshctlAPI, Output, ReadOnlyError
from .registry import Arg, PluginCommand, PluginLoadError, PluginRegistry


def add_arg(parser: argparse.ArgumentParser, arg: Arg) -> None:
    kwargs: dict[str, Any] = {"help": arg.help}
    if arg.type is bool:
        kwargs["action"] = "store_true"
    else:
        kwargs["type"] = arg.type
        if arg.choices:
            kwargs["choices"] = arg.choices
        if arg.multiple:
            kwargs.update({"action": "append"} if arg.is_option else {"nargs": "*"})
        if arg.default is not None:
            kwargs["default"] = arg.default
    if arg.is_option:
        kwargs["dest"] = arg.dest
        kwargs["required"] = arg.required
        parser.add_argument(arg.name, **kwargs)
    else:
        if not arg.required and not arg.multiple:
            kwargs["nargs"] = "?"
        parser.add_argument(arg.dest, **kwargs)


def add_plugin_commands(sub: argparse._SubParsersAction, registry: PluginRegistry, builtin: set[str]) -> None:
    for cmd in list(registry.commands.values()):
        if cmd.name in builtin:
            registry.errors.append(PluginLoadError(cmd.plugin, cmd.origin,
                                                   f"command {cmd.name!r} clashes with a built-in command"))
            continue
        epilog = f"example:\n  {cmd.example}" if cmd.example else f"example:\n  meshctl {cmd.name} --demo"
        p = sub.add_parser(cmd.name, help=f"{cmd.help} [plugin {cmd.plugin}]", description=cmd.help, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        for arg in cmd.args:
            add_arg(p, arg)
        add_source_args(p)
        add_output_arg(p, ("text", "json", "yaml"), "text")
        p.set_defaults(func=lambda args, c=cmd: run_plugin_command(c, args))


def run_plugin_command(cmd: PluginCommand, args: argparse.Namespace, snapshot: Snapshot | None = None,
                       output: Output | None = None, context: dict[str, str] | None = None,
                       xds: Any = None, failover: Any = None,
                       report_error: Callable[[str], None] | None = None) -> int:
    """Run one plugin command the same way from the CLI, the REPL and the TUI.

    A plugin's own failure is reported through `report_error` (default: one line on stderr), status 2."""
    read_only = bool(getattr(args, "read_only", False))
    if cmd.mutating and read_only:
        raise UsageError(f"{cmd.name} changes things and is refused under --read-only")
    if snapshot is None:
        snapshot = load_sources(args, require=False)
    api = MeshctlAPI(snapshot, output=output or Output(getattr(args, "output", "text")), read_only=read_only,
                     context=context or {}, xds=xds, failover=failover)
    try:
        result = cmd.run(api, args)
    except (UsageError, ReadOnlyError) as exc:
        raise UsageError(str(exc)) from exc
    except Exception as exc:  # a plugin's bug is reported with its name; meshctl goes on
        message = f"meshctl: plugin {cmd.plugin!r} command {cmd.name!r} failed: {type(exc).__name__}: {exc}"
        if report_error is not None:
            report_error(message)
        else:
            print(message, file=sys.stderr)
        return 2
    return int(result or 0)
