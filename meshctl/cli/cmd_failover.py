"""`meshctl failover trigger | restore | status | watch | drill`: locality failover you can trigger and watch."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .cmd_demo import _seconds, add_state_dir_arg
from .common import EXIT_OK, UsageError, add_source_args

TARGET_HELP = ("cluster:NAME | locality:REGION[/ZONE] | service:NAMESPACE/NAME[@CLUSTER][,LABEL=VALUE] "
               "(e.g. service:bookinfo/reviews@cluster-1,version=v1)")
EXAMPLE = """examples:
  meshctl failover trigger service:bookinfo/reviews@cluster-1 --mode fail
  meshctl failover trigger locality:us-east-1/us-east-1a --mode eds-unhealthy
  meshctl failover restore service:bookinfo/reviews@cluster-1
  meshctl failover watch --interval 1 --count 10
  meshctl failover drill service:bookinfo/reviews@cluster-1 --rps 100 --seconds 10 --mode refuse -o json
"""


def register(sub: argparse._SubParsersAction) -> None:
    from ..failover.trigger import MODES

    p = sub.add_parser("failover", help="trigger, restore, watch and drill locality failover (demo mesh)",
                       description="Make endpoints fail (demo apps: fail/hang/refuse; xDS: eds-unhealthy), watch Envoy "
                                   "move traffic between localities, and measure it under load.",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    fsub = p.add_subparsers(dest="failover_command", metavar="ACTION")

    trigger = fsub.add_parser("trigger", epilog="example:\n  meshctl failover trigger 'service:bookinfo/reviews@cluster-1,version=v1' --mode fail\n  meshctl failover trigger locality:us-east-1 --mode eds-unhealthy",
        formatter_class=argparse.RawDescriptionHelpFormatter, help="make a target's endpoints fail")
    trigger.add_argument("target", metavar="TARGET", help=TARGET_HELP)
    trigger.add_argument("--mode", choices=MODES, default="fail",
                         help="fail: answer 503; hang: never answer; refuse: close the port; eds-unhealthy: mark the "
                              "endpoints UNHEALTHY in EDS (default fail)")
    trigger.add_argument("--status", type=int, default=503, help="HTTP status in fail mode (default 503)")
    trigger.add_argument("-o", "--output", choices=("text", "json"), default="text")
    _add_health_args(trigger)
    add_state_dir_arg(trigger)
    trigger.set_defaults(func=run_trigger)

    restore = fsub.add_parser("restore", epilog="example:\n  meshctl failover restore 'service:bookinfo/reviews@cluster-1,version=v1'\n  meshctl failover restore --all",
        formatter_class=argparse.RawDescriptionHelpFormatter, help="undo failures of a target (or --all)")
    restore.add_argument("target", metavar="TARGET", nargs="?", help=TARGET_HELP)
    restore.add_argument("--all", action="store_true", help="every app back to ok, every EDS override removed")
    restore.add_argument("-o", "--output", choices=("text", "json"), default="text")
    _add_health_args(restore)
    add_state_dir_arg(restore)
    restore.set_defaults(func=run_restore)

    status = fsub.add_parser("status", epilog="example:\n  meshctl failover status -o json",
        formatter_class=argparse.RawDescriptionHelpFormatter, help="failures in force (apps not ok, EDS overrides)")
    status.add_argument("-o", "--output", choices=("text", "json"), default="text")
    _add_health_args(status)
    add_state_dir_arg(status)
    status.set_defaults(func=run_status)

    watch = fsub.add_parser("watch", epilog="example:\n  meshctl failover watch --interval 1 --count 10\n  meshctl failover watch -o json",
        formatter_class=argparse.RawDescriptionHelpFormatter, help="hosts by priority/locality, health flags, ejections, traffic share")
    watch.add_argument("--interval", type=_seconds, default=1.0, metavar="S", help="seconds between samples")
    watch.add_argument("--count", type=int, metavar="N", help="stop after N samples (default: until Ctrl-C)")
    watch.add_argument("--cluster", metavar="TEXT", help="only Envoy clusters whose name contains TEXT")
    watch.add_argument("--all", action="store_true", help="every cluster (default: those with several localities)")
    watch.add_argument("--admin", action="append", default=[], metavar="[NAME=]URL",
                       help="an Envoy admin URL to watch (repeatable; default: the demo's Envoys)")
    watch.add_argument("-o", "--output", choices=("text", "json"), default="text",
                       help="json: one object per sample and line")
    add_state_dir_arg(watch)
    watch.set_defaults(func=run_watch)

    drill = fsub.add_parser("drill", epilog="example:\n  meshctl failover drill service:bookinfo/reviews@cluster-1 --rps 100 --seconds 10 --mode fail -o json",
        formatter_class=argparse.RawDescriptionHelpFormatter, help="load + trigger + restore, and the timeline of the failover")
    drill.add_argument("target", metavar="TARGET", help=TARGET_HELP)
    drill.add_argument("--mode", choices=MODES, default="fail")
    drill.add_argument("--url", help="where to send load (127.0.0.1 only; default: reviews through the "
                                     "productpage sidecar)")
    drill.add_argument("--host", help="Host header (default: reviews.bookinfo.svc.cluster.local with the default URL)")
    drill.add_argument("--rps", type=float, default=100.0, help="requests per second (default 100)")
    drill.add_argument("--seconds", type=_seconds, default=10.0, help="how long the load lasts (default 10)")
    drill.add_argument("--trigger-after", type=_seconds, metavar="S", help="trigger this long into the load "
                                                                           "(default 20%% of it, at most 2 s)")
    drill.add_argument("--restore-after", type=_seconds, metavar="S",
                       help="restore this long after the trigger (default 30%% of the load)")
    drill.add_argument("--timeout", type=_seconds, default=5.0, metavar="S", help="per-request client timeout")
    drill.add_argument("--workers", type=int, help="client threads (default: enough for hung upstreams)")
    retries = drill.add_mutually_exclusive_group()
    retries.add_argument("--retries", dest="retries", action="store_true", default=None,
                         help="switch the demo's retry policy on for the drill (restored afterwards)")
    retries.add_argument("--no-retries", dest="retries", action="store_false", help="switch it off for the drill")
    drill.add_argument("--settle", type=_seconds, default=30.0, metavar="S",
                       help="first wait up to S seconds for ejections of an earlier failure to end (default 30)")
    drill.add_argument("-o", "--output", choices=("text", "json"), default="text")
    add_state_dir_arg(drill)
    drill.set_defaults(func=run_drill)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _add_health_args(parser: argparse.ArgumentParser) -> None:
    """Outside the demo: the health API of `meshctl xds serve --health-listen`, and the config it serves."""
    parser.add_argument("--health-url", metavar="URL",
                        help="EDS health API of a running `meshctl xds serve --health-listen` (instead of the demo);"
                             " only --mode eds-unhealthy then; give the config it serves as PATH/--demo/--context")
    add_source_args(parser)


def _state_dir(args: argparse.Namespace) -> Path | None:
    return Path(args.state_dir) if getattr(args, "state_dir", None) else None


def _refuse_read_only(args: argparse.Namespace, what: str) -> None:
    if getattr(args, "read_only", False):
        raise UsageError(f"read-only: {what} is disabled")


def _controller(args: argparse.Namespace) -> Any:
    from ..demo.environment import DemoNotRunning
    from ..demo.failover_control import controller_for_demo
    from ..failover.trigger import FailoverController

    if getattr(args, "health_url", None):
        # any meshctl xDS server started with --health-listen: EDS health only, targets resolved in the config
        from ..failover.eds_health import HealthClient
        from ..mesh.index import MeshIndex
        from .common import load_sources

        snapshot = load_sources(args)
        return FailoverController(lambda: MeshIndex(snapshot), health=HealthClient(args.health_url))
    try:
        return controller_for_demo(_state_dir(args))
    except DemoNotRunning as err:
        raise UsageError(str(err)) from None


def _call(action: Any) -> Any:
    from ..demo.apps import AppControlError
    from ..failover.eds_health import HealthApiError
    from ..failover.trigger import FailoverError

    try:
        return action()
    except (FailoverError, AppControlError, HealthApiError) as err:
        raise UsageError(str(err)) from None
    except OSError as err:
        raise UsageError(f"the demo does not answer ({err}); check `meshctl demo status`") from None


def run_trigger(args: argparse.Namespace) -> int:
    _refuse_read_only(args, "failover trigger")
    controller = _controller(args)
    result = _call(lambda: controller.trigger(args.target, args.mode, args.status))
    print(json.dumps(result.to_json(), indent=2) if args.output == "json" else result.message())
    return EXIT_OK


def run_restore(args: argparse.Namespace) -> int:
    _refuse_read_only(args, "failover restore")
    if bool(args.target) == bool(args.all):
        raise UsageError("name a TARGET to restore, or --all")
    controller = _controller(args)
    if args.all:
        failing = _call(controller.restore_all)
        if args.output == "json":
            print(json.dumps({"restored": failing}, indent=2))
        else:
            print(f"restored {', '.join(failing)}; EDS overrides cleared" if failing else
                  "every app was ok; EDS overrides cleared")
        return EXIT_OK
    result = _call(lambda: controller.restore(args.target))
    print(json.dumps(result.to_json(), indent=2) if args.output == "json" else result.message())
    return EXIT_OK


def run_status(args: argparse.Namespace) -> int:
    controller = _controller(args)
    active = _call(controller.active)
    if args.output == "json":
        print(json.dumps(active, indent=2))
        return EXIT_OK
    if not active["apps"] and not active["eds"]:
        print("no failure in force")
    for row in active["apps"]:
        print(f"app {row['instance']}: {row['mode']}")
    for row in active["eds"]:
        print(f"EDS {row['address']}:{row['port']}: {row['status']}")
    return EXIT_OK


def _admins(args: argparse.Namespace) -> dict[str, str]:
    if args.admin:
        admins = {}
        for i, item in enumerate(args.admin):
            name, eq, url = item.partition("=")
            if not eq:
                name, url = f"envoy-{i + 1}", item
            if not url.startswith("http://"):
                raise UsageError(f"--admin must be [NAME=]http://HOST:PORT, got {item!r}")
            admins[name] = url
        return admins
    from ..demo.environment import DemoNotRunning, load_demo

    try:
        return load_demo(_state_dir(args)).admin_urls()
    except DemoNotRunning as err:
        raise UsageError(f"{err} (or name Envoys with --admin URL)") from None


def run_watch(args: argparse.Namespace) -> int:
    from ..failover.watch import Watcher, render_text

    if args.count is not None and args.count < 1:
        raise UsageError("--count must be at least 1")
    watcher = Watcher(_admins(args), cluster_filter=args.cluster, show_all=args.all)
    try:
        for sample in watcher.samples(args.interval, args.count):
            if args.output == "json":
                print(json.dumps(sample.to_json()), flush=True)
            else:
                print(render_text(sample), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        watcher.close()
    return EXIT_OK


def run_drill(args: argparse.Namespace) -> int:
    _refuse_read_only(args, "failover drill")
    from ..demo.environment import DemoEnvironment, load_demo
    from ..failover.drill import DrillError, LoadSpec, render_text
    from ..failover.drill import run_drill as drill
    from ..failover.watch import wait_settled

    controller = _controller(args)
    info = load_demo(_state_dir(args))
    url, host = args.url, args.host
    if url is None:
        url, host = info.urls["reviews"]["url"], host or info.urls["reviews"]["host"]
    try:
        load = LoadSpec(url, host, rps=args.rps, seconds=args.seconds, timeout_s=args.timeout, workers=args.workers)
    except DrillError as err:
        raise UsageError(str(err)) from None
    env = DemoEnvironment(info.state_dir)
    previous_retries = info.options.retries
    switch = args.retries is not None and args.retries != previous_retries
    if switch:
        _call(lambda: env.set_retries(bool(args.retries)))
    try:
        unsettled = wait_settled(info.admin_urls(), args.settle)
        if unsettled:
            print(f"warning: still unsettled after {args.settle:g} s: {'; '.join(unsettled)}", file=sys.stderr)
        try:
            result = _call(lambda: drill(controller, args.target, args.mode, load, args.trigger_after,
                                         args.restore_after))
        except DrillError as err:
            raise UsageError(str(err)) from None
    finally:
        if switch:
            env.set_retries(previous_retries)
    out = result.to_json()
    out["retries"] = bool(args.retries if args.retries is not None else previous_retries)
    if args.output == "json":
        print(json.dumps(out, indent=2))
    else:
        print(render_text(result) + f"\n  retries: {'on' if out['retries'] else 'off'}")
    return EXIT_OK
