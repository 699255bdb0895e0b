"""`meshctl routes`: the merged route tree of every gateway, with provenance and diagnostics inline."""

from __future__ import annotations

import argparse

from ..routing.render import render_table, render_tree, view_dict
from ..routing.view import build_routing_view
from .common import EXIT_OK, UsageError, add_output_arg, add_source_args, emit, load_sources
from .envoy_source import add_envoy_args, run_routes, wants_envoy

EXAMPLE = """example:
  meshctl routes --demo
  meshctl routes docs/examples/004-advanced-routing/06-table-weight -o table
  meshctl routes --demo --gateway gloo-mesh/demo-gateway -o json
  meshctl routes --envoy-config config_dump.json --port 8080
  meshctl routes --envoy-admin http://127.0.0.1:19000 -o json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("routes", help="show the merged route tree of each gateway",
                       description="Compute, for each VirtualGateway, the routes Envoy sees per virtual host in "
                                   "order, with where each came from and why it sits where it sits.",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_args(p)
    p.add_argument("--gateway", metavar="NS/NAME", help="only this gateway")
    add_output_arg(p, ("tree", "table", "json", "yaml"), "tree")
    add_envoy_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if wants_envoy(args) or args.listener or args.port is not None or args.route_config:
        return run_routes(args)
    snapshot = load_sources(args)
    view = build_routing_view(snapshot)
    gateways = view.gateways
    if args.gateway:
        g = view.gateway(args.gateway)
        if g is None:
            known = ", ".join(x.name for x in view.gateways) or "none"
            raise UsageError(f"unknown gateway {args.gateway!r} (known: {known})")
        gateways = [g]
    if args.output in ("json", "yaml"):
        emit(view_dict(view, gateways), args.output)
    elif args.output == "table":
        emit(render_table(view, gateways), "text")
    else:
        text = render_tree(view, gateways) or "no VirtualGateway found"
        diags = [d for d in view.diagnostics if d.severity.value != "info" or d.code == "partially-shadowed"]
        if diags:
            text += "\n\ndiagnostics:\n" + "\n".join("  " + d.render() for d in diags)
        emit(text, "text")
    return EXIT_OK
