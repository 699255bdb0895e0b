"""Options shared by commands that read Envoy's own configuration (--envoy-config FILE, --envoy-admin URL) and
the test-route / routes modes that answer from it."""

from __future__ import annotations

import argparse
import gc
from typing import Any

from .common import EXIT_OK, UsageError, emit, emit_case_report


def add_envoy_args(parser: argparse.ArgumentParser, pick: bool = True) -> None:
    parser.add_argument("--envoy-config", metavar="FILE",
                        help="Envoy's own configuration: an admin /config_dump (JSON), a bootstrap (YAML/JSON) "
                             "or a RouteConfiguration")
    parser.add_argument("--envoy-admin", metavar="URL",
                        help="a live Envoy's admin address: its /config_dump?include_eds is read")
    if pick:
        parser.add_argument("--listener", metavar="NAME", help="with --envoy-config/--envoy-admin: this listener")
        parser.add_argument("--port", type=int, metavar="N", help="with --envoy-config/--envoy-admin: the listener "
                                                                  "on this port")
        parser.add_argument("--route-config", metavar="NAME", help="with --envoy-config/--envoy-admin: this route "
                                                                   "configuration (RDS name)")


def wants_envoy(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "envoy_config", None) or getattr(args, "envoy_admin", None))


def check_envoy_args(args: argparse.Namespace) -> None:
    if args.envoy_config and args.envoy_admin:
        raise UsageError("give --envoy-config FILE or --envoy-admin URL, not both")
    if not wants_envoy(args):
        for flag in ("listener", "port", "route_config"):
            if getattr(args, flag, None) is not None:
                raise UsageError(f"--{flag.replace('_', '-')} needs --envoy-config or --envoy-admin")


def load_envoy(args: argparse.Namespace) -> Any:
    """The chosen route configuration (RouteSelection) from the file or the live Envoy; errors as UsageError."""
    from ..envoyconfig.select import fetch_envoy_config, load_envoy_config
    from ..envoyconfig.source import EnvoyConfigError

    try:
        config = load_envoy_config(args.envoy_config) if args.envoy_config else fetch_envoy_config(args.envoy_admin)
        return config.select(getattr(args, "listener", None), getattr(args, "port", None),
                             getattr(args, "route_config", None))
    except EnvoyConfigError as exc:
        raise UsageError(str(exc)) from None


def run_test_route(args: argparse.Namespace, words: list[str]) -> int:
    """`meshctl test-route --envoy-config FILE ...`: one request or a router_check file, answered by the proxy's
    configuration with the same keys and report as the Gloo sandbox."""
    from ..envoyconfig.answer import answer
    from ..envoyconfig.matching import Matcher
    from ..envoyconfig.render import render_answer
    from ..sandbox.casefile import CaseFileError
    from ..sandbox.request import RequestError, parse_request

    check_envoy_args(args)
    if args.paths or args.demo or args.context:
        raise UsageError("--envoy-config/--envoy-admin answer from Envoy's configuration: give no PATH, --demo or "
                         "--context (meshctl verify compares the two)")
    for flag in ("gateway", "from_locality"):
        if getattr(args, flag, None):
            raise UsageError(f"--{flag.replace('_', '-')} does not apply to --envoy-config (use --listener, --port "
                             f"or --route-config)")
    try:
        if args.file:
            if args.header:
                raise UsageError("-H applies to one request; in a test file use input.additional_request_headers")
            return _run_cases(args)
        if not words:
            raise UsageError("no REQUEST given: pass [METHOD] URL, or --file CASES.yaml")
        request = parse_request(words, args.header)
        selection = load_envoy(args)
        a = answer(Matcher(selection.route_config), request, selection.label)
        if args.output == "json":
            emit(a.to_dict(), "json")
        else:
            emit(render_answer(a), "text")
        return EXIT_OK
    except (RequestError, CaseFileError) as exc:
        raise UsageError(str(exc)) from None


def _run_cases(args: argparse.Namespace) -> int:
    from ..envoyconfig.cases import check_gloo_only, run_envoy_cases
    from ..envoyconfig.matching import Matcher
    from ..sandbox.casefile import load_case_file

    cases = load_case_file(args.file)
    check_gloo_only(cases.cases, args.file)
    selection = load_envoy(args)
    gc.collect()
    gc.freeze()
    report = run_envoy_cases(Matcher(selection.route_config), cases.cases, args.file, selection.label,
                             args.fail_under)
    return emit_case_report(report, args.output)


def run_routes(args: argparse.Namespace) -> int:
    """`meshctl routes --envoy-config FILE`: the route table as Envoy holds it, with what shadows each route."""
    from ..envoyconfig.shadow import render_route_table, route_table

    check_envoy_args(args)
    if args.paths or args.demo or args.context:
        raise UsageError("--envoy-config/--envoy-admin show Envoy's configuration: give no PATH, --demo or --context")
    if args.gateway:
        raise UsageError("--gateway does not apply to --envoy-config (use --listener, --port or --route-config)")
    selection = load_envoy(args)
    rows = route_table(selection.route_config)
    if args.output in ("json", "yaml"):
        rc = selection.route_config
        emit({"schema": "meshctl.envoy-routes/v1", "source": selection.config.source, "routeConfig": rc.name,
              "listener": rc.listener or None, "notes": rc.notes,
              "routes": [row.to_dict() for row in rows]}, args.output)
    else:
        emit(render_route_table(rows, selection.label, selection.route_config.notes), "text")
    return EXIT_OK
