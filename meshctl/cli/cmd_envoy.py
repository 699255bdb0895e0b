"""`meshctl envoy run`: one real Envoy connected to a running xDS server, in the foreground (Ctrl-C stops it)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from typing import Any

from .common import EXIT_OK, UsageError

EXAMPLE = """examples:
  meshctl envoy run                                           # a gateway Envoy for every gateway
  meshctl envoy run --node-locality us-east-2/us-east-2b --listener-port 8081
  meshctl envoy run --node-cluster sidecar:bookinfo/productpage@cluster-1 --node-id productpage-1
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("envoy", help="run a real Envoy against the xDS server",
                       description="Real Envoy processes driven by meshctl's xDS server.",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    esub = p.add_subparsers(dest="envoy_command", metavar="SUBCOMMAND")
    run = esub.add_parser("run", epilog="example:\n  meshctl envoy run --xds 127.0.0.1:18000 --node-locality us-east-1/us-east-1a",
        formatter_class=argparse.RawDescriptionHelpFormatter, help="start one Envoy in the foreground (Ctrl-C stops it)",
                          description="Start Envoy with a bootstrap pointing at the xDS server; it gets its "
                                      "listeners, routes and clusters from there.")
    run.add_argument("--xds", default="127.0.0.1:18000", metavar="ADDR[,ADDR...]",
                     help="xDS server (default 127.0.0.1:18000); several replicas comma-separated, Envoy fails over "
                          "between them")
    run.add_argument("--node-id", metavar="ID", help="node id (default meshctl-envoy-<pid>)")
    run.add_argument("--node-cluster", default="gateway", metavar="ROLE",
                     help="node.cluster, which decides what the node gets: gateway (default, every gateway), "
                          "gateway:NS/NAME, or sidecar:NS/NAME@CLUSTER")
    run.add_argument("--node-locality", metavar="REGION/ZONE[/SUBZONE]", help="the node's locality (EDS priorities)")
    run.add_argument("--listener-port", type=int, metavar="PORT",
                     help="ask the server to put this node's (first) listener on PORT (node metadata)")
    run.add_argument("--admin-port", type=int, metavar="PORT", help="admin API port (default: a free one)")
    run.add_argument("--delta", action="store_true", help="use delta xDS instead of state of the world")
    run.add_argument("--log-level", default="warn", choices=("trace", "debug", "info", "warn", "error", "critical"))
    run.add_argument("--check-unknown-fields", action="store_true",
                     help="let Envoy look through every update for fields it does not know and warn about them "
                          "(off by default: it is a third of Envoy's time to take a large route configuration)")
    run.add_argument("--ready-timeout", type=float, default=15.0, metavar="SECONDS",
                     help="how long to wait for the first configuration (default 15)")
    run.set_defaults(func=run_envoy)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--xds must be HOST:PORT, got {address!r}")
    return host.strip("[]"), int(port)


def split_addresses(text: str) -> list[tuple[str, int]]:
    """HOST:PORT[,HOST:PORT...] (control-plane replicas) into (host, port) pairs, in order."""
    parts = [part.strip() for part in text.split(",")]
    if not all(parts):
        raise UsageError(f"--xds must be HOST:PORT[,HOST:PORT...], got {text!r}")
    return [split_address(part) for part in parts]


def listeners_of(admin: Any) -> list[str]:
    """"name address:port" of each active listener, from the admin API."""
    try:
        data = json.loads(admin.get("/listeners?format=json"))
    except (OSError, RuntimeError, ValueError):
        return []
    out = []
    for listener in data.get("listener_statuses", []):
        sock = (listener.get("local_address") or {}).get("socket_address") or {}
        out.append(f"{listener.get('name')} {sock.get('address')}:{sock.get('port_value')}")
    return out


def run_envoy(args: argparse.Namespace) -> int:
    from ..envoy.bootstrap import make_bootstrap
    from ..envoy.ports import free_port
    from ..envoy.process import EnvoyError, EnvoyProcess
    from .cmd_xds import check_role, parse_locality

    (host, port), *more = split_addresses(args.xds)
    role = check_role(args.node_cluster)
    locality = parse_locality(args.node_locality)
    node_id = args.node_id or f"meshctl-envoy-{os.getpid()}"
    if args.listener_port is not None and not 0 < args.listener_port < 65536:
        raise UsageError(f"--listener-port must be a port number (1-65535), got {args.listener_port}")
    admin_port = args.admin_port or free_port()
    metadata = {"listener_port": args.listener_port} if args.listener_port else None
    bootstrap = make_bootstrap(node_id, role, locality if locality[0] else None, host, port, admin_port,
                               delta=args.delta, node_metadata=metadata, more_xds=more)
    envoy = EnvoyProcess(node_id, bootstrap=bootstrap, admin_port=admin_port, log_level=args.log_level,
                         check_unknown_fields=args.check_unknown_fields)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            envoy.start().wait_ready(10)
        except EnvoyError as exc:
            raise UsageError(f"envoy did not start: {exc}") from None
        where = "/".join(p for p in locality if p) or "no locality"
        _say(f"envoy {node_id} (pid {envoy.pid}) as {role}, {where}; admin {envoy.admin_url}; xDS {args.xds}")
        deadline = time.monotonic() + args.ready_timeout
        live = False
        while not stop.is_set() and envoy.running and time.monotonic() < deadline:
            if envoy.admin.is_live():
                live = True
                break
            stop.wait(0.05)
        if live:
            listeners = listeners_of(envoy.admin)
            _say("live; listeners: " + (", ".join(listeners) if listeners else "none"))
        elif envoy.running and not stop.is_set():
            _say(f"not live after {args.ready_timeout:.0f}s: is the xDS server at {args.xds} running?")
        while not stop.is_set() and envoy.running:
            stop.wait(0.2)
        if not envoy.running and not stop.is_set():
            _say(f"envoy exited with {envoy.returncode}:\n{envoy.stderr_tail(20)}")
            return 1
        _say("stopping envoy")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        envoy.stop()
    return EXIT_OK
