"""`meshctl tui`: the operator console over files (watched), the demo mesh, and an optional xDS server."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .common import EXIT_OK, UsageError

EXAMPLE = """example:
  meshctl tui --demo
  meshctl tui ./gloo-config --theme colorblind
  meshctl tui ./gloo-config --read-only --xds 127.0.0.1:18000
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tui", help="open the interactive operator console",
                       description="Browse merged route trees, test requests, edit with validation and preview, "
                                   "watch xDS sync and locality failover.",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="PATH", help="YAML files or directories (watched for changes)")
    p.add_argument("--demo", action="store_true",
                   help="the demo environment (demo apps, xDS server, real Envoys; attaches to one already "
                        "running), stopped on exit if this console started it")
    # also a global flag; SUPPRESS keeps `meshctl --read-only tui` from being reset by this default
    p.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS,
                   help="forbid edits, applies and failovers")
    p.add_argument("--context", action="append", default=[], metavar="CTX",
                   help="Kubernetes context to read from and watch (repeatable)")
    p.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
    p.add_argument("--cluster-name", action="append", default=[], metavar="CTX=NAME",
                   help="Gloo cluster name of a context (repeatable)")
    p.add_argument("-n", "--namespace", metavar="NS", help="only this namespace of the contexts")
    p.add_argument("--theme", default=None, metavar="NAME",
                   help="dark, light, colorblind, or any Textual theme (default: the config file's, else dark)")
    p.add_argument("--theme-dir", action="append", default=[], metavar="DIR",
                   help="more theme files (*.yaml; same format as the shipped themes/)")
    p.add_argument("--xds", metavar="ADDR", help="show the sync status of the xDS server at ADDR (CSDS)")
    p.add_argument("--tests-file", default="meshctl-tests.yaml", metavar="FILE",
                   help="where 'save as test case' appends (default ./meshctl-tests.yaml)")
    p.add_argument("--requests-file", metavar="FILE", help="saved sandbox requests (default: none, in memory)")
    p.set_defaults(func=run)


def build_app(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    """The app and what to tear down after it exits (demo servers). Separate from run() for tests."""
    from ..config import Paths, apply_flags, cluster_name_flags, load_settings
    from ..sources.files import FileSource
    from ..sources.workspace import Workspace
    from ..tui.app import MeshctlApp
    from ..tui.integrations import RemoteXdsLink, default_failover_control, start_local_xds
    from ..tui.sandbox_adapter import RequestStore
    from ..tui.themes import ThemeError, load_themes

    settings = getattr(args, "settings", None) or load_settings()
    apply_flags(settings, theme=args.theme)
    args.cluster_name = cluster_name_flags(settings, args.context, args.cluster_name)
    for problem in settings.problems:
        print(f"meshctl: config: {problem.render()}", file=sys.stderr)
    args.theme = settings.theme
    paths = list(args.paths or [])
    for path in paths:
        if not Path(path).exists():
            raise UsageError(f"no such file or directory: {path}")
    if not paths and not args.demo and not args.context:
        raise UsageError("no configuration given: name files or directories (PATH...), --context CTX, or --demo")
    theme_dirs = [Path(d) for d in args.theme_dir]
    if Paths.current().themes_dir.is_dir():
        theme_dirs.append(Paths.current().themes_dir)
    try:
        themes = load_themes(theme_dirs)
    except ThemeError as exc:
        raise UsageError(str(exc)) from exc
    samples = _sample_requests(settings.sample_requests)
    from textual.theme import BUILTIN_THEMES

    if args.theme not in themes and args.theme not in BUILTIN_THEMES:
        raise UsageError(f"unknown theme {args.theme!r} (known: {', '.join(sorted({*themes, *BUILTIN_THEMES}))})")

    sources: list[Any] = []
    demo = None
    if args.demo:
        from ..tui.demo_env import ConsoleDemo

        demo = ConsoleDemo()
        sources.append(demo.source)
    if paths:
        sources.append(FileSource(paths))
    if args.context:
        from .kube_args import kube_sources_from_args

        sources.extend(kube_sources_from_args(args))
    workspace = Workspace(sources)
    teardown: list[Any] = []
    xds = None
    note = "no xDS server"
    startup = None
    if args.xds:
        xds = RemoteXdsLink(args.xds)
        note = f"xDS {args.xds} (remote)"
    elif demo is not None:
        startup = lambda: demo.start(workspace)  # noqa: E731 (runs in the app's loading worker)
        teardown.append(demo)
    elif args.demo:
        xds, note = start_local_xds(workspace)
        if xds is not None:
            teardown.append(getattr(xds, "server", None))
    requests_file = Path(args.requests_file) if args.requests_file else None
    from ..tui.actions import KeymapError

    try:
        app = MeshctlApp(workspace, read_only=bool(getattr(args, "read_only", False)), theme=args.theme, xds=xds,
                         xds_note=note, failover=default_failover_control(),
                         request_store=RequestStore(requests_file, samples=samples), keymap=settings.keymap or None,
                         tests_file=Path(args.tests_file), theme_dirs=theme_dirs,
                         startup=startup, startup_note="starting the demo environment (apps, xDS server, Envoys)…")
    except KeymapError as exc:
        raise UsageError(f"config keymap: {exc}") from exc
    return app, [t for t in teardown if t is not None]


def _sample_requests(files: list[str]) -> list[Any]:
    """Requests of the config's `sampleRequests` case files (router_check format), for edit previews."""
    from ..sandbox import CaseFileError, load_case_file

    out = []
    for f in files:
        try:
            out += [case.request for case in load_case_file(Path(f).expanduser()).cases]
        except (CaseFileError, OSError) as exc:
            print(f"meshctl: config sampleRequests: {exc}", file=sys.stderr)
    return out


def run(args: argparse.Namespace) -> int:
    app, teardown = build_app(args)
    try:
        app.run()
    finally:
        app.workspace.stop()
        for thing in teardown:
            stop = getattr(thing, "stop", None)
            if callable(stop):
                try:
                    stop()
                except Exception:  # tearing down the demo must not hide the app's own exit
                    pass
    # Textual sets a non-zero return code when the app stopped on an unhandled error
    return int(app.return_code or EXIT_OK)
