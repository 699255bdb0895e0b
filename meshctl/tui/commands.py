"""Command palette providers, one per domain, with commands named `area: Verb` that depend on context
(the screen you are on, whether a route is selected, read-only, an xDS server attached)."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable, Iterator

from textual.command import DiscoveryHit, Hit, Hits, Provider

Command = tuple[str, Callable[[], Any], str]  # (name, callback, help)


class _DomainProvider(Provider):
    """Subclasses list their commands for the current context; search and discovery are shared."""

    def commands(self) -> Iterator[Command]:
        return iter(())

    def _app(self) -> Any:
        return self.app

    def _on_main(self) -> bool:
        return type(self.screen).__name__ == "MainScreen"

    async def discover(self) -> Hits:
        for name, callback, help_text in self.commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


class RoutesCommands(_DomainProvider):
    def commands(self) -> Iterator[Command]:
        app = self._app()
        if not self._on_main() or app.model is None:
            return
        yield ("routes: Show route tree", partial(app.action_show_tab, "routes"), "the merged route tree")
        yield ("routes: Filter", app.start_filter, "filter by path, name, destination or label")
        yield ("routes: Toggle Envoy order", app.toggle_order, "as written (nested) or flat Envoy order")
        for g in app.model.view.gateways:
            yield (f"gateway: Show {g.name}", partial(app.show_gateway, g.name), f"{len(g.virtual_hosts)} virtual host(s)")
        selected = app.selected_route()
        if selected is not None:
            yield ("routes: Open detail", partial(app.open_detail, selected), selected.route_id)
            if not app.read_only:
                yield ("edit: Edit route's resource", partial(app.edit_selected), selected.route_id)


class SandboxCommands(_DomainProvider):
    def commands(self) -> Iterator[Command]:
        app = self._app()
        if not self._on_main() or app.model is None:
            return
        yield ("sandbox: Test a request", app.open_sandbox, "method, URL, headers, client locality")
        for req in app.store.saved[:20]:
            yield (f"sandbox: Replay {req.label()}", partial(app.run_sandbox, req), "saved request")


class EditorCommands(_DomainProvider):
    def commands(self) -> Iterator[Command]:
        app = self._app()
        screen = self.screen
        if type(screen).__name__ == "EditorScreen" and not app.read_only:
            yield ("editor: Preview and apply", screen.action_preview_apply, "tree diff and changed requests first")
            yield ("editor: Next error", screen.action_next_error, "")
        if app.last_apply is not None and not app.read_only:
            yield ("editor: Undo last apply", app.undo_last_apply, app.last_apply.path)


class XdsCommands(_DomainProvider):
    def commands(self) -> Iterator[Command]:
        app = self._app()
        if not self._on_main():
            return
        yield ("xds: Show clients", partial(app.action_show_tab, "xds"),
               app.xds.address if app.xds is not None else "no xDS server attached")
        if app.xds is not None and app.xds.can_push and not app.read_only:
            yield ("xds: Push now", app.push_xds, "rebuild and push to every client")


class FailoverCommands(_DomainProvider):
    def commands(self) -> Iterator[Command]:
        app = self._app()
        if not self._on_main():
            return
        yield ("failover: Show endpoints by locality", partial(app.action_show_tab, "failover"), "")
        yield ("diagnostics: Show findings", partial(app.action_show_tab, "diagnostics"), "")


class ThemeCommands(_DomainProvider):
    def commands(self) -> Iterator[Command]:
        app = self._app()
        for name in sorted(app.console_themes):
            if name != app.theme:
                yield (f"theme: Use {name}", partial(app.set_console_theme, name), "")


class PluginCommands(_DomainProvider):
    """Every plugin command, as `plugin: NAME`; mutating ones are not offered in read-only mode."""

    def commands(self) -> Iterator[Command]:
        app = self._app()
        if not self._on_main() or app.model is None:
            return
        for cmd in sorted(app.plugin_registry().commands.values(), key=lambda c: c.name):
            if cmd.mutating and app.read_only:
                continue
            yield (f"plugin: {cmd.name}", partial(app.open_plugin, cmd.name), cmd.help)


PROVIDERS = (RoutesCommands, SandboxCommands, EditorCommands, XdsCommands, FailoverCommands, ThemeCommands,
             PluginCommands)
