"""Every key binding of the console as data: dotted action ids → (scope, default keys, Textual action, text).

Widgets take their BINDINGS from `bindings(scope)`; a user keymap (`{"tree.filter": "f3"}`) overrides keys by
id through Textual's keymap. Destructive actions never sit on a bare letter, by default or by override.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


class KeymapError(Exception):
    """A keymap names an unknown action or puts a destructive action on a bare key."""


@dataclass(frozen=True)
class ActionSpec:
    id: str  # "scope.verb", stable: keymaps refer to it
    keys: str  # Textual key names, comma-separated
    action: str  # Textual action string run on the widget/screen of the scope
    description: str
    show: bool = True  # in the footer
    priority: bool = False
    destructive: bool = False  # changes files, pushes config or moves traffic

    @property
    def scope(self) -> str:
        return self.id.split(".", 1)[0]


ACTIONS: tuple[ActionSpec, ...] = (
    # app-wide
    ActionSpec("app.quit", "ctrl+q", "quit", "Quit", priority=True),
    ActionSpec("app.help", "question_mark", "help", "Help"),
    ActionSpec("app.command_line", "colon", "command_line", "Command"),
    ActionSpec("app.palette", "ctrl+p", "command_palette", "Palette", show=False),
    ActionSpec("app.routes", "1", "show_tab('routes')", "Routes", show=False),
    ActionSpec("app.diagnostics", "2", "show_tab('diagnostics')", "Diagnostics", show=False),
    ActionSpec("app.xds", "3", "show_tab('xds')", "xDS", show=False),
    ActionSpec("app.failover", "4", "show_tab('failover')", "Failover", show=False),
    ActionSpec("app.next_theme", "f8", "next_theme", "Theme", show=False),
    # route tree (main screen, routes tab)
    ActionSpec("tree.filter", "slash", "filter", "Filter"),
    ActionSpec("tree.clear_filter", "escape", "clear_filter", "Clear filter", show=False),
    ActionSpec("tree.detail", "enter", "open_detail", "Detail"),
    ActionSpec("tree.edit", "e", "edit_route", "Edit"),
    ActionSpec("tree.sandbox", "t", "toggle_sandbox", "Test request"),
    ActionSpec("tree.order", "o", "toggle_order", "Envoy order"),
    ActionSpec("tree.expand_all", "plus", "expand_all", "Expand all", show=False),
    ActionSpec("tree.collapse_all", "minus", "collapse_all", "Collapse all", show=False),
    ActionSpec("tree.next_gateway", "g", "next_gateway", "Next gateway", show=False),
    # sandbox drawer
    ActionSpec("sandbox.send", "ctrl+t", "send", "Send request"),
    ActionSpec("sandbox.save", "ctrl+b", "save_request", "Save request"),
    ActionSpec("sandbox.save_test", "ctrl+g", "save_test", "Save as test case"),
    ActionSpec("sandbox.close", "escape", "close", "Close", show=False),
    # route detail
    ActionSpec("detail.back", "escape", "back", "Back"),
    ActionSpec("detail.edit", "e", "edit", "Edit"),
    ActionSpec("detail.test", "t", "test_witness", "Test a witness"),
    # editor
    ActionSpec("editor.apply", "ctrl+s", "preview_apply", "Preview & apply", destructive=True, priority=True),
    ActionSpec("editor.undo_apply", "ctrl+r", "undo_apply", "Undo last apply", destructive=True, priority=True),
    ActionSpec("editor.next_error", "f2", "next_error", "Next error"),
    ActionSpec("editor.back", "escape", "back", "Back"),
    # apply preview
    ActionSpec("preview.confirm", "ctrl+s", "confirm", "Apply", destructive=True, priority=True),
    ActionSpec("preview.cancel", "escape", "cancel", "Cancel"),
    # diagnostics
    ActionSpec("diagnostics.jump", "enter", "jump", "Go to route"),
    # xDS
    ActionSpec("xds.refresh", "r", "refresh", "Refresh"),
    # failover
    ActionSpec("failover.trigger", "ctrl+f", "trigger", "Trigger failover", destructive=True),
    ActionSpec("failover.restore", "ctrl+o", "restore", "Restore", destructive=True),
    # confirmation dialogs
    ActionSpec("confirm.yes", "ctrl+y", "yes", "Confirm", destructive=True),
    ActionSpec("confirm.no", "escape", "no", "Cancel"),
)

BY_ID: dict[str, ActionSpec] = {a.id: a for a in ACTIONS}


def _is_bare(key: str) -> bool:
    """A key without ctrl/alt (shift+letter is still a letter someone types): not for destructive actions."""
    key = key.strip()
    return not any(key.startswith(m) for m in ("ctrl+", "alt+", "meta+", "super+")) and not (
        key.startswith("f") and key[1:].isdigit())


def _keys(text: str) -> list[str]:
    return [k.strip() for k in text.split(",") if k.strip()]


def bindings(scope: str) -> list[Binding]:
    """The Textual bindings of one scope, each carrying its action id (for keymaps and help)."""
    return [Binding(a.keys, a.action, a.description, show=a.show, priority=a.priority, id=a.id)
            for a in ACTIONS if a.scope == scope]


def validate_keymap(keymap: dict[str, str]) -> dict[str, str]:
    """Check a user keymap (action id → keys); raise KeymapError with every problem at once."""
    problems: list[str] = []
    for action_id, keys in keymap.items():
        spec = BY_ID.get(action_id)
        if spec is None:
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
    for a in ACTIONS:
        if a.destructive and any(_is_bare(k) for k in _keys(a.keys)):
            out.append(a.id)
    return out
