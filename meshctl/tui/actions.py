"""The console's rows of the verb table (meshctl.verbs): key bindings, `:` words and palette entries, as data.

Widgets take their BINDINGS from `bindings(scope)`; a user keymap (`{"tree.filter": "f3"}`) overrides keys by
id through Textual's keymap. The `:` command line and the palette read the same rows. Destructive verbs never sit
on a bare letter, by default or by override.
"""

from __future__ import annotations

from textual.binding import Binding

from ..extend.registry import PluginRegistry
from ..verbs import VERBS, Verb

# kept for callers that knew the console's row type by this name
ActionSpec = Verb


class KeymapError(Exception):
    """A keymap names an unknown action or puts a destructive action on a bare key."""


def _v(verb_id: str, keys: str, action: str, title: str, *, words: tuple[str, ...] = (), usage: str = "",
       palette: str = "", when: tuple[str, ...] = (), **flags: bool) -> Verb:
    return Verb(verb_id, title, action, keys, words, usage, palette, frozenset(when), **flags)


ACTIONS: tuple[Verb, ...] = (
    # app-wide; the `:` command line's words and the palette's entries sit on the same rows
    _v("app.quit", "ctrl+q", "quit", "Quit", words=("q", "quit", "q!", "exit"), priority=True),
    _v("app.help", "question_mark", "help", "Help", words=("help",)),
    _v("app.command_line", "colon", "command_line", "Command"),
    _v("app.palette", "ctrl+p", "command_palette", "Palette", show=False),
    _v("app.routes", "1", "show_tab('routes')", "Routes", words=("routes", "route", "r"), show=False,
       palette="routes: Show route tree", when=("main", "model")),
    _v("app.diagnostics", "2", "show_tab('diagnostics')", "Diagnostics", words=("diag", "diagnostics", "lint"),
       show=False, palette="diagnostics: Show findings", when=("main",)),
    _v("app.xds", "3", "show_tab('xds')", "xDS", words=("xds",), show=False, palette="xds: Show clients",
       when=("main",)),
    _v("app.failover", "4", "show_tab('failover')", "Failover", words=("failover", "fo"), show=False,
       palette="failover: Show endpoints by locality", when=("main",)),
    _v("app.workspaces", "", "show_workspaces", "Gloo v2 workspaces: ownership, exports, imports",
       words=("workspaces", "ws"), palette="workspaces: Show ownership and visibility", when=("main", "model")),
    _v("app.next_theme", "f8", "next_theme", "Theme", show=False),
    _v("app.theme", "", "use_theme", "switch theme", words=("theme",), usage="NAME"),
    _v("app.gateway", "", "goto_gateway", "show a gateway's route tree", words=("gw", "gateway", "gateways"),
       usage="[NS/NAME]"),
    _v("app.filter", "", "filter_routes", "filter the route tree", words=("filter",), usage="TEXT",
       palette="routes: Filter", when=("main", "model")),
    _v("app.order", "", "toggle_order", "as written (nested) or flat Envoy order",
       palette="routes: Toggle Envoy order", when=("main", "model")),
    _v("app.detail", "", "open_selected_detail", "the selected route's detail", palette="routes: Open detail",
       when=("main", "model", "selected")),
    _v("app.edit", "", "edit_selected", "edit the selected route's resource", words=("edit", "e"),
       palette="edit: Edit route's resource", when=("main", "model", "selected", "writable")),
    _v("app.test", "", "test_request", "test a request", words=("test", "t"),
       usage="[METHOD] URL [-H 'k: v'] [@region/zone]"),
    _v("app.sandbox", "", "open_sandbox", "method, URL, headers, client locality",
       palette="sandbox: Test a request", when=("main", "model")),
    _v("app.push_xds", "", "push_xds", "rebuild and push to every client", palette="xds: Push now",
       when=("main", "xds-push", "writable")),
    _v("app.undo_apply", "", "undo_last_apply", "reopen the last applied file", palette="editor: Undo last apply",
       when=("last-apply", "writable")),
    # route tree (main screen, routes tab)
    _v("tree.filter", "slash", "filter", "Filter"),
    _v("tree.clear_filter", "escape", "clear_filter", "Clear filter", show=False),
    _v("tree.detail", "enter", "open_detail", "Detail"),
    _v("tree.edit", "e", "edit_route", "Edit"),
    _v("tree.sandbox", "t", "toggle_sandbox", "Test request"),
    _v("tree.order", "o", "toggle_order", "Envoy order"),
    _v("tree.expand_all", "plus", "expand_all", "Expand all", show=False),
    _v("tree.collapse_all", "minus", "collapse_all", "Collapse all", show=False),
    _v("tree.next_gateway", "g", "next_gateway", "Next gateway", show=False),
    # sandbox drawer
    _v("sandbox.send", "ctrl+t", "send", "Send request"),
    _v("sandbox.save", "ctrl+b", "save_request", "Save request"),
    _v("sandbox.save_test", "ctrl+g", "save_test", "Save as test case"),
    _v("sandbox.close", "escape", "close", "Close", show=False),
    # route detail
    _v("detail.back", "escape", "back", "Back"),
    _v("detail.edit", "e", "edit", "Edit"),
    _v("detail.test", "t", "test_witness", "Test a witness"),
    # editor
    _v("editor.apply", "ctrl+s", "preview_apply", "Preview & apply", destructive=True, priority=True,
       palette="editor: Preview and apply", when=("editor", "writable")),
    _v("editor.undo_apply", "ctrl+r", "undo_apply", "Undo last apply", destructive=True, priority=True),
    _v("editor.next_error", "f2", "next_error", "Next error", palette="editor: Next error", when=("editor",)),
    _v("editor.back", "escape", "back", "Back"),
    # apply preview
    _v("preview.confirm", "ctrl+s", "confirm", "Apply", destructive=True, priority=True),
    _v("preview.cancel", "escape", "cancel", "Cancel"),
    # diagnostics
    _v("diagnostics.jump", "enter", "jump", "Go to route"),
    # xDS
    _v("xds.refresh", "r", "refresh", "Refresh"),
    _v("xds.verify", "v", "verify", "Verify proxies", show=False),  # meshctl verify per gateway Envoy
    # failover
    _v("failover.trigger", "ctrl+f", "trigger", "Trigger failover", destructive=True),
    _v("failover.restore", "ctrl+o", "restore", "Restore", destructive=True),
    # confirmation dialogs
    _v("confirm.yes", "ctrl+y", "yes", "Confirm", destructive=True),
    _v("confirm.no", "escape", "no", "Cancel"),
)

for _verb in ACTIONS:
    if VERBS.get(_verb.id) is None:  # a re-import (tests reloading modules) must not fail
        VERBS.add(_verb)


def add_plugin_verbs(registry: PluginRegistry) -> None:
    """Plugins add rows: each command becomes `plugin: NAME` in the palette (not offered read-only when it
    changes things). The rows of an earlier discovery go first: the table holds this session's plugins."""
    for old in VERBS.rows("plugin"):
        VERBS.remove(old.id)
    for cmd in registry.commands.values():
        when = ("main", "model", "writable") if cmd.mutating else ("main", "model")
        VERBS.add(Verb(f"plugin.{cmd.name}", cmd.help, f"open_plugin({cmd.name!r})", palette=f"plugin: {cmd.name}",
                       when=frozenset(when), plugin=cmd.plugin), replace=True)


def console_verbs() -> list[Verb]:
    """Every console row: the built-in ones above and those plugins added."""
    return VERBS.rows(repl=False)


def _is_bare(key: str) -> bool:
    """A key without ctrl/alt (shift+letter is still a letter someone types): not for destructive actions."""
    key = key.strip()
    return not any(key.startswith(m) for m in ("ctrl+", "alt+", "meta+", "super+")) and not (
        key.startswith("f") and key[1:].isdigit())


def _keys(text: str) -> list[str]:
    return [k.strip() for k in text.split(",") if k.strip()]


def bindings(scope: str) -> list[Binding]:
    """The Textual bindings of one scope (the rows with keys), each carrying its id (for keymaps and help)."""
    return [Binding(v.keys, v.handler, v.title, show=v.show, priority=v.priority, id=v.id)
            for v in VERBS.rows(scope, repl=False) if v.keys and isinstance(v.handler, str)]


def validate_keymap(keymap: dict[str, str]) -> dict[str, str]:
    """Check a user keymap (action id → keys); raise KeymapError with every problem at once."""
    problems: list[str] = []
    for action_id, keys in keymap.items():
        spec = VERBS.get(action_id)
        if spec is None or spec.in_repl:
            problems.append(f"unknown action id {action_id!r}")
            continue
        if not isinstance(keys, str) or not _keys(keys):
            problems.append(f"{action_id}: keys must be a non-empty string like 'ctrl+s' or 'f5,ctrl+s'")
            continue
        if spec.destructive:
            bare = [k for k in _keys(keys) if _is_bare(k)]
            if bare:
                problems.append(f"{action_id} is destructive: bind it to ctrl/alt or a function key, "
                                f"not {', '.join(bare)}")
    if problems:
        raise KeymapError("; ".join(problems))
    return dict(keymap)


def check_defaults() -> list[str]:
    """Defaults must follow the same rules as user keymaps (a test keeps it so)."""
    out = []
    for a in console_verbs():
        if a.destructive and any(_is_bare(k) for k in _keys(a.keys)):
            out.append(a.id)
    return out
