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


SCOPED_ROUTES_DEFAULT = 1000
SCOPED_HELP = ("serve a gateway's routes as one route configuration per first path segment (scoped RDS) once it has "
               f"N routes and every route's path pins its first segment: an edit then re-sends, and Envoy re-reads, "
               f"only its segment's routes (default {SCOPED_ROUTES_DEFAULT}; 0: never)")


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
    serve.add_argument("--scoped-routes", type=int, default=SCOPED_ROUTES_DEFAULT, metavar="N", help=SCOPED_HELP)
    serve.add_argument("--watch", action="store_true",
                       help="re-read the files as soon as they change (the OS notifies meshctl) and push")
    serve.add_argument("--poll-interval", type=float, default=0.2, metavar="SECONDS",
                       help="how often --watch also checks the files' times and sizes, for file systems without "
                            "change notifications (default 0.2)")
    serve.add_argument("--health-listen", metavar="HOST:PORT",
                       help="also serve the EDS health API here (for `meshctl failover trigger --mode eds-unhealthy "
                            "--health-url`); 127.0.0.1 only")
    serve.add_argument("--quiet-pushes", action="store_true", help="log connects, ACKs and NACKs but not pushes")
    replica = serve.add_argument_group("running as a replicated workload (see docs/control-plane.md)")
    replica.add_argument("--in-cluster", action="store_true",
                         help="read the cluster this pod runs in, with its service-account credentials")
    replica.add_argument("--leader-elect", action="store_true",
                         help="campaign for a coordination.k8s.io/v1 Lease; only the leader writes status to the "
                              "routing resources (needs --context or --in-cluster)")
    replica.add_argument("--lease-namespace", metavar="NS",
                         help="namespace of the Lease (default: the namespace it runs in, else gloo-mesh)")
    replica.add_argument("--replica-id", metavar="ID", help="this replica's identity in the Lease "
                                                          "(default: the pod name, else the hostname)")
    replica.add_argument("--lease-duration", type=float, default=15.0, metavar="SECONDS",
                         help="how long a Lease holds without renewal (default 15)")
    replica.add_argument("--renew-deadline", type=float, default=10.0, metavar="SECONDS",
                         help="a leader that cannot renew for this long stops leading (default 10)")
    replica.add_argument("--retry-period", type=float, default=2.0, metavar="SECONDS",
                         help="how often to renew or try to acquire (default 2)")
    replica.add_argument("--admin-listen", metavar="HOST:PORT",
                         help="serve /healthz, /readyz and /metrics (Prometheus) here")
    serve.set_defaults(func=run_serve)

    status = xsub.add_parser("status", epilog="example:\n  meshctl xds status --server 127.0.0.1:18000 -o json",
        formatter_class=argparse.RawDescriptionHelpFormatter, help="each client's per-type sync state (like istioctl proxy-status)",
                             description="Ask a running server (CSDS) for its clients: one row per client, each "
                                         "type SYNCED / NOT SENT / STALE / NACKED, then NACK reasons. Exit 1 when "
                                         "any type is NACKED.")
    status.add_argument("--server", default=None, metavar="ADDR[,ADDR...]",
                        help="the xDS server, or every replica of one (default: the running demo's, else xds.listen "
                             f"from the config file, else {DEFAULT_SERVER})")
    status.add_argument("--context", metavar="CTX",
                        help="find the replicas through the endpoints of the xDS Service in this context")
    status.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
    status.add_argument("--service", default="gloo-mesh/meshctl-xds", metavar="NS/NAME",
                        help="the xDS Service whose endpoints are the replicas (default gloo-mesh/meshctl-xds)")
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
    dump.add_argument("--scoped-routes", type=int, default=SCOPED_ROUTES_DEFAULT, metavar="N", help="as for serve")
    dump.add_argument("--type", action="append", default=[], choices=("cds", "eds", "lds", "srds", "rds"),
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
    scoped = getattr(args, "scoped_routes", None)
    if scoped is not None and scoped < 0:
        raise UsageError(f"--scoped-routes must be 0 (never) or a number of routes, got {scoped}")
    return TranslateOptions(listener_address=address, listener_port=args.listener_port or DEFAULT_LISTENER_PORT,
                            listener_ports=ports, sidecar_port=args.sidecar_port or DEFAULT_SIDECAR_PORT,
                            scoped_routes=scoped or None)


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
              "srds": codec.SCOPED_ROUTE_TYPE, "rds": codec.ROUTE_TYPE}
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
             "SRDS": codec.SCOPED_ROUTE_TYPE, "RDS": codec.ROUTE_TYPE}
    columns = STATUS_COLUMNS
    if any(codec.SCOPED_ROUTE_TYPE in c.per_type for c in clients):  # scoped routes (docs/xds.md): their scopes
        columns = ("CDS", "EDS", "LDS", "SRDS", "RDS")
    rows = [("NODE", "CLUSTER", "LOCALITY", *columns, "STREAM")]
    for c in sorted(clients, key=lambda c: c.node_id):
        # "-": the client has not subscribed to the type (e.g. EDS with no EDS cluster)
        states = [c.per_type[types[k]].state if types[k] in c.per_type else "-" for k in columns]
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

    if args.context or (args.server and "," in args.server):
        return _run_replicas_status(args)
    server = args.server or default_status_server()
    try:
        clients = fetch_status(server, timeout=args.timeout, node_id=args.node)
    except grpc.RpcError as exc:
        detail = exc.details() if hasattr(exc, "details") else str(exc)
        raise UsageError(f"cannot reach the xDS server at {server}: {detail}") from None
    if args.output == "json":
        emit({"server": server, "clients": [c.to_dict() for c in clients]}, "json")
    else:
        emit(status_table(clients), "text")
    nacked = any(s.state == "NACKED" for c in clients for s in c.per_type.values())
    return EXIT_FINDINGS if nacked else EXIT_OK


def _run_replicas_status(args: argparse.Namespace) -> int:
    """Every replica's clients, one row per Envoy with the replica it is connected to."""
    from ..controlplane.replicas import ReplicaEndpoint, collect_status, replicas_from_service

    if args.context and args.server:
        raise UsageError("give either --server ADDR[,ADDR...] or --context, not both")
    if args.context:
        namespace, sep, name = args.service.partition("/")
        if not sep or not namespace or not name:
            raise UsageError(f"--service must be NS/NAME, got {args.service!r}")
        try:
            replicas = replicas_from_service(args.context, args.kubeconfig, namespace, name)
        except (LookupError, OSError, ValueError) as exc:
            raise UsageError(str(exc)) from None
    else:
        addresses = [a.strip() for a in args.server.split(",") if a.strip()]
        replicas = [ReplicaEndpoint(address, address) for address in addresses]
    rows, errors = collect_status(replicas, timeout=args.timeout, node_id=args.node)
    if len(errors) == len(replicas):
        raise UsageError("cannot reach any replica: " + "; ".join(f"{r}: {e}" for r, e in errors.items()))
    for replica, error in errors.items():
        sys.stderr.write(f"warning: replica {replica} not reachable: {error}\n")
    clients = [client for _, client in rows]
    if args.output == "json":
        emit({"servers": [{"replica": r.name, "address": r.address, "error": errors.get(r.name)} for r in replicas],
              "clients": [{"replica": name, **client.to_dict()} for name, client in rows]}, "json")
    else:
        emit(replicas_status_table(rows), "text")
    nacked = any(s.state == "NACKED" for c in clients for s in c.per_type.values())
    return EXIT_FINDINGS if nacked else EXIT_OK


def replicas_status_table(rows: list[tuple[str, Any]]) -> str:
    """status_table with the replica each Envoy is connected to as the first column."""
    table = status_table([client for _, client in rows]).split("\n")
    replica_of = {client.node_id: name for name, client in rows}
    width = max([len("REPLICA"), *(len(name) for name, _ in rows)])
    out = ["REPLICA".ljust(width) + "  " + table[0]]
    for line in table[1:len(rows) + 1]:
        node = line.split(" ", 1)[0]
        out.append(replica_of.get(node, "?").ljust(width) + "  " + line)
    out.extend(table[len(rows) + 1:])
    return "\n".join(out)


# --- serve --------------------------------------------------------------------------------------------

def _sources(args: argparse.Namespace) -> list[Any]:
    from pathlib import Path

    from ..sources.files import DemoSource, FileSource

    if getattr(args, "in_cluster", False):
        return _in_cluster_sources(args)
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


def _in_cluster_sources(args: argparse.Namespace) -> list[Any]:
    """The pod's own cluster (service-account credentials), plus any --context and PATH."""
    from ..sources.kube import KubeSource
    from ..sources.kube_client import KubeClient, KubeConfigError
    from .kube_args import parse_cluster_names, sources_from_args

    try:
        client = KubeClient.in_cluster()
    except KubeConfigError as exc:
        raise UsageError(f"--in-cluster: {exc}") from None
    name = parse_cluster_names(getattr(args, "cluster_name", None)).get("in-cluster", "in-cluster")
    own = KubeSource("in-cluster", client=client, cluster_name=name)
    others_names = [v for v in (getattr(args, "cluster_name", None) or []) if not v.startswith("in-cluster=")]
    named = argparse.Namespace(**{**vars(args), "demo": False, "cluster_name": others_names})
    others = sources_from_args(named) if (args.context or args.paths) else []
    return [own, *others]


def _replica_options(args: argparse.Namespace) -> Any:
    from ..controlplane.leader import LeaseTiming
    from ..controlplane.replica import ReplicaOptions, default_namespace, default_replica_id

    try:
        timing = LeaseTiming(args.lease_duration, args.renew_deadline, args.retry_period)
    except ValueError as exc:
        raise UsageError(f"--lease-duration/--renew-deadline/--retry-period: {exc}") from None
    if args.leader_elect and not (args.context or args.in_cluster):
        raise UsageError("--leader-elect needs a cluster to hold the Lease in: use --context CTX or --in-cluster")
    if args.admin_listen:
        host, sep, port = args.admin_listen.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
            raise UsageError(f"--admin-listen must be HOST:PORT, got {args.admin_listen!r}")
    return ReplicaOptions(replica_id=args.replica_id or default_replica_id(), leader_elect=args.leader_elect,
                          lease_namespace=args.lease_namespace or default_namespace(), timing=timing,
                          admin_listen=args.admin_listen, listen=args.listen)


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


# Short: a file source already reads a save whole (after its writer closed it) and the xDS refresh loop merges
# builds requested while one runs; this only gathers what several sources report at once. Every ms here is a ms of
# every edit's way to Envoy (10k routes: ~45 ms in all).
SERVE_COALESCE_SECONDS = 0.0005


def run_serve(args: argparse.Namespace) -> int:
    from ..controlplane.replica import Replica
    from ..sources.workspace import Workspace
    from ..xds.service import describe_role, format_event

    options = translate_options(args)
    if args.poll_interval <= 0:
        raise UsageError("--poll-interval must be above 0")
    replica_options = _replica_options(args)
    # a save reaches the workspace once (file sources wait out a save's own events); bursts of watch events from a
    # cluster arrive within a millisecond or two of each other
    workspace = Workspace(_sources(args), coalesce_seconds=SERVE_COALESCE_SECONDS).load()
    try:
        replica = Replica(workspace, replica_options, options)
        service = replica.service
        if replica.elector is not None:
            replica.elector.on_new_leader = lambda holder: _say(f"leader is now {holder}")
        try:
            replica.start()
        except OSError as exc:
            replica.stop()
            raise UsageError(f"cannot listen on {args.listen} / {args.admin_listen}: {exc}") from None
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
        if replica.admin is not None:
            _say(f"admin endpoint on {replica.admin.url} (/healthz, /readyz, /metrics)")
        if replica.elector is not None:
            elector = replica.elector
            _say(f"replica {elector.identity} campaigning for Lease {elector.namespace}/{elector.name}")
        _say(f"gateways: {listing or 'none'}; sidecars on {options.listener_address}:{options.sidecar_port}")
        for finding in workspace.snapshot.findings[:20]:
            _say(f"config: {finding.render()}")
        if args.watch:
            workspace.start()
        else:  # a server reading clusters follows them; files are followed with --watch
            for source in replica.kube_sources:
                source.start()
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
        replica.stop()
        workspace.stop()
    return EXIT_OK
