"""Running the console's rows of the verb table (meshctl.verbs): on the widget of their scope, with the words
typed after `:` as arguments, offered by the palette when their conditions hold."""

from __future__ import annotations

from typing import Any, Sequence

from textual.screen import Screen

from ..verbs import Verb
from .editing import AppliedEdit
from .integrations import XdsLink
from .sandbox_adapter import (
    RequestError,
    parse_command,
)
from .screens.editor import EditorScreen
from .screens.main import MainScreen
from .state import ConsoleModel
from .widgets.routes_pane import RoutesPane


class VerbActions:
    """MeshctlApp's verb half (a mixin: the app provides screens, model, xds and the other actions)."""

    model: ConsoleModel | None
    read_only: bool
    xds: XdsLink | None
    last_apply: AppliedEdit | None

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
