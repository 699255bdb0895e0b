"""`meshctl test-route`: which route a request takes and why — one request, a router_check test file, or a REPL."""

from __future__ import annotations

import argparse
import gc
import re
import sys
from pathlib import Path
from typing import Any

from .common import EXIT_OK, UsageError, add_source_args, emit, emit_case_report, load_sources
from .envoy_source import add_envoy_args, run_test_route, wants_envoy

EXAMPLE = """examples:
  meshctl test-route docs/examples/004-advanced-routing/07-route-specificity GET http://www.example.com/reviews/v1/version
  meshctl test-route --demo 'GET http://www.example.com/reviews/v3' -o json
  meshctl test-route --demo --from-locality us-east-2 http://reviews.global/reviews/1
  meshctl test-route --demo -H 'x-canary: 1' POST https://www.example.com/ratings/1
  meshctl test-route docs/examples/004-advanced-routing/06-table-weight --file tests/cases/004-06-table-weight.yaml
  meshctl test-route --demo --file cases.yaml --fail-under 80 -o junit > report.xml
  meshctl test-route --demo            (on a terminal: the interactive sandbox)
  meshctl test-route --envoy-config config_dump.json --port 8080 GET http://www.example.com/reviews/1
  meshctl test-route --envoy-admin http://127.0.0.1:19000 --file cases.yaml

REQUEST is [METHOD] URL, as one argument or two; METHOD defaults to GET and the URL's host is the authority.
Exit status: 0 answered (matched or not) / all cases passed; 1 a case failed or coverage is under --fail-under;
2 bad request, bad test file or configuration error.
"""

USAGE = """meshctl test-route [PATH...|--demo] [--gateway NS/NAME] [--from-locality R/Z] [-o text|json]
                          [-H 'name: value']... [METHOD] URL
       meshctl test-route [PATH...|--demo] --file CASES.yaml [--fail-under PCT] [-o text|json|junit]
       meshctl test-route [PATH...|--demo]          (on a terminal: the interactive sandbox)
       meshctl test-route --envoy-config FILE|--envoy-admin URL [--listener NAME|--port N|--route-config NAME]
                          [-H 'name: value']... [METHOD] URL | --file CASES.yaml"""

# loader findings that mean part of the configuration could not be read at all
FATAL_LOAD_CODES = {"yaml-syntax", "unreadable", "binary-file", "path-not-found", "too-deep", "not-a-mapping"}
_METHOD_WORD = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def _make_intermixed(parser: argparse.ArgumentParser) -> None:
    """PATH... and REQUEST are both positional and options may sit between them
    (`test-route DIR --gateway g GET URL`); argparse only handles that with intermixed parsing."""
    base = type(parser)

    class _Intermixed(base):  # type: ignore[misc, valid-type]
        _inside = False

        def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
            if self._inside:
                return super().parse_known_args(args, namespace)
            self._inside = True
            try:
                return self.parse_known_intermixed_args(args, namespace)
            finally:
                self._inside = False

    parser.__class__ = _Intermixed


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("test-route", help="which route a request takes, and why (one-shot, batch, REPL)",
                       usage=USAGE,
                       description="Match a request against the merged routes of a gateway by Envoy's rules: "
                                   "virtual host by authority, then the first route whose matchers hold. Shows the "
                                   "route, its delegation chain, the action and backends, and why every earlier "
                                   "route did not match. With --file, runs an Envoy router_check test file.",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_source_args(p)
    for action in p._actions:  # PATH... and the REQUEST share the positionals (see split_positionals)
        if action.dest == "paths":
            action.help = "YAML files or directories to load, then the REQUEST: [METHOD] URL"
    p.add_argument("--gateway", metavar="NS/NAME", help="answer for this gateway (default: chosen by host)")
    p.add_argument("--workload", metavar="NS/NAME[@CLUSTER]",
                   help="answer as this workload's sidecar would (Gloo v2 east-west); endpoint priorities "
                        "from the workload's own locality unless --from-locality says otherwise")
    p.add_argument("--from-locality", metavar="REGION[/ZONE]", help="client locality for endpoint priorities")
    p.add_argument("-H", "--header", action="append", default=[], metavar="'NAME: VALUE'",
                   help="request header (repeatable)")
    p.add_argument("--file", metavar="CASES.yaml", help="run a router_check test file (YAML or JSON)")
    p.add_argument("--fail-under", type=float, metavar="PCT", help="with --file: exit 1 when route coverage is lower")
    p.add_argument("-o", "--output", choices=("text", "json", "junit"), default="text",
                   help="output format (junit only with --file; default text)")
    add_envoy_args(p)
    p.set_defaults(func=run)
    _make_intermixed(p)


def split_positionals(tokens: list[str]) -> tuple[list[str], list[str]]:
    """(request words, config paths) from the positionals: the URL (with '://') and the method just before it."""
    from ..sandbox.request import looks_like_schemeless_url, looks_like_url

    url_at = next((i for i, t in enumerate(tokens) if looks_like_url(t)), None)
    if url_at is None:
        for t in tokens:
            if not Path(t).exists() and looks_like_schemeless_url(t):
                raise UsageError(f"malformed URL {t[:80]!r}: expected http://HOST[:PORT]/PATH "
                                 f"(or it is a config path that does not exist)")
        return [], tokens
    if url_at + 1 < len(tokens):
        raise UsageError(f"unexpected argument after the request URL: {tokens[url_at + 1][:80]!r}")
    words = [tokens[url_at]]
    paths = tokens[:url_at]
    if len([w for w in tokens[url_at].split(" ") if w]) == 1 and paths and _METHOD_WORD.match(paths[-1]) and not Path(paths[-1]).exists():
        words.insert(0, paths.pop())
    return words, paths


def _load(args: argparse.Namespace) -> Any:
    snapshot = load_sources(args)
    fatal = [f for f in snapshot.findings if f.code in FATAL_LOAD_CODES]
    if fatal:
        more = f" (and {len(fatal) - 1} more; see meshctl validate)" if len(fatal) > 1 else ""
        raise UsageError(f"config error: {fatal[0].render()}{more}")
    return snapshot


def run(args: argparse.Namespace) -> int:
    from ..mesh.index import Locality
    from ..sandbox.casefile import CaseFileError
    from ..sandbox.engine import SandboxError
    from ..sandbox.request import RequestError

    words, args.paths = split_positionals(list(args.paths or []))
    if args.file and words:
        raise UsageError("give either a REQUEST or --file, not both")
    if not args.file:
        if args.output == "junit":
            raise UsageError("-o junit needs --file")
        if args.fail_under is not None:
            raise UsageError("--fail-under needs --file")
    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        raise UsageError(f"--fail-under must be a percentage 0-100, got {args.fail_under:g}")
    if wants_envoy(args) or args.listener or args.port is not None or args.route_config:
        return run_test_route(args, words)
    try:
        locality = Locality.parse(args.from_locality)
    except ValueError as exc:
        raise UsageError(f"--from-locality: {exc}") from None
    try:
        if args.file:
            return _run_batch(args, locality)
        if words:
            return _run_one(args, words, locality)
        return _run_repl(args, locality)
    except (RequestError, SandboxError, CaseFileError) as exc:
        raise UsageError(str(exc)) from None


def _run_one(args: argparse.Namespace, words: list[str], locality: Any) -> int:
    from ..sandbox.engine import Sandbox
    from ..sandbox.render import render_result
    from ..sandbox.request import parse_request

    request = parse_request(words, args.header)  # before loading: a bad request fails fast
    snapshot = _load(args)
    note = None
    if getattr(args, "workload", None):
        from ..routing.v2_eastwest import (
            WorkloadError,
            find_workload,
            kubernetes_routing_note,
            serves_host,
            sidecar_view,
        )

        if args.gateway:
            raise UsageError("give either --gateway or --workload, not both")
        try:
            workload = find_workload(snapshot, args.workload)
        except WorkloadError as exc:
            raise UsageError(f"--workload: {exc}") from None
        view = sidecar_view(snapshot, workload)
        sandbox = Sandbox(snapshot, view)
        if locality is None:  # a sidecar's endpoint priorities are those of the workload's own locality
            locality = sandbox.mesh.workload_locality(workload.namespace, workload.name, workload.cluster)
        if not serves_host(view, request.authority):
            note = kubernetes_routing_note(workload, request.authority)
    else:
        sandbox = Sandbox(snapshot)
    result = sandbox.evaluate(request, args.gateway, locality)
    if args.output == "json":
        data = result.to_dict()
        if note:
            data["note"] = note
        emit(data, "json")
    else:
        emit(render_result(result) + (f"\nnote: {note}" if note else ""), "text")
    return EXIT_OK


def _run_batch(args: argparse.Namespace, locality: Any) -> int:
    from ..sandbox.casefile import load_case_file
    from ..sandbox.engine import Sandbox
    from ..sandbox.runner import run_cases

    if args.header:
        raise UsageError("-H applies to one request; in a test file use input.additional_request_headers")
    cases = load_case_file(args.file)
    sandbox = Sandbox(_load(args))
    if args.gateway:
        sandbox.gateway(args.gateway)
    # the loaded configuration lives until exit: keep the cyclic collector from re-walking it on every pass
    gc.collect()
    gc.freeze()
    report = run_cases(sandbox, cases.cases, args.file, args.gateway, locality, args.fail_under)
    return emit_case_report(report, args.output)


def _run_repl(args: argparse.Namespace, locality: Any) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("no REQUEST given: pass [METHOD] URL, or --file CASES.yaml "
                         "(the interactive sandbox needs a terminal)")
    from ..repl.session import history_path, run_repl
    from ..repl.state import FileConfig, FixedConfig, ReplState
    from ..sandbox.request import parse_header

    if getattr(args, "context", None):
        config: Any = FixedConfig(lambda: _load(args), "contexts " + ", ".join(args.context))
    else:
        _load(args)  # same checks (paths exist, readable YAML) as the other modes, before the prompt
        config = FileConfig(list(args.paths), demo=bool(args.demo))
    state = ReplState(config, gateway=args.gateway, locality=locality,
                      headers=dict(parse_header(h) for h in args.header))
    if args.gateway:
        state.sandbox.gateway(args.gateway)
    if args.output == "json":
        state.output = "json"
    _install_plugin_commands(bool(getattr(args, "read_only", False)))
    return run_repl(state, history_file=history_path())


def _install_plugin_commands(read_only: bool) -> None:
    """Plugins' commands become `:NAME ARGS` in the REPL."""
    from ..extend.repl import install_plugin_commands

    try:
        install_plugin_commands(read_only=read_only)
    except Exception as exc:  # a broken plugin must not keep the operator out of the sandbox
        print(f"meshctl: warning: plugin commands not loaded: {exc}", file=sys.stderr)
