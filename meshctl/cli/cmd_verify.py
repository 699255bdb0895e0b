"""`meshctl verify`: prove what a running proxy does against what the configuration says, one request per route."""

from __future__ import annotations

import argparse
from typing import Any

from .common import EXIT_FINDINGS, EXIT_OK, UsageError, add_output_arg, add_source_args, emit, load_sources
from .envoy_source import add_envoy_args, check_envoy_args, load_envoy, wants_envoy

EXAMPLE = """examples:
  meshctl verify --demo --envoy-admin http://127.0.0.1:19000
  meshctl verify deploy/gloo/ --envoy-config config_dump.json --gateway gloo-mesh/north-south-gw
  meshctl verify --context prod --envoy-admin http://127.0.0.1:15000 --node gateway:gloo-mesh/gw -o json

For every route of the configuration meshctl builds a witness request, asks the route engine where it goes and
asks the proxy's own configuration (config dump) the same; proxy routes the configuration lacks get witnesses
too. Verdicts: same, different action, missing, extra, shadowed differently (and unverified when no witness
could be built). Exit status: 0 agree, 1 differ, 2 bad input.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="compare what the configuration says with what a proxy holds",
                       usage="meshctl verify [PATH...|--demo|--context CTX] --envoy-admin URL|--envoy-config FILE "
                             "[--gateway NS/NAME|--node ROLE] [--listener NAME|--port N|--route-config NAME] "
                             "[-o text|json]",
                       description="Semantic comparison of the route engine's answer and the proxy's answer for a "
                                   "witness request of every route, with the request that shows each difference.",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_args(p)
    add_envoy_args(p)
    p.add_argument("--gateway", metavar="NS/NAME", help="the configuration's gateway the proxy serves")
    p.add_argument("--node", metavar="ROLE", help="the proxy's xDS role instead: gateway, gateway:NS/NAME or "
                                                  "sidecar:NS/NAME[@CLUSTER] (a workload's sidecar, Gloo v2 east-west)")
    add_output_arg(p, ("text", "json"), "text")
    p.set_defaults(func=run)


def _gateways(args: argparse.Namespace, view: object) -> list:
    gateways = list(view.gateways)  # type: ignore[attr-defined]
    target = args.gateway
    if args.node:
        if args.gateway:
            raise UsageError("give --gateway or --node, not both")
        kind, _, rest = args.node.partition(":")
        if kind != "gateway":
            raise UsageError(f"--node {args.node!r}: a role is gateway, gateway:NS/NAME or sidecar:NS/NAME[@CLUSTER]")
        target = rest if rest not in ("", "*") else None
    if target:
        chosen = [g for g in gateways if g.name == target]
        if not chosen:
            known = ", ".join(g.name for g in gateways) or "none"
            raise UsageError(f"unknown gateway {target!r} (known: {known})")
        return chosen
    if not gateways:
        raise UsageError("the configuration has no VirtualGateway to compare with")
    return gateways


def _sidecar(args: argparse.Namespace, snapshot: Any) -> tuple[Any, set[str]]:
    """The sandbox over what the Gloo configuration gives this workload's sidecar, and the hosts it serves."""
    from ..routing.v2_eastwest import WorkloadError, find_workload, sidecar_view
    from ..sandbox.engine import Sandbox

    if args.gateway:
        raise UsageError("give --gateway or --node, not both")
    try:
        workload = find_workload(snapshot, args.node.partition(":")[2])
    except WorkloadError as exc:
        raise UsageError(f"--node {args.node!r}: {exc}") from None
    view = sidecar_view(snapshot, workload)
    hosts = {d for g in view.gateways for vh in g.virtual_hosts for d in vh.domains}
    if not hosts:
        raise UsageError(f"no Gloo route table applies to the sidecar of {workload.display}: plain Kubernetes "
                         "service routing, nothing of the configuration's to compare")
    return Sandbox(snapshot, view), hosts


def run(args: argparse.Namespace) -> int:
    from ..envoyconfig.matching import Matcher
    from ..envoyconfig.verify import verify
    from ..sandbox.engine import Sandbox

    if not wants_envoy(args):
        raise UsageError("name the proxy: --envoy-admin URL (a live Envoy) or --envoy-config FILE (a config dump)")
    check_envoy_args(args)
    selection = load_envoy(args)  # the proxy first: an unreachable admin fails before the configuration loads
    snapshot = load_sources(args)
    if args.node and args.node.startswith("sidecar:"):
        sandbox, hosts = _sidecar(args, snapshot)
        report = verify(sandbox, list(sandbox.view.gateways), Matcher(selection.route_config), selection.label,
                        only_hosts=hosts)
    else:
        sandbox = Sandbox(snapshot)
        report = verify(sandbox, _gateways(args, sandbox.view), Matcher(selection.route_config), selection.label)
    if args.output == "json":
        emit(report.to_dict(), "json")
    else:
        emit(report.render(), "text")
    return EXIT_OK if report.ok else EXIT_FINDINGS
