"""`meshctl workspaces`: the Gloo v2 workspaces of a configuration, what each owns, shares and sees."""

from __future__ import annotations

import argparse

from .common import EXIT_FINDINGS, EXIT_OK, add_output_arg, add_source_args, emit, load_sources

EXAMPLE = """example:
  meshctl workspaces tests/v2/data/reference-c.yaml
  meshctl workspaces --context mgmt -o json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("workspaces", help="show Gloo v2 workspaces: ownership, exports, imports, visibility",
                       description="Show each Gloo v2 Workspace with its clusters and namespaces, what it exports "
                                   "to and imports from, and the resources it owns and sees (owned plus imported). "
                                   "Exit 1 when a workspace error is found (e.g. an ExternalService address "
                                   "conflict).",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_args(p)
    add_output_arg(p, ("text", "json"), "text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..model.v2.workspace_report import render_workspaces, workspaces_report

    report = workspaces_report(load_sources(args))
    emit(report if args.output == "json" else render_workspaces(report), args.output)
    return EXIT_FINDINGS if any(f["severity"] == "error" for f in report["findings"]) else EXIT_OK
