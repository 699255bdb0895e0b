"""`meshctl xds serve | status | dump`: run the ADS server for Envoy, show its clients' sync state, print the
resources a node would get."""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
import threading
from typing import Any

from .common import EXIT_FINDINGS, EXIT_OK, UsageError, add_output_arg, add_source_args, emit, load_sources

DEFAULT_SERVER = "127.0.0.1:18000"

EXAMPLE = """examples:
  meshctl xds serve --demo --watch                 # ADS on 127.0.0.1:18000, re-push on every file change
  meshctl envoy run --xds 127.0.0.1:18000          # in another terminal: a gateway Envoy
  meshctl xds status                               # SYNCED / NOT SENT / STALE / NACKED per client and type
  meshctl xds dump --demo --node sidecar:bookinfo/productpage@cluster-1 -o yaml
"""

NODE_HELP = ("node role: gateway (every gateway), gateway:NS/NAME, or sidecar:NS/NAME@CLUSTER "
             "(the node.cluster an Envoy would send; default gateway)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("xds", help="serve Envoy over xDS; show sync status; dump translated resources",
                       description="The embedded xDS (ADS) control plane: translate the merged routes into Envoy "
                                   "v3 resources and keep connected Envoys in step.",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    xsub = p.add_subparsers(dest="xds_command", metavar="SUBCOMMAND")

    serve = xsub.add_parser("serve", epilog="example:\n  meshctl xds serve --demo --watch\n  meshctl xds serve docs/examples/004-advanced-routing/07-route-specificity --listen 127.0.0.1:18000 --listener-port 8080",
        formatter_class=argparse.RawDescriptionHelpFormatter, help="run the ADS server until interrupted",
                            description="Serve LDS/RDS/CDS/EDS to Envoy over ADS (state of the world and delta) and "
                                        "CSDS; log connects, pushes, ACKs and NACKs, one line each.")
    add_source_args(serve)
    serve.add_argument("--listen", default=DEFAULT_SERVER, metavar="ADDR",
                       help=f"gRPC address to listen on (default {DEFAULT_SERVER}; port 0 picks a free one)")
    serve.add_argument("--listener-port", type=int, metavar="PORT",
                       help="gateway listener port when discovery names none (default 8080; +1 per further gateway)")
    serve.add_argument("--gateway-port", action="append", default=[], metavar="NS/NAME=PORT",
                       help="listener port of one gateway, overriding discovery (repeatable)")
    serve.add_argument("--sidecar-port", type=int, metavar="PORT", help="sidecar listener port (default 15001)")
    serve.add_argument("--listener-address", default="127.0.0.1", metavar="IP",
                       help="address Envoy's listeners bind (default 127.0.0.1)")
    serve.add_argument("--watch", action="store_true", help="re-read the files when they change and push")
    serve.add_argument("--poll-interval", type=float, default=0.2, metavar="SECONDS",
                       help="how often --watch checks the files (default 0.2)")
    serve.add_argument("--health-listen", metavar="HOST:PORT",
                       help="also serve the EDS health API here (for `meshctl failover trigger --mode eds-unhealthy "
                            "--health-url`); 127.0.0.1 only")
    serve.add_argument("--quiet-pushes", action="store_true", help="log connects, ACKs and NACKs but not pushes")
    serve.set_defaults(func=run_serve)

    status = xsub.add_parser("status", epilog="example:\n  meshctl xds status --server 127.0.0.1:18000 -o json",
        formatter_class=argparse.RawDescriptionHelpFormatter, help="each client's per-type sync state (like istioctl proxy-status)",
                             description="Ask a running server (CSDS) for its clients: one row per client, each "
                                         "type SYNCED / NOT SENT / STALE / NACKED, then NACK reasons. Exit 1 when "
                                         "any type is NACKED.")
    status.add_argument("--server", metavar="ADDR",
                        help="the xDS server (default: the running demo's, else xds.listen from the config file, "
                             f"else {DEFAULT_SERVER})")
    status.add_argument("--node", metavar="ID", help="only this node id")
    status.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS")
    add_output_arg(status, ("text", "json"), "text")
    status.set_defaults(func=run_status)

    dump = xsub.add_parser("dump", epilog="example:\n  meshctl xds dump --demo --node sidecar:bookinfo/productpage@cluster-1 --node-locality us-east-1/us-east-1a -o yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter, help="print the Envoy resources a node would get",
                           description="Translate the configuration for one node and print its clusters, "
                                       "endpoints, listeners and routes (protobuf JSON field names).")
    add_source_args(dump)
    dump.add_argument("--node", default="gateway", metavar="ROLE", help=NODE_HELP)
    dump.add_argument("--node-locality", metavar="REGION/ZONE", help="the node's locality (decides EDS priorities)")
    dump.add_argument("--listener-port", type=int, metavar="PORT", help="as for serve")
    dump.add_argument("--gateway-port", action="append", default=[], metavar="NS/NAME=PORT", help="as for serve")
    dump.add_argument("--sidecar-port", type=int, metavar="PORT", help="as for serve")
    dump.add_argument("--listener-address", default="127.0.0.1", metavar="IP", help="as for serve")
    dump.add_argument("--type", action="append", default=[], choices=("cds", "eds", "lds", "rds"),
                      help="only these resource types (repeatable)")
    add_output_arg(dump, ("json", "yaml"), "json")
    dump.set_defaults(func=run_dump)

    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


# --- shared -------------------------------------------------------------------------------------------

def translate_options(args: argparse.Namespace) -> Any:
    from ..xds.translate import DEFAULT_LISTENER_PORT, DEFAULT_SIDECAR_PORT, TranslateOptions

    ports: dict[str, int] = {}
    for value in getattr(args, "gateway_port", []) or []:
        name, sep, port = value.rpartition("=")
        if not sep or "/" not in name or not port.isdigit():
            raise UsageError(f"--gateway-port must be NS/NAME=PORT, got {value!r}")
        ports[name] = int(port)
    for what in ("listener_port", "sidecar_port"):
        port = getattr(args, what, None)
        if port is not None and not 0 < port < 65536:
            raise UsageError(f"--{what.replace('_', '-')} must be a port number (1-65535), got {port}")
    address = getattr(args, "listener_address", "127.0.0.1")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise UsageError(f"--listener-address must be an IP address, got {address!r}") from None
    return TranslateOptions(listener_address=address, listener_port=args.listener_port or DEFAULT_LISTENER_PORT,
                            listener_ports=ports, sidecar_port=args.sidecar_port or DEFAULT_SIDECAR_PORT)


def parse_locality(text: str | None) -> tuple[str, str, str]:
    from ..mesh.index import Locality

    try:
        loc = Locality.parse(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return (loc.region, loc.zone, loc.sub_zone) if loc is not None else ("", "", "")


def check_role(text: str) -> str:
    kind = text.partition(":")[0]
    if kind not in ("gateway", "sidecar") or (kind == "sidecar" and "/" not in text):
        raise UsageError(f"node role must be gateway, gateway:NS/NAME or sidecar:NS/NAME@CLUSTER, got {text!r}")
    return text


# --- dump ---------------------------------------------------------------------------------------------

def run_dump(args: argparse.Namespace) -> int:
    from ..xds import codec
    from ..xds.cache import NodeInfo
    from ..xds.translate import Translator
    from ..xds.translate_json import resources_json

    snapshot = load_sources(args)
    node = NodeInfo("meshctl-dump", check_role(args.node), parse_locality(args.node_locality))
    translator = Translator(snapshot, translate_options(args))
    resources = translator.node_resources(node)
    wanted = {"cds": codec.CLUSTER_TYPE, "eds": codec.ENDPOINT_TYPE, "lds": codec.LISTENER_TYPE,
              "rds": codec.ROUTE_TYPE}
    by_type = resources.by_type()
    if args.type:
        by_type = {t: v for t, v in by_type.items() if t in {wanted[x] for x in args.type}}
    body = resources_json(by_type)
    out: dict[str, Any] = {
        "node": {"id": node.id, "cluster": node.cluster, "role": str(resources.role),
                 "locality": "/".join(p for p in node.locality if p) or None,
                 "effectiveLocality": str(resources.locality) if resources.locality else None},
        **{k: v for k, v in body.items() if v or not args.type},
    }
    if resources.notes:
        out["notes"] = list(resources.notes)
    emit(out, args.output)
    return EXIT_OK


# --- status -------------------------------------------------------------------------------------------

STATUS_COLUMNS = ("CDS", "EDS", "LDS", "RDS")


def status_table(clients: list[Any]) -> str:
    from ..xds import codec

    types = {"CDS": codec.CLUSTER_TYPE, "EDS": codec.ENDPOINT_TYPE, "LDS": codec.LISTENER_TYPE,
             "RDS": codec.ROUTE_TYPE}
    rows = [("NODE", "CLUSTER", "LOCALITY", *STATUS_COLUMNS, "STREAM")]
    for c in sorted(clients, key=lambda c: c.node_id):
        # "-": the client has not subscribed to the type (e.g. EDS with no EDS cluster)
        states = [c.per_type[types[k]].state if types[k] in c.per_type else "-" for k in STATUS_COLUMNS]
        locality = "/".join(p for p in c.locality if p) or "-"
        rows.append((c.node_id, c.cluster or "-", locality, *states, c.stream_kind))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    nacks = [(c.node_id, codec.short_name(t), s) for c in clients for t, s in c.per_type.items() if s.state == "NACKED"]
    if nacks:
        lines.append("")
        lines.append("NACKs:")
        for node_id, kind, s in nacks:
            reason = " ".join((s.nack_reason or "rejected").split())
            lines.append(f"  {node_id} {kind} version {s.nacked_version}: {reason}")
    if not clients:
        lines.append("(no client connected)")
    return "\n".join(lines)


def default_status_server() -> str:
    """Where `xds status` looks without --server: the demo's own server runs on a free port, so ask it first."""
    from ..config import load_settings
    from ..demo.environment import DemoNotRunning, load_demo

    try:
        return load_demo().xds_address
    except DemoNotRunning:
        return load_settings().xds.listen or DEFAULT_SERVER


def run_status(args: argparse.Namespace) -> int:
    import grpc

    from ..xds.status import fetch_status

    args.server = args.server or default_status_server()
    try:
        clients = fetch_status(args.server, timeout=args.timeout, node_id=args.node)
    except grpc.RpcError as exc:
        detail = exc.details() if hasattr(exc, "details") else str(exc)
        raise UsageError(f"cannot reach the xDS server at {args.server}: {detail}") from None
    if args.output == "json":
        emit({"server": args.server, "clients": [c.to_dict() for c in clients]}, "json")
    else:
        emit(status_table(clients), "text")
    nacked = any(s.state == "NACKED" for c in clients for s in c.per_type.values())
    return EXIT_FINDINGS if nacked else EXIT_OK


# --- serve --------------------------------------------------------------------------------------------

def _sources(args: argparse.Namespace) -> list[Any]:
    from pathlib import Path

    from ..sources.files import DemoSource, FileSource

    if getattr(args, "context", None):
        from .kube_args import sources_from_args

        return sources_from_args(args)
    paths = list(args.paths or [])
    for p in paths:
        if not Path(p).exists():
            raise UsageError(f"no such file or directory: {p}")
    if not paths and not args.demo:
        raise UsageError("no configuration given: name files or directories (PATH...), or use --demo")
    sources: list[Any] = []
    if args.demo:
        demo = DemoSource()
        demo.interval = args.poll_interval
        sources.append(demo)
    if paths:
        sources.append(FileSource(paths, interval=args.poll_interval))
    return sources


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _start_health_api(args: argparse.Namespace, service: Any, workspace: Any) -> Any:
    """The EDS health API beside the server, so eds-unhealthy failovers work against any meshctl xDS server."""
    if not args.health_listen:
        return None
    from ..failover.eds_health import HealthApi

    host, _, port = args.health_listen.rpartition(":")
    if host not in ("127.0.0.1", "localhost") or not port.isdigit():
        raise UsageError(f"--health-listen must be 127.0.0.1:PORT, got {args.health_listen!r}")
    try:
        health = HealthApi(service, int(port), reload=workspace.rebuild).start()
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.health_listen}: {exc}") from None
    _say(f"EDS health API on {health.url}")
    return health


def run_serve(args: argparse.Namespace) -> int:
    from ..sources.workspace import Workspace
    from ..xds.service import XdsService, describe_role, format_event

    options = translate_options(args)
    if args.poll_interval <= 0:
        raise UsageError("--poll-interval must be above 0")
    workspace = Workspace(_sources(args), coalesce_seconds=0.01).load()
    try:
        service = XdsService(workspace, options, listen=args.listen)
        try:
            service.start()
        except OSError as exc:
            raise UsageError(f"cannot listen on {args.listen}: {exc}") from None
    except BaseException:
        workspace.stop()
        raise
    health = _start_health_api(args, service, workspace)
    roles: dict[str, str] = {}

    def on_event(event: Any) -> None:  # runs on the server's event loop, so server.status() is safe here
        if event.kind == "connect":
            for client in service.server.status():
                if client.node_id == event.node_id:
                    locality = "/".join(p for p in client.locality if p) or "no locality"
                    roles[event.node_id] = f"{describe_role(client)} {locality}"
        if event.kind == "push" and args.quiet_pushes:
            return
        _say(format_event(event, roles))

    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        service.add_listener(on_event)
        translator = service.translator()
        gateways = translator.gateway_ports()
        listing = ", ".join(f"{name} on {options.listener_address}:{port}" for name, port in gateways.items())
        _say(f"xDS server listening on {service.address}")
        _say(f"gateways: {listing or 'none'}; sidecars on {options.listener_address}:{options.sidecar_port}")
        for finding in workspace.snapshot.findings[:20]:
            _say(f"config: {finding.render()}")
        if args.watch:
            workspace.start()
            _say("watching the configuration for changes")
        workspace.subscribe(lambda ws: _say(f"configuration changed (snapshot {ws.version}); rebuilding"))
        while not stop.wait(0.5):
            pass
        _say("stopping")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if health is not None:
            health.stop()
        service.stop()
        workspace.stop()
    return EXIT_OK
