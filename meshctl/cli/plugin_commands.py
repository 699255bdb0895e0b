"""Plugin commands as `meshctl NAME ARGS...`: one sub-command each, with the options every command has."""

from __future__ import annotations

import argparse
from functools import partial

from ..extend.registry import PluginLoadError, PluginRegistry
from ..extend.runner import add_arg, run_plugin_command
from .common import add_output_arg, add_source_args, load_sources


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
        p.set_defaults(func=lambda args, c=cmd: run_plugin_command(c, args, load=partial(load_sources, require=False)))
