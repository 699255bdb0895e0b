"""Every verb the operator can use, in one table: id, title, keys, handler and where it applies.

The console's key bindings, its `:` command line and its command palette, and the REPL's `:commands` are all read
from this table; plugins add rows to it. Rows are plain data, so this module imports no UI:

- the id's first part is the verb's scope ("app", "tree", "editor", ... for the console; "repl" for the REPL),
  which says where it applies: a console verb runs on the widget or screen of its scope;
- a console handler is a Textual action string ("show_tab('xds')"); words typed after `:` become its arguments;
- a REPL handler is a function `(state, args) -> text | None`.

The faces register their built-in rows when imported (meshctl.tui.actions, meshctl.repl.commands).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

REPL_SCOPE = "repl"

# Conditions a console verb may require before the palette offers it (the console decides what each means):
CONDITIONS = frozenset({
    "main",  # the main screen is showing
    "model",  # ... and the configuration is loaded
    "selected",  # ... and a route is selected in the tree
    "writable",  # the console is not --read-only
    "xds-push",  # an xDS server this console can push to is attached
    "editor",  # the editor screen is showing
    "last-apply",  # an edit was applied in this session
})


class VerbError(ValueError):
    """A row that cannot join the table (bad id, a word or id already taken, unknown condition)."""


@dataclass(frozen=True)
class Verb:
    id: str  # "scope.verb", stable: keymaps and plugins refer to it
    title: str  # what it does, in a few words (footer, help, palette hint)
    handler: str | Callable[..., Any]  # console: Textual action string; REPL: fn(state, args)
    keys: str = ""  # console keys (Textual names, comma-separated); "" for none
    words: tuple[str, ...] = ()  # names after `:` (the first is the verb's name, the others aliases)
    usage: str = ""  # the arguments after the word, for help
    palette: str = ""  # its command palette entry ("routes: Filter"); "" keeps it out of the palette
    when: frozenset[str] = field(default_factory=frozenset)  # CONDITIONS that must hold for the palette
    show: bool = True  # in the footer
    priority: bool = False  # a Textual priority binding
    destructive: bool = False  # changes files, pushes config or moves traffic: never on a bare key
    complete: Callable[..., list[str]] | None = None  # REPL argument suggestions: fn(state, prefix)
    plugin: str = ""  # the plugin that added the row

    @property
    def scope(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def in_repl(self) -> bool:
        return self.scope == REPL_SCOPE

    @property
    def word(self) -> str:
        return self.words[0] if self.words else ""


class VerbTable:
    """The table itself: rows in the order added; `version` moves on every change (completers refresh on it)."""

    def __init__(self) -> None:
        self._rows: dict[str, Verb] = {}
        self.version = 0

    def add(self, verb: Verb, replace: bool = False) -> Verb:
        if "." not in verb.id or not all(verb.id.split(".", 1)):
            raise VerbError(f"verb id {verb.id!r} must be 'scope.name'")
        unknown = set(verb.when) - CONDITIONS
        if unknown:
            raise VerbError(f"verb {verb.id}: unknown condition(s) {', '.join(sorted(unknown))}")
        if verb.id in self._rows and not replace:
            raise VerbError(f"verb {verb.id} is already in the table")
        for word in verb.words:
            if not word or any(c.isspace() for c in word):
                raise VerbError(f"verb {verb.id}: bad word {word!r}")
            other = self.find(word, repl=verb.in_repl)
            if other is not None and other.id != verb.id and not replace:
                raise VerbError(f"verb {verb.id}: word {word!r} is already {other.id}'s")
        if replace:
            for other in [v for v in self._rows.values() if v.id != verb.id and v.in_repl == verb.in_repl]:
                taken = set(other.words) & set(verb.words)
                if taken:  # the new row wins those words
                    self._rows[other.id] = _without_words(other, taken)
        self._rows[verb.id] = verb
        self.version += 1
        return verb

    def remove(self, verb_id: str) -> None:
        if self._rows.pop(verb_id, None) is not None:
            self.version += 1

    def get(self, verb_id: str) -> Verb | None:
        return self._rows.get(verb_id)

    def __iter__(self) -> Iterator[Verb]:
        return iter(list(self._rows.values()))

    def rows(self, scope: str | None = None, repl: bool | None = None) -> list[Verb]:
        return [v for v in self._rows.values()
                if (scope is None or v.scope == scope) and (repl is None or v.in_repl == repl)]

    def find(self, word: str, repl: bool) -> Verb | None:
        """The verb a word typed after `:` names, in the REPL or in the console."""
        for v in self._rows.values():
            if v.in_repl == repl and word in v.words:
                return v
        return None

    def words(self, repl: bool) -> list[str]:
        return [w for v in self._rows.values() if v.in_repl == repl for w in v.words]


def _without_words(verb: Verb, taken: set[str]) -> Verb:
    from dataclasses import replace

    return replace(verb, words=tuple(w for w in verb.words if w not in taken))


VERBS = VerbTable()
