"""The meshctl operator console (Textual): a thin layer over the workspace and the routing core.

Nothing here computes routing: the workspace yields snapshots, `state.build_model` derives the view in a
worker thread, and panes render it. Files, network and the xDS server are only touched from workers.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

from textual import on, work
from textual.app import App, ComposeResult
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, TabbedContent, TabPane, Tabs

from ..model.findings import Finding
from ..model.resources import Resource
from ..routing.flatten import build_routing_view
from ..routing.types import FlattenedRoute
from ..sandbox.engine import Sandbox
from ..sources.files import FileSource
from ..sources.workspace import Workspace
from ..verbs import Verb
from .actions import bindings, validate_keymap
from .commands import PROVIDERS
from .console import ConsoleAccess
from .editing import AppliedEdit
from .integrations import Attachments, FailoverControl, XdsLink
from .memory import trim_freed_memory
from .messages import EditRoute, JumpToFinding, OpenDetail, RunCommand, SaveRequest, SendRequest
from .sandbox_adapter import (
    RequestError,
    RequestStore,
    SandboxRequest,
    append_test_case,
    explain,
    make_engine,
    parse_command,
    test_case,
)
from .screens.detail import RouteDetailScreen, node_span
from .screens.editor import EditorScreen
from .screens.help import HelpScreen, binding_rows
from .state import ConsoleModel, build_model
from .themes import ConsoleTheme, SemanticColors, load_themes, semantic_for
from .widgets.command_line import CommandLine, ParsedCommand
from .widgets.diagnostics_pane import DiagnosticsPane
from .widgets.failover_pane import FailoverPane
from .widgets.header import SourcesHeader
from .widgets.route_tree import RouteData, RouteTree
from .widgets.routes_pane import RoutesPane
from .widgets.sandbox import SandboxDrawer, render_explanation
from .widgets.xds_pane import XdsPane

TABS = ("routes", "diagnostics", "xds", "failover")


class MainScreen(ConsoleAccess, Screen[None]):
    def compose(self) -> ComposeResult:
        yield SourcesHeader(id="header")
        with TabbedContent(id="tabs", initial="routes"):
            with TabPane("Routes", id="routes"):
                yield RoutesPane(id="routes-pane")
            with TabPane("Diagnostics", id="diagnostics"):
                yield DiagnosticsPane(id="diagnostics-pane")
            with TabPane("xDS", id="xds"):
                yield XdsPane(id="xds-pane")
            with TabPane("Failover", id="failover"):
                yield FailoverPane(id="failover-pane")
        yield CommandLine(id="command-line")
        yield Footer()

    def on_mount(self) -> None:
        self.console.main_ready()


class MeshctlApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "meshctl"
    BINDINGS = bindings("app")
    COMMANDS = App.COMMANDS | set(PROVIDERS)

    def __init__(self, workspace: Workspace, *, read_only: bool = False, theme: str = "dark",
                 keymap: dict[str, str] | None = None, xds: XdsLink | None = None, xds_note: str = "",
                 failover: FailoverControl | None = None, envoy_admins: list[Any] | None = None,
                 request_store: RequestStore | None = None, tests_file: Path | None = None,
                 theme_dirs: list[Path] | None = None, watch: bool = True,
                 startup: Callable[[], Attachments] | None = None, startup_note: str = "") -> None:
        super().__init__()
        self.workspace = workspace
        self.read_only = read_only
        self.xds = xds
        self.xds_note = xds_note or (f"xDS {xds.address}" if xds is not None else "no xDS server")
        self.failover = failover
        self.envoy_admins = list(envoy_admins or [])
        self.store = request_store or RequestStore()
        self.tests_file = tests_file or Path("meshctl-tests.yaml")
        self.watch_files = watch
        self.model: ConsoleModel | None = None
        self._plugins: Any = None
        self.model_updates = 0
        self.last_apply: AppliedEdit | None = None
        self.drafts: dict[str, str] = {}
        self.last_explanation: Any = None
        self._engine: tuple[int, Sandbox] | None = None  # (model version, sandbox engine)
        self.console_themes: dict[str, ConsoleTheme] = load_themes(theme_dirs or [])
        self._initial_theme = theme
        self._keymap = validate_keymap(keymap or {})
        self._unsubscribe: Any = None
        self._main_thread = threading.get_ident()
        self.startup = startup  # runs in the loading worker before the first load (e.g. the demo environment)
        self.startup_note = startup_note

    # -- lifecycle -------------------------------------------------------------------------------------
    def get_theme_variable_defaults(self) -> dict[str, str]:
        # every theme (also Textual's own) must define our semantic variables for app.tcss to parse
        return {**super().get_theme_variable_defaults(), **SemanticColors().css_variables()}

    def on_mount(self) -> None:
        for t in self.console_themes.values():
            self.register_theme(t.textual_theme())
        self.theme = self._initial_theme if self._initial_theme in self.available_themes else "dark"
        self.set_keymap(self._keymap)
        self.theme_changed_signal.subscribe(self, lambda _theme: self._recolor())

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(id="main")

    def main_ready(self) -> None:
        self.call_after_refresh(lambda: self.main_query(RouteTree).focus())
        self._recolor()
        self.header.update_state(read_only=self.read_only, xds_note=self.xds_note, busy="loading configuration…",
                                 sources=self.workspace.describe_sources())
        self.set_interval(1.0, self._tick)
        self._load()

    def on_unmount(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.workspace.stop()

    @work(thread=True, exclusive=True, group="load")
    def _load(self) -> None:
        if self.startup is not None:
            self.call_from_thread(self.header.update_state, busy=self.startup_note or "starting…")
            try:
                attached = self.startup()
            except Exception as exc:  # keep the console usable: files still load, say what failed
                attached = Attachments(xds_note=f"startup failed: {exc}")
            self.call_from_thread(self._attach, attached)
        if self.workspace.version == 0:
            self.workspace.load()
        self._unsubscribe = self.workspace.subscribe(self._workspace_changed)
        if self.watch_files:
            self.workspace.start()
        self._compute_model()

    def _attach(self, attached: Attachments) -> None:
        self.xds = attached.xds or self.xds
        self.xds_note = attached.xds_note or self.xds_note
        if attached.failover is not None:
            self.failover = attached.failover
        if attached.envoy_admins:
            self.envoy_admins = list(attached.envoy_admins)
            self.main_query(FailoverPane).attach_envoys(self.envoy_admins)
        self.main_query(FailoverPane).sync_controls()
        self.header.update_state(xds_note=self.xds_note)

    def _workspace_changed(self, _ws: Workspace) -> None:
        """Called by the workspace from its own threads (watchers, timers) or from a worker."""
        if threading.get_ident() == self._main_thread:
            self.schedule_model()
        else:
            self.call_from_thread(self.schedule_model)

    def schedule_model(self) -> None:
        self.header.update_state(busy="reloading…")
        self._build_model()

    @work(thread=True, exclusive=True, group="model")
    def _build_model(self) -> None:
        self._compute_model()

    def _compute_model(self) -> None:
        ws = self.workspace
        snapshot, version = ws.snapshot, ws.version
        view = ws.derived("routing-view", build_routing_view)  # the key meshctl.xds.service shares
        model = build_model(snapshot, version, view, ws.describe_sources())
        self.call_from_thread(self._apply_model, model)

    def _apply_model(self, model: ConsoleModel) -> None:
        if self.model is not None and model.version < self.model.version:
            return  # an older build finished late
        # A 10k-route model is millions of long-lived objects: a full cyclic-GC pass over them stalls the UI
        # for ~0.5 s every few seconds while typing, so everything alive is frozen out of the collector after
        # each model. The previous model holds no cycles and the tree drops its references to it, so it is
        # freed by reference counting; what stays frozen is small cyclic UI garbage (old tree node shells).
        gc.unfreeze()
        self._engine = None  # the sandbox engine of the previous model
        first = self.model is None
        self.model = model
        routes = self.main_query(RoutesPane)
        routes.show_model(model)
        # still on the tab bar (Textual's Tabs) or nowhere: the tree takes focus once there is one
        if first and isinstance(self.screen, MainScreen) and (self.focused is None or isinstance(self.focused, Tabs)):
            routes.tree.focus()
        self.main_query(DiagnosticsPane).show_model(model)
        self.main_query(FailoverPane).show_model(model)
        total = sum(len(v.routes) for g in model.view.gateways for v in g.virtual_hosts)
        self.header.update_state(sources=model.sources, routes=total, busy="")
        if self.last_explanation is not None:
            self._rematch()
        self.model_updates += 1
        gc.freeze()
        if not first:
            trim_freed_memory()  # the previous model was just freed (reference counting)

    def reload_sources_blocking(self) -> None:
        """Re-read changed files now (instead of waiting for the watcher) and rebuild; call from a worker."""
        def poll_now(source: Any) -> None:
            if isinstance(source, FileSource):
                source.poll(settle=False)  # the operator asked: now
        self.workspace.reload(poll_now)  # one rebuild, one model build (not one more per source notification)

    def reload_sources_blocking_all(self) -> None:
        """Re-read every source, changed or not, and rebuild (blocking; from a worker)."""
        self.workspace.reload()

    def _tick(self) -> None:
        try:
            header = self.header
        except (NoMatches, LookupError):
            return  # the timer can fire while the app tears the main screen down on exit
        header.update_state(sources=self.workspace.describe_sources())

    # -- theming -----------------------------------------------------------------------------------------
    @property
    def semantic(self) -> SemanticColors:
        return semantic_for(self.current_theme, self.console_themes)

    def _recolor(self) -> None:
        colors = self.semantic
        try:
            screen = self.get_screen_main()
        except Exception:
            return
        themed: tuple[type[SourcesHeader | RouteTree | DiagnosticsPane | XdsPane | FailoverPane], ...] = (
            SourcesHeader, RouteTree, DiagnosticsPane, XdsPane, FailoverPane)
        for kind in themed:  # the widgets that colour their own text from the semantic palette
            for widget in screen.query(kind):
                widget.semantic = colors
        if self.model is not None:
            self.main_query(RoutesPane).show_model(self.model)
            self.main_query(DiagnosticsPane).show_model(self.model)
        self.header.update_state()

    def get_screen_main(self) -> MainScreen:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        raise LookupError("main screen not mounted")

    def set_console_theme(self, name: str) -> bool:
        if name not in self.available_themes:
            self.notify(f"unknown theme {name!r}; known: {', '.join(sorted(self.available_themes))}",
                        severity="error")
            return False
        self.theme = name
        return True

    def action_next_theme(self) -> None:
        names = sorted(self.console_themes)
        current = names.index(self.theme) if self.theme in names else -1
        self.set_console_theme(names[(current + 1) % len(names)])

    # -- navigation ----------------------------------------------------------------------------------------
    def main_query(self, *args: Any, **kwargs: Any) -> Any:
        """query_one on the main screen (panes live there even when a detail/editor screen is on top)."""
        return self.get_screen_main().query_one(*args, **kwargs)

    @property
    def header(self) -> SourcesHeader:
        return self.main_query(SourcesHeader)

    def action_show_tab(self, tab: str) -> None:
        while not isinstance(self.screen, MainScreen):
            self.pop_screen()
        self.main_query(TabbedContent).active = tab
        self.focus_active_pane()

    PANE_FOCUS = {"routes": "#route-tree", "diagnostics": "#diag-table", "xds": "#xds-table", "failover": "#vd-list"}

    def focus_active_pane(self) -> None:
        """Put focus on the main widget of the visible tab (after a command, a tab switch)."""
        try:
            tab = self.main_query(TabbedContent).active
            self.main_query(self.PANE_FOCUS.get(tab, "#route-tree")).focus()
        except LookupError:
            pass

    def _leave_command_line(self) -> None:
        if isinstance(self.focused, CommandLine):
            self.focus_active_pane()

    def action_help(self) -> None:
        self.push_screen(HelpScreen(binding_rows(self.screen), type(self.screen).__name__))

    def action_command_line(self) -> None:
        if isinstance(self.screen, MainScreen):
            self.main_query(CommandLine).open()

    def selected_route(self) -> RouteData | None:
        return self.main_query(RouteTree).selected_route()

    def start_filter(self) -> None:
        self.action_show_tab("routes")
        self.main_query(RoutesPane).action_filter()

    def toggle_order(self) -> None:
        self.main_query(RoutesPane).action_toggle_order()

    # -- plugins ------------------------------------------------------------------------------------------
    def plugin_registry(self) -> Any:
        """Plugins found once per session (entry points, plugins/ dirs, shell plugins)."""
        if self._plugins is None:
            from ..extend.discovery import discover

            self._plugins = discover()
        return self._plugins

    def plugin_context(self) -> dict[str, str]:
        """What the operator has selected, for plugin commands (as k9s passes its context)."""
        context: dict[str, str] = {}
        pane = self.main_query(RoutesPane)
        if pane.tree.gateway:
            context["gateway"] = pane.tree.gateway
        selected = self.selected_route()
        if selected is not None:
            context.update(virtual_host=selected.vhost, route=selected.route_id)
            owner = selected.route_id.rsplit(" > ", 1)[-1].split("#", 1)[0]
            context["route_owner"] = owner
        if self.xds is not None and getattr(self.xds, "address", None):
            context["xds_address"] = str(self.xds.address)
        return context

    def open_plugin(self, name: str) -> None:
        from .screens.plugin import PluginScreen

        cmd = self.plugin_registry().commands.get(name)
        if cmd is None or self.model is None:
            self.notify(f"no plugin command {name!r}", severity="error")
            return
        self.push_screen(PluginScreen(cmd, self.model.snapshot, self.plugin_context(), self.read_only))

    def show_gateway(self, name: str) -> bool:
        self.action_show_tab("routes")
        return bool(self.main_query(RoutesPane).select_gateway(name))

    def reveal_route(self, gateway: str, vhost: str, route_id: str) -> bool:
        pane = self.main_query(RoutesPane)
        tree = pane.tree
        if tree.gateway != gateway:
            pane.select_gateway(gateway)
        if not tree.reveal(gateway, vhost, route_id) and tree.query.strip():
            pane.action_clear_filter()
            return tree.reveal(gateway, vhost, route_id)
        return True

    # -- detail & editor -------------------------------------------------------------------------------------
    @on(OpenDetail)
    def _open_detail(self, event: OpenDetail) -> None:
        self.open_detail(event.route)

    def open_detail(self, data: RouteData) -> None:
        if self.model is not None and self.model.route(*data.key) is not None:
            self.push_screen(RouteDetailScreen(self.model, data.gateway, data.vhost, data.route_id))

    @on(EditRoute)
    def _edit_route(self, event: EditRoute) -> None:
        self.edit_selected(event.route)

    def edit_selected(self, data: RouteData | None = None) -> None:
        data = data or self.selected_route()
        route = self.model.route(*data.key) if data is not None and self.model is not None else None
        if route is None:
            self.notify("select a route first", severity="warning")
            return
        self.open_editor(route.owner, route.chain[-1].route_path)

    def open_editor(self, resource: Resource, path: tuple[Any, ...] = ()) -> None:
        if resource.doc is None:
            self.notify(f"{resource.display} has no file to edit", severity="warning")
            return
        file = resource.doc.file
        if not Path(file).is_file():
            self.notify(f"{file} is not a file on disk", severity="warning")
            return
        span = node_span(resource, path)
        text = self.drafts.get(file, resource.doc.source.text)
        self.push_screen(EditorScreen(file, text, span[0] if span else None))

    def undo_last_apply(self) -> None:
        if isinstance(self.screen, EditorScreen):
            self.screen.action_undo_apply()
        elif self.last_apply is not None:
            self.open_editor_path(self.last_apply.path)

    def open_editor_path(self, file: str) -> None:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            self.notify(f"cannot read {file}: {exc.strerror}", severity="error")
            return
        self.push_screen(EditorScreen(file, self.drafts.get(file, text)))

    # -- sandbox ---------------------------------------------------------------------------------------------
    def open_sandbox(self) -> SandboxDrawer:
        self.action_show_tab("routes")
        drawer = self.main_query(RoutesPane).open_sandbox()
        drawer.query_one("#sb-url").focus()
        return drawer

    @on(SendRequest)
    def _sandbox_send(self, event: SendRequest) -> None:
        self.run_sandbox(event.request)

    def run_sandbox(self, req: SandboxRequest) -> None:
        drawer = self.main_query(RoutesPane).open_sandbox()
        drawer.fill(req)
        model = self.model
        if model is None:
            drawer.show_result("configuration still loading…")
            return
        tree = self.main_query(RouteTree)
        try:
            ex = explain(model.view, model.snapshot, tree.gateway, req, self._default_authority(), self.engine())
            if ex.outcome.virtual_host is None:
                other = explain(model.view, model.snapshot, None, req, self._default_authority(), self.engine())
                ex = other if other.outcome.virtual_host is not None else ex
        except RequestError as exc:
            drawer.show_result(f"✗ {exc}")
            return
        self.last_explanation = (req, ex)
        self.store.remember(req)
        drawer.show_history(self.store.recent, self.store.saved)
        drawer.show_result(render_explanation(ex, self.semantic))
        self._highlight(ex)

    def _highlight(self, ex: Any) -> None:
        tree = self.main_query(RouteTree)
        route = ex.outcome.route
        if route is None or ex.outcome.virtual_host is None:
            tree.set_matched(None)
            return
        key = (ex.gateway, ex.outcome.virtual_host, route.id)
        if tree.gateway != ex.gateway:
            self.main_query(RoutesPane).select_gateway(ex.gateway)
        tree.matched = key
        self.reveal_route(*key)
        tree.relabel([key])

    def _rematch(self) -> None:
        """After a reload, the last tested request is matched again (its route may have moved)."""
        req, _ = self.last_explanation
        model = self.model
        if model is None:
            return
        try:
            ex = explain(model.view, model.snapshot, None, req, self._default_authority(), self.engine())
        except RequestError:
            return
        self.last_explanation = (req, ex)
        self.main_query(SandboxDrawer).show_result(render_explanation(ex, self.semantic))
        self._highlight(ex)

    def engine(self) -> Sandbox:
        """The sandbox engine of the current model (built on first use, reused for every request)."""
        model = self.model
        if model is None:
            raise RequestError("configuration still loading")
        if self._engine is None or self._engine[0] != model.version:
            self._engine = (model.version, make_engine(model.view, model.snapshot))
        return self._engine[1]

    def _default_authority(self) -> str:
        model = self.model
        tree = self.main_query(RouteTree)
        g = model.gateway(tree.gateway) if model else None
        for v in g.virtual_hosts if g else []:
            for d in v.domains:
                if "*" not in d:
                    return d
        return ""

    @on(SaveRequest)
    def _sandbox_save(self, event: SaveRequest) -> None:
        self._save_request(event.request, event.as_test)

    @work(thread=True, exclusive=True, group="save-request")
    def _save_request(self, req: SandboxRequest, as_test: bool) -> None:
        try:
            if as_test:
                model = self.model
                if model is None:
                    raise RequestError("configuration still loading")
                ex = explain(model.view, model.snapshot, None, req, self._default_authority(), self.engine())
                name = f"{req.method} {req.url}"
                count = append_test_case(self.tests_file, test_case(ex, name))
                message = f"test case saved to {self.tests_file} ({count} case(s))"
            else:
                self.store.save(req)
                message = "request saved"
        except (RequestError, OSError, ValueError) as exc:
            self.call_from_thread(self.notify, f"not saved: {exc}", severity="error")
            return
        self.call_from_thread(self.notify, message)
        self.call_from_thread(self.main_query(SandboxDrawer).show_history, self.store.recent, self.store.saved)

    def test_route_sample(self, gateway: str, vhost: str, route: FlattenedRoute, witness: str | None) -> None:
        import shlex

        from ..routing.shadow import witness_for

        model = self.model
        vh = model.vhost(gateway, vhost) if model else None
        authority = next((d for d in (vh.domains if vh else []) if "*" not in d), "example.com")
        if witness:
            try:
                req = parse_command(shlex.split(witness))
            except (RequestError, ValueError):
                req = None
        else:
            sample = witness_for(route.matchers[0], authority) if route.matchers else None
            req = SandboxRequest(sample.method, sample.path, dict(sample.headers)) if sample else None
        if req is None:
            self.notify("no sample request for this route", severity="warning")
            return
        if req.url.startswith("/"):
            req.url = f"http://{authority}{req.url}"
        self.run_sandbox(req)

    # -- diagnostics -----------------------------------------------------------------------------------------
    @on(JumpToFinding)
    def _jump(self, event: JumpToFinding) -> None:
        self.jump_to_finding(event.finding)

    def jump_to_finding(self, f: Finding) -> None:
        model = self.model
        if model is None:
            return
        if f.routes:
            where = model.locate_route(f.routes[0])
            if where is not None:
                self.action_show_tab("routes")
                if self.reveal_route(where[0], where[1], f.routes[0]):
                    return
        if f.file and Path(f.file).is_file():
            line = (f.line or 1) - 1
            text = self.drafts.get(f.file) or Path(f.file).read_text(encoding="utf-8")
            self.push_screen(EditorScreen(f.file, text, line))
        else:
            self.notify("this finding points at no route or file", severity="warning")

    # -- xDS -------------------------------------------------------------------------------------------------
    def push_xds(self) -> None:
        if self.xds is None or self.read_only:
            return
        self._push()

    @work(thread=True, exclusive=True, group="xds-push")
    def _push(self) -> None:
        assert self.xds is not None
        result = self.xds.push()
        self.call_from_thread(self.notify, result.message, severity="information" if result.ok else "error")

    # -- command line ------------------------------------------------------------------------------------------
    @on(RunCommand)
    def _command(self, event: RunCommand) -> None:
        self.run_command(event.command)

    def run_command(self, cmd: ParsedCommand) -> None:
        self.call_after_refresh(self._leave_command_line)
        self.run_verb(cmd.verb, cmd.args)

    # -- verbs (meshctl.verbs: one table drives keys, the `:` line and the palette) ---------------------------
    def run_verb(self, verb: Verb, args: Sequence[str] = ()) -> None:
        """Run a console verb on the widget of its scope; the words typed after it go to the action as one list
        (Textual passes an action only as many arguments as its method names, so no *args)."""
        assert isinstance(verb.handler, str), f"{verb.id} is not a console verb"
        action = verb.handler
        if args:
            action = f"{action}({list(args)!r})"
        target = self.screen if verb.scope == "editor" else self
        self.call_later(self.run_action, action, target)

    def verb_available(self, verb: Verb, screen: Screen[Any] | None = None) -> bool:
        """Whether every condition the verb names holds on `screen` (default: the current one; the palette passes
        the screen it was opened from)."""
        screen = screen or self.screen
        on_main = isinstance(screen, MainScreen)
        holds = {
            "main": on_main,
            "model": self.model is not None,
            "selected": on_main and self.model is not None and self.selected_route() is not None,
            "writable": not self.read_only,
            "xds-push": self.xds is not None and self.xds.can_push,
            "editor": isinstance(screen, EditorScreen),
            "last-apply": self.last_apply is not None,
        }
        return all(holds[c] for c in verb.when)

    @staticmethod
    def is_main_screen(screen: Screen[Any]) -> bool:
        return isinstance(screen, MainScreen)

    def action_goto_gateway(self, args: Sequence[str] = ()) -> None:
        name = args[0] if args else ""
        if name:
            if not self.show_gateway(name):
                known = ", ".join(g.name for g in self.model.view.gateways) if self.model else ""
                self.notify(f"no gateway {name} (known: {known})", severity="error")
        else:
            self.action_show_tab("routes")
            self.main_query("#gateways").focus()

    def action_filter_routes(self, words: Sequence[str] = ()) -> None:
        self.action_show_tab("routes")
        pane = self.main_query(RoutesPane)
        pane.action_filter()
        pane.query_one("#filter").value = " ".join(words)

    def action_open_sandbox(self) -> None:
        self.open_sandbox()

    def action_test_request(self, args: Sequence[str] = ()) -> None:
        try:
            req = parse_command(list(args))
        except RequestError as exc:
            self.notify(str(exc), severity="error")
            return
        self.action_show_tab("routes")
        self.run_sandbox(req)

    def action_use_theme(self, args: Sequence[str] = ()) -> None:
        name = args[0] if args else ""
        if not name:
            self.notify("themes: " + ", ".join(sorted(self.available_themes)))
        else:
            self.set_console_theme(name)

    def action_toggle_order(self) -> None:
        self.toggle_order()

    def action_open_selected_detail(self) -> None:
        selected = self.selected_route()
        if selected is not None:
            self.open_detail(selected)

    def action_edit_selected(self) -> None:
        self.edit_selected()

    def action_push_xds(self) -> None:
        self.push_xds()

    def action_undo_last_apply(self) -> None:
        self.undo_last_apply()

    def action_open_plugin(self, name: str) -> None:
        self.open_plugin(name)
