"""One verb table (meshctl.verbs) drives the console's keys, `:` line and palette, and the REPL's commands."""

from __future__ import annotations

import pytest

from meshctl.repl.commands import find_command, register_repl_command, repl_commands, unregister_repl_command
from meshctl.tui.actions import ACTIONS, bindings, console_verbs
from meshctl.tui.widgets.command_line import command_help, parse_command_line
from meshctl.verbs import VERBS, Verb, VerbError, VerbTable


def test_console_bindings_are_the_rows_with_keys() -> None:
    for verb in ACTIONS:
        ids = {b.id for b in bindings(verb.scope)}
        assert (verb.id in ids) == bool(verb.keys), verb.id


def test_command_line_words_are_table_rows() -> None:
    for word in VERBS.words(repl=False):
        parsed = parse_command_line(f":{word} x")
        assert VERBS.get(parsed.verb.id) is parsed.verb and parsed.args == ["x"]
    assert parse_command_line("q!").verb.id == "app.quit"
    assert set(command_help()) == {v.word for v in console_verbs() if v.words}


def test_repl_commands_are_table_rows() -> None:
    names = {c.name for c in repl_commands()}
    assert {"gateway", "save", "help", "quit"} <= names
    assert {v.word for v in VERBS.rows("repl")} >= names
    assert find_command("q") is not None and find_command("q").name == "quit"
    register_repl_command("probe-verb", "a test row", lambda state, args: "ok", aliases=("pv",))
    try:
        assert VERBS.get("repl.probe-verb") is not None and find_command("pv").name == "probe-verb"
        assert VERBS.find("probe-verb", repl=False) is None  # a REPL word is not a console word
    finally:
        unregister_repl_command("probe-verb")
    assert find_command("pv") is None


def test_the_table_refuses_clashes_and_unknown_conditions() -> None:
    table = VerbTable()
    table.add(Verb("app.one", "one", "one", words=("one",)))
    with pytest.raises(VerbError, match="already in the table"):
        table.add(Verb("app.one", "again", "one"))
    with pytest.raises(VerbError, match="already app.one's"):
        table.add(Verb("app.two", "two", "two", words=("one",)))
    with pytest.raises(VerbError, match="unknown condition"):
        table.add(Verb("app.three", "three", "three", when=frozenset({"someday"})))
    with pytest.raises(VerbError, match="scope.name"):
        table.add(Verb("nodot", "x", "x"))
    version = table.version
    table.add(Verb("app.two", "two", "two", words=("one",)), replace=True)  # a replacing row wins the word
    assert table.find("one", repl=False).id == "app.two" and table.version > version
