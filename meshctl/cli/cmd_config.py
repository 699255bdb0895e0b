"""`meshctl config init | show`: write the fully commented default config, or show the effective settings."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import Paths, load_settings, write_default_config
from .common import EXIT_OK, UsageError, add_output_arg, emit


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="write or show the configuration",
                       epilog="example:\n  meshctl config init\n  meshctl config show -o yaml",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    init = csub.add_parser("init", help="write a fully commented default config file",
                           epilog="example:\n  meshctl config init --force",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    init.add_argument("--path", help="where to write it (default: the XDG config file)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(func=run_init)
    show = csub.add_parser("show", help="the effective settings and where each came from",
                           epilog="example:\n  meshctl config show -o json",
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    add_output_arg(show, ("yaml", "json"), "yaml")
    show.set_defaults(func=run_show)


def run_init(args: argparse.Namespace) -> int:
    path = Path(args.path) if args.path else Paths.current().config_file
    try:
        write_default_config(path, force=args.force)
    except FileExistsError as exc:
        raise UsageError(str(exc)) from exc
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    emit(f"wrote {path}", "text")
    return EXIT_OK


def run_show(args: argparse.Namespace) -> int:
    settings = load_settings()
    data = {"settings": settings.to_dict(), "origins": settings.origins,
            "file": str(Paths.current().config_file), "problems": [f.render() for f in settings.problems]}
    emit(data, args.output)
    return EXIT_OK
