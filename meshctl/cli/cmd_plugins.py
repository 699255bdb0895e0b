"""`meshctl plugins list`: every plugin found, where from, its commands, and load errors."""

from __future__ import annotations

import argparse

from ..extend.discovery import discover
from .common import EXIT_OK, add_output_arg, emit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plugins", help="list plugins and their commands",
                       epilog="example:\n  meshctl plugins list -o json",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    psub = p.add_subparsers(dest="plugins_command", metavar="ACTION", required=True)
    lp = psub.add_parser("list", help="every plugin found, where from, its commands and load errors",
                         epilog="example:\n  meshctl plugins list", formatter_class=argparse.RawDescriptionHelpFormatter)
    add_output_arg(lp, ("text", "json"), "text")
    lp.set_defaults(func=run_list)


def run_list(args: argparse.Namespace) -> int:
    registry = discover(getattr(args, "settings", None))
    plugins = []
    for name, origin in sorted(registry.plugins.items()):
        commands = [c for c in registry.commands.values() if c.plugin == name]
        plugins.append({"name": name, "origin": origin, "commands": [
            {"name": c.name, "help": c.help, "mutating": c.mutating, "shortcut": c.shortcut or None,
             "args": [a.name for a in c.args]} for c in commands]})
    data = {"plugins": plugins, "errors": [e.to_dict() for e in registry.errors]}
    if args.output == "json":
        emit(data, "json")
        return EXIT_OK
    lines = []
    for p in plugins:
        lines.append(f"{p['name']}  ({p['origin']})")
        for c in p["commands"]:
            flag = "  [mutating]" if c["mutating"] else ""
            lines.append(f"  {c['name']:<16} {c['help']}{flag}")
    for e in data["errors"]:
        lines.append(f"error: plugin {e['plugin']} ({e['origin']}): {e['message']}")
    emit("\n".join(lines) or "no plugins found", "text")
    return EXIT_OK
