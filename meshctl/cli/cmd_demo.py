"""`meshctl demo up | down | status`: the demo mesh on real Envoy (apps, xDS server, gateway and sidecar)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from .common import EXIT_OK, UsageError

EXAMPLE = """examples:
  meshctl demo up                 # foreground: Ctrl-C stops everything
  meshctl demo up --detach        # keep running; `meshctl demo down` stops it
  meshctl demo up --retries --ejection-time 5s
  meshctl demo up --api v2        # the same story with Gloo v2 VirtualGateway / RouteTables
  meshctl demo status -o json
  meshctl demo down
"""


def _seconds(text: str) -> float:
    raw = text.strip().lower()
    try:
        value = float(raw[:-2]) / 1000 if raw.endswith("ms") else float(raw.rstrip("s"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds like 2, 2s or 500ms, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def add_state_dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", metavar="DIR",
                        help="where the demo keeps pid files, ports and logs (default: $XDG_STATE_HOME/meshctl/demo)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the demo mesh on real Envoy (up, down, status)",
                       description="Real HTTP apps for every demo service, the demo xDS server, and real Envoys: the "
                                   "cluster-1 ingress gateway and productpage's sidecar (us-east-1/us-east-1a).",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    demo_sub = p.add_subparsers(dest="demo_command", metavar="ACTION")
    up = demo_sub.add_parser("up", epilog="example:\n  meshctl demo up --detach\n  meshctl demo up --retries",
        formatter_class=argparse.RawDescriptionHelpFormatter, help="start the demo (foreground unless --detach)")
    up.add_argument("--detach", action="store_true", help="leave the processes running and return")
    up.add_argument("--retries", action="store_true",
                    help="add a retry policy (5xx, connect-failure, reset; other hosts; per-try timeout)")
    up.add_argument("--per-try-timeout", type=_seconds, default=0.5, metavar="S", help="with --retries (default 0.5s)")
    up.add_argument("--request-timeout", type=_seconds, default=2.0, metavar="S",
                    help="route timeout of the failover destinations (default 2s)")
    up.add_argument("--ejection-time", type=_seconds, metavar="S",
                    help="override outlier detection baseEjectionTime (demo YAML: 15s reviews, 120s database)")
    up.add_argument("--outlier-interval", type=_seconds, metavar="S",
                    help="override outlier detection interval (demo YAML: 1s reviews, 5s database)")
    up.add_argument("--envoy-log-level", default="warn", metavar="LEVEL", help="Envoy --log-level (default warn)")
    up.add_argument("--api", choices=("v1beta1", "v2"), default="v1beta1",
                    help="write the gateway routing as Gloo v1beta1 (default) or v2 resources")
    up.add_argument("--cert-lifetime", type=_seconds, default=120.0, metavar="S",
                    help="lifetime of the proxies' mesh certificates, renewed at half of it (default 120s)")
    up.add_argument("--no-mtls", action="store_true",
                    help="no mutual TLS between the meshed proxies (gateway → productpage's sidecar)")
    up.add_argument("-o", "--output", choices=("text", "json"), default="text")
    add_state_dir_arg(up)
    up.set_defaults(func=run_up)
    down = demo_sub.add_parser("down", epilog="example:\n  meshctl demo down",
        formatter_class=argparse.RawDescriptionHelpFormatter, help="stop every process the demo started (also after a crash)")
    add_state_dir_arg(down)
    down.set_defaults(func=run_down)
    status = demo_sub.add_parser("status", epilog="example:\n  meshctl demo status -o json",
        formatter_class=argparse.RawDescriptionHelpFormatter, help="processes, ports and URLs of the demo")
    status.add_argument("-o", "--output", choices=("text", "json"), default="text")
    add_state_dir_arg(status)
    status.set_defaults(func=run_status)
    url = demo_sub.add_parser("url", epilog="example:\n  curl -s -H 'Host: www.example.com' \"$(meshctl demo url)/reviews/v1/version\"",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="print the listener URL of the demo's gateway (or sidecar) Envoy, for scripts and curl")
    url.add_argument("role", nargs="?", choices=("gateway", "sidecar"), default="gateway")
    add_state_dir_arg(url)
    url.set_defaults(func=run_url)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _state_dir(args: argparse.Namespace) -> Path | None:
    return Path(args.state_dir) if getattr(args, "state_dir", None) else None


def describe_info(info: Any) -> str:
    from ..demo.env_config import database_namespace
    from ..demo.environment import curl_command

    lines = [f"demo mesh running (state {info.state_dir})",
             f"  xDS server   {info.xds_address}   (EDS health API {info.health_url})",
             f"  apps control {info.apps_control_url}"]
    for name, envoy in info.envoys.items():
        lines.append(f"  {name:<18} {envoy['role']:<8} listener {envoy['listener_url']}  admin {envoy['admin_url']}  "
                     f"locality {envoy['locality']}")
    lines.append(f"  config       {info.config_dir}  (edits reach the Envoys)")
    lines.append("try:")
    for entry in info.urls.values():
        lines.append(f"  {curl_command(entry):<96} # {entry['note']}")
    lines += [
        "fail over:",
        "  meshctl failover watch                                              # hosts, ejections, traffic by locality",
        "  meshctl failover trigger service:bookinfo/reviews@cluster-1 --mode fail   # v1+v2 fail → v3 in cluster-2",
        "  meshctl failover restore service:bookinfo/reviews@cluster-1",
        f"  meshctl failover trigger service:{database_namespace(info.options.api)}/database@db-dallas "
        "--mode eds-unhealthy",
        "  meshctl failover drill service:bookinfo/reviews@cluster-1 --rps 100 --seconds 10",
    ]
    return "\n".join(lines)


def run_up(args: argparse.Namespace) -> int:
    from ..demo.environment import DemoAlreadyRunning, DemoEnvironment, DemoOptions
    from ..demo.supervisor import SupervisorError

    options = DemoOptions(retries=args.retries, per_try_timeout_s=args.per_try_timeout,
                          request_timeout_s=args.request_timeout, base_ejection_time_s=args.ejection_time,
                          outlier_interval_s=args.outlier_interval, envoy_log_level=args.envoy_log_level,
                          api=args.api, mtls=not args.no_mtls, cert_lifetime_s=args.cert_lifetime)
    env = DemoEnvironment(_state_dir(args), options)
    stopping = False

    def on_term(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    # Ctrl-C must stop the demo even when a launching shell left SIGINT ignored (e.g. `meshctl demo up &`).
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    started = False
    try:
        try:
            info = env.up(detach=args.detach)
            started = True
        except DemoAlreadyRunning as err:
            raise UsageError(str(err)) from None
        except SupervisorError as err:
            print(f"meshctl: error: the demo did not start: {err}", file=sys.stderr)
            return 1
        if args.output == "json":
            print(json.dumps(info.to_json(), indent=2), flush=True)
        else:
            print(describe_info(info), flush=True)
        if args.detach:
            if args.output == "text":
                print("detached: stop it with `meshctl demo down`", flush=True)
            return EXIT_OK
        if args.output == "text":
            print("running in the foreground: press Ctrl-C to stop", flush=True)
        _wait_in_foreground(env)
    except KeyboardInterrupt:
        pass
    finally:
        if started and not args.detach:
            stopped = env.down()
            if args.output == "text" and stopped:
                print(f"stopped {', '.join(stopped)}", flush=True)
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    return EXIT_OK


def _wait_in_foreground(env: Any) -> None:
    reported: set[str] = set()
    while True:
        time.sleep(0.5)
        for process in env.supervisor.status():
            if not process.alive and process.name not in reported:
                reported.add(process.name)
                print(f"warning: {process.name} (pid {process.pid}) exited; log: {process.log_path}",
                      file=sys.stderr, flush=True)


def run_down(args: argparse.Namespace) -> int:
    from ..demo.environment import DemoEnvironment

    env = DemoEnvironment(_state_dir(args))
    stopped = env.down()
    print(f"stopped {', '.join(stopped)}" if stopped else f"no demo processes were running ({env.state_dir})")
    return EXIT_OK


def run_url(args: argparse.Namespace) -> int:
    from ..demo.environment import DemoNotRunning, load_demo

    try:
        info = load_demo(_state_dir(args))
    except DemoNotRunning as err:
        print(f"meshctl: {err}", file=sys.stderr)
        return 1
    print(info.gateway_url if args.role == "gateway" else info.sidecar_url)
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    from ..demo.environment import DemoEnvironment
    from ..demo.failover_control import controller_for_demo

    env = DemoEnvironment(_state_dir(args))
    status = env.status()
    active: dict[str, Any] | None = None
    certificates: list[dict[str, Any]] = []
    if status.running and status.info is not None and status.info.options.mtls:
        from ..demo.env_mtls import proxy_certificates

        certificates = proxy_certificates(status.info.envoys)
    if status.running:
        try:
            active = controller_for_demo(env.state_dir).active()
        except Exception as err:  # status must still show the processes
            status.problems.append(f"cannot read failover state: {err}")
    if args.output == "json":
        print(json.dumps({
            "running": status.running, "state_dir": str(env.state_dir), "problems": status.problems,
            "processes": [{"name": p.name, "pid": p.pid, "alive": p.alive, "ports": p.ports, "log": str(p.log_path)}
                          for p in status.processes],
            "failures": active, "mtls": certificates, "demo": status.info.to_json() if status.info else None},
            indent=2))
        return EXIT_OK
    if not status.processes:
        print(f"no demo running ({env.state_dir}); start one with `meshctl demo up`")
        return EXIT_OK
    print(f"demo {'running' if status.running else 'NOT healthy'} (state {env.state_dir})")
    for p in status.processes:
        ports = ", ".join(f"{k} {v}" for k, v in sorted(p.ports.items()))
        print(f"  {'✓' if p.alive else '✗'} {p.name:<18} pid {p.pid:<8} {ports}")
    for problem in status.problems:
        print(f"  problem: {problem}")
    if active is not None:
        failing = [f"{a['instance']} {a['mode']}" for a in active["apps"]]
        failing += [f"{o['address']}:{o['port']} EDS {o['status']}" for o in active["eds"]]
        print("  failures: " + (", ".join(failing) if failing else "none"))
    for c in certificates:
        print(f"  mTLS {c['envoy']:<18} {c['identity'] or '(no certificate)'}  expires {c['expires'] or '-'}")
    if status.info is not None and status.running:
        print("\n".join(describe_info(status.info).splitlines()[1:]))
    return EXIT_OK
