"""`meshctl routes`: the merged route tree of every gateway, with provenance and diagnostics inline."""

from __future__ import annotations

import argparse
from typing import Any

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
    p.add_argument("--workload", metavar="NS/NAME[@CLUSTER]",
                   help="the routes of this workload's sidecar (Gloo v2 east-west; NAME: the workload behind that "
                        "Service)")
    add_output_arg(p, ("tree", "table", "json", "yaml"), "tree")
    add_envoy_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if wants_envoy(args) or args.listener or args.port is not None or args.route_config:
        return run_routes(args)
    snapshot = load_sources(args)
    if getattr(args, "workload", None):
        return _run_workload(args, snapshot)
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


def _run_workload(args: argparse.Namespace, snapshot: Any) -> int:
    """`routes --workload`: the sidecar's routes, or the note that plain Kubernetes routing applies."""
    from ..routing.v2_eastwest import WorkloadError, find_workload, kubernetes_routing_note, sidecar_view

    try:
        workload = find_workload(snapshot, args.workload)
    except WorkloadError as exc:
        raise UsageError(f"--workload: {exc}") from None
    view = sidecar_view(snapshot, workload)
    gateways = view.gateways
    note = None if any(g.virtual_hosts for g in gateways) else kubernetes_routing_note(workload)
    if args.output in ("json", "yaml"):
        data = view_dict(view, gateways)
        data["workload"] = {"namespace": workload.namespace, "name": workload.name, "cluster": workload.cluster,
                            "labels": dict(workload.labels)}
        data["note"] = note
        emit(data, args.output)
    elif args.output == "table":
        emit(note or render_table(view, gateways), "text")
    else:
        text = note or render_tree(view, gateways)
        diags = [d for d in view.diagnostics if d.severity.value != "info" or d.code == "partially-shadowed"]
        if diags:
            text += "\n\ndiagnostics:\n" + "\n".join("  " + d.render() for d in diags)
        emit(f"sidecar of {workload.display}\n{text}", "text")
    return EXIT_OK
