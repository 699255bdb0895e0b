"""`meshctl validate`: load configuration and report every problem with file:line:column and field path."""

from __future__ import annotations

import argparse

from ..model.findings import Severity
from ..model.validate import validate
from .common import EXIT_FINDINGS, EXIT_OK, add_output_arg, add_source_args, emit, load_sources

EXAMPLE = """example:
  meshctl validate docs/examples/004-advanced-routing/07-route-specificity
  meshctl validate --demo -o json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check configuration files for errors",
                       description="Load YAML configuration and report every problem found, with file, line, "
                                   "column, resource and field path.",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_args(p)
    p.add_argument("--strict", action="store_true", help="treat warnings as errors (exit 1)")
    add_output_arg(p, ("text", "json"), "text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    snapshot = load_sources(args)
    findings = validate(snapshot)
    errors = sum(f.severity is Severity.ERROR for f in findings)
    warnings = sum(f.severity is Severity.WARNING for f in findings)
    if args.output == "json":
        emit([f.to_dict() for f in findings], "json")
    else:
        lines = [f.render() for f in findings]
        lines.append(f"{len(snapshot)} resources in {len(snapshot.files)} files: "
                     f"{errors} errors, {warnings} warnings")
        emit("\n".join(lines), "text")
    if errors or (args.strict and warnings):
        return EXIT_FINDINGS
    return EXIT_OK
