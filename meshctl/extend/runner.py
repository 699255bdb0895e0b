"""Running a plugin command the same way from the CLI, the REPL and the TUI, and its arguments as argparse ones."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from ..errors import UsageError
from ..model.snapshot import Snapshot
from .api import MeshctlAPI, Output, ReadOnlyError
from .registry import Arg, PluginCommand


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


def run_plugin_command(cmd: PluginCommand, args: argparse.Namespace, snapshot: Snapshot | None = None,
                       output: Output | None = None, context: dict[str, str] | None = None,
                       xds: Any = None, failover: Any = None,
                       report_error: Callable[[str], None] | None = None,
                       load: Callable[[argparse.Namespace], Snapshot] | None = None) -> int:
    """Run one plugin command the same way from the CLI, the REPL and the TUI.

    Without a snapshot, `load(args)` reads the configuration the arguments name (the CLI passes its source loader).
    A plugin's own failure is reported through `report_error` (default: one line on stderr), status 2."""
    read_only = bool(getattr(args, "read_only", False))
    if cmd.mutating and read_only:
        raise UsageError(f"{cmd.name} changes things and is refused under --read-only")
    if snapshot is None:
        if load is None:
            raise ValueError("run_plugin_command needs a snapshot or a loader")
        snapshot = load(args)
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
