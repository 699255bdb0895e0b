"""The meshctl operator console (Textual): a thin layer over the workspace and the routing core.

Nothing here computes routing: the workspace yields snapshots, `state.ModelBuilder` derives the view in a
worker thread, and panes render it. Files, network and the xDS server are only touched from workers.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any, Callable

from textual import on, work
from textual.app import App
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import TabbedContent, Tabs

from ..model.findings import Finding
from ..model.resources import Resource
from ..routing.incremental import routing_view_of
from ..sandbox.engine import Sandbox
from ..sources.files import FileSource
from ..sources.workspace import ROUTING_VIEW_KEY, Workspace
from .actions import bindings, validate_keymap
from .app_sandbox import SandboxActions
from .app_verbs import VerbActions
from .commands import PROVIDERS
from .editing import AppliedEdit
from .integrations import Attachments, FailoverControl, XdsLink
from .memory import trim_freed_memory
from .messages import EditRoute, JumpToFinding, OpenDetail, RunCommand, SaveRequest, SendRequest
from .sandbox_adapter import (
    RequestStore,
)
from .screens.detail import RouteDetailScreen, node_span
from .screens.editor import EditorScreen
from .screens.help import HelpScreen, binding_rows
from .screens.main import MainScreen
from .state import ConsoleModel, ModelBuilder
from .themes import ConsoleTheme, SemanticColors, load_themes, semantic_for
from .widgets.command_line import CommandLine, ParsedCommand
from .widgets.diagnostics_pane import DiagnosticsPane
from .widgets.failover_pane import FailoverPane
from .widgets.header import SourcesHeader
from .widgets.route_tree import RouteData, RouteTree
from .widgets.routes_pane import RoutesPane
from .widgets.xds_pane import XdsPane

TABS = ("routes", "diagnostics", "xds", "failover")


class MeshctlApp(SandboxActions, VerbActions, App[None]):
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
        self._models = ModelBuilder()  # reuses what a change left as it was (console rows, validation)
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
        view = ws.derived(ROUTING_VIEW_KEY, routing_view_of(ws))  # shared with the xDS service; incremental
        model = self._models.build(snapshot, version, view, ws.describe_sources())
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
        first, previous = self.model is None, self.model
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
        if not first:  # freeing the previous model (~7 ms at 10k routes) waits until the new one is on screen
            self.call_after_refresh(self._release_model, [previous])
        del previous

    def _release_model(self, holder: list[ConsoleModel | None]) -> None:
        """Drop the last reference to a replaced model: reference counting frees it now (frozen or not)."""
        holder.clear()
        trim_freed_memory()  # hand the freed pages back

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

    def action_show_workspaces(self) -> None:
        from .screens.workspaces import WorkspacesScreen, workspaces_text

        if self.model is not None:
            self.push_screen(WorkspacesScreen(workspaces_text(self.model.snapshot)))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(binding_rows(self.screen), type(self.screen).__name__))

    def action_command_line(self) -> None:
        if isinstance(self.screen, MainScreen):
            self.main_query(CommandLine).open()

    def selected_route(self) -> RouteData | None:
        return self.main_query(RouteTree).selected_route()

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
        if not tree.reveal(gateway, vhost, route_id) and tree.filter_text.strip():
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
    @on(SendRequest)
    def _sandbox_send(self, event: SendRequest) -> None:
        self.run_sandbox(event.request)

    @on(SaveRequest)
    def _sandbox_save(self, event: SaveRequest) -> None:
        self._save_request(event.request, event.as_test)

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
