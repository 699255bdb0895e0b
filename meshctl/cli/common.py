"""What every command shares: source options (PATH, --demo, kube contexts), output formats, clean errors."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

import yaml

from ..errors import UsageError
from ..model.snapshot import Snapshot, load_snapshot

__all__ = ["EXIT_FINDINGS", "EXIT_OK", "EXIT_USAGE", "UsageError", "add_output_arg", "add_source_args", "emit",
           "load_sources", "parse_namespaced"]


EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


def add_source_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="YAML files or directories to load")
    parser.add_argument("--demo", action="store_true", help="use the built-in demo mesh")
    parser.add_argument("--context", action="append", default=[], metavar="CTX",
                        help="Kubernetes context to read from (repeatable)")
    parser.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--cluster-name", action="append", default=[], metavar="CTX=NAME",
                        help="Gloo cluster name of a context (repeatable)")


def add_output_arg(parser: argparse.ArgumentParser, choices: tuple[str, ...], default: str) -> None:
    parser.add_argument("-o", "--output", choices=choices, default=default, help=f"output format (default {default})")


def load_sources(args: argparse.Namespace, require: bool = True) -> Snapshot:
    paths = list(getattr(args, "paths", []) or [])
    for p in paths:
        if not Path(p).exists():
            raise UsageError(f"no such file or directory: {p}")
    demo = bool(getattr(args, "demo", False))
    contexts = list(getattr(args, "context", []) or [])
    # --kubeconfig alone means its current context (the default), so the kube source is wanted too
    if contexts or getattr(args, "kubeconfig", None):
        from .kube_args import load_kube_snapshot  # imported here: the kubernetes client is slow to load

        return load_kube_snapshot(args)
    if require and not paths and not demo:
        raise UsageError("no configuration given: name files or directories (PATH...), or use --demo")
    return load_snapshot(paths, demo=demo)


def emit(data: Any, fmt: str, out: TextIO | None = None) -> None:
    out = out or sys.stdout
    if fmt == "json":
        out.write(json.dumps(data, indent=2, sort_keys=False) + "\n")
    elif fmt == "yaml":
        out.write(yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
    else:
        out.write(str(data) + ("\n" if not str(data).endswith("\n") else ""))


def emit_case_report(report: Any, fmt: str) -> int:
    """A router_check run's report as text, JSON or JUnit XML; the exit status says whether every case passed."""
    from ..sandbox.report import render_json, render_junit, render_text

    if fmt == "json":
        emit(render_json(report), "json")
    elif fmt == "junit":
        sys.stdout.write(render_junit(report))
    else:
        emit(render_text(report), "text")
    return EXIT_OK if report.ok else EXIT_FINDINGS


def parse_namespaced(value: str, what: str) -> tuple[str, str]:
    if "/" not in value:
        raise UsageError(f"{what} must be NAMESPACE/NAME, got {value!r}")
    ns, name = value.split("/", 1)
    if not ns or not name:
        raise UsageError(f"{what} must be NAMESPACE/NAME, got {value!r}")
    return ns, name
