"""`meshctl lint`: every diagnostic of the configuration (shadowed routes, dangling refs, cycles, ...)."""

from __future__ import annotations

import argparse

from ..model.findings import Severity
from ..routing.lint import lint
from ..routing.view import build_routing_view
from .common import EXIT_FINDINGS, EXIT_OK, add_output_arg, add_source_args, emit, load_sources

EXAMPLE = """example:
  meshctl lint docs/examples/004-advanced-routing/06-table-weight
  meshctl lint --demo -o json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lint", help="report shadowed routes and other routing problems",
                       description="Report every diagnostic with code, severity, resource, field path, the routes "
                                   "involved and a witness request. Exit 1 when any error is found.",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_args(p)
    add_output_arg(p, ("text", "json"), "text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    snapshot = load_sources(args)
    findings = lint(snapshot, build_routing_view(snapshot))
    if args.output == "json":
        emit([f.to_dict() for f in findings], "json")
    else:
        counts = {s: sum(f.severity is s for f in findings) for s in Severity}
        lines = [f.render() + (f"\n    witness: {f.witness}" if f.witness else "") for f in findings]
        lines.append(f"{counts[Severity.ERROR]} errors, {counts[Severity.WARNING]} warnings, "
                     f"{counts[Severity.INFO]} notes")
        emit("\n".join(lines), "text")
    return EXIT_FINDINGS if any(f.severity is Severity.ERROR for f in findings) else EXIT_OK
