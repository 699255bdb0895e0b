"""Command palette providers, one per domain. Their fixed entries are the palette rows of the verb table
(meshctl.verbs: `area: Verb`, offered when the conditions the row names hold); the providers add what depends on
the data (one entry per gateway, saved request, theme)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Iterator, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .actions import add_plugin_verbs, console_verbs

if TYPE_CHECKING:
    from .app import MeshctlApp

Command = tuple[str, Callable[[], Any], str]  # (name, callback, help)


class _DomainProvider(Provider):
    """Subclasses list their commands for the current context; search and discovery are shared."""

    areas: tuple[str, ...] = ()  # the palette rows of the verb table this provider offers, by area

    @property
    def console(self) -> MeshctlApp:
        return cast("MeshctlApp", self.app)

    def verbs(self) -> Iterator[Command]:
        app = self.console
        for verb in console_verbs():
            if verb.palette.split(":", 1)[0] in self.areas and app.verb_available(verb, self.screen):
                yield (verb.palette, partial(app.run_verb, verb), verb.title)

    def commands(self) -> Iterator[Command]:
        return self.verbs()

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
    areas = ("routes", "edit")

    def commands(self) -> Iterator[Command]:
        yield from self.verbs()
        app = self.console
        if app.model is not None and app.is_main_screen(self.screen):
            for g in app.model.view.gateways:
                yield (f"gateway: Show {g.name}", partial(app.show_gateway, g.name),
                       f"{len(g.virtual_hosts)} virtual host(s)")


class SandboxCommands(_DomainProvider):
    areas = ("sandbox",)

    def commands(self) -> Iterator[Command]:
        yield from self.verbs()
        app = self.console
        if app.model is not None and app.is_main_screen(self.screen):
            for req in app.store.saved[:20]:
                yield (f"sandbox: Replay {req.label()}", partial(app.run_sandbox, req), "saved request")


class EditorCommands(_DomainProvider):
    areas = ("editor",)


class XdsCommands(_DomainProvider):
    areas = ("xds",)


class FailoverCommands(_DomainProvider):
    areas = ("failover", "diagnostics")


class ThemeCommands(_DomainProvider):
    def commands(self) -> Iterator[Command]:
        app = self.console
        for name in sorted(app.console_themes):
            if name != app.theme:
                yield (f"theme: Use {name}", partial(app.set_console_theme, name), "")


class PluginCommands(_DomainProvider):
    """Every plugin command, as `plugin: NAME` (rows plugins add to the verb table); mutating ones are not offered
    in read-only mode."""

    areas = ("plugin",)

    def commands(self) -> Iterator[Command]:
        add_plugin_verbs(self.console.plugin_registry())  # the rows of this session's plugins
        return iter(sorted(self.verbs(), key=lambda c: c[0]))


PROVIDERS = (RoutesCommands, SandboxCommands, EditorCommands, XdsCommands, FailoverCommands, ThemeCommands,
             PluginCommands)
