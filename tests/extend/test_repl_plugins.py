"""Plugin commands as `:NAME ARGS` in the test-route REPL (the same parsing and output as the CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshctl.extend.registry import PluginRegistry
from meshctl.extend.repl import install_plugin_commands
from meshctl.repl.commands import handle_line, unregister_repl_command
from meshctl.repl.state import FileConfig, ReplState

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def state_with_plugins():
    from meshctl.extend.discovery import discover

    registry = discover()
    names = install_plugin_commands(registry)
    state = ReplState(FileConfig([str(REPO / "docs/examples/004-advanced-routing/06-table-weight")]))
    yield state, names
    for name in names:
        unregister_repl_command(name)


def test_shipped_plugin_runs_in_the_repl(state_with_plugins):
    state, names = state_with_plugins
    assert {"shadowed", "coverage", "diff", "traffic-replay", "export-envoy"} <= set(names)
    reply = handle_line(state, ":shadowed -o json")
    assert not reply.error
    text, _, status = reply.text.rpartition("\n")
    assert status == "(exit status 1)"
    assert [r["WITNESS"] for r in json.loads(text)] == ["GET /reviews/v1/version", "GET /reviews/v2/version"]


def test_bad_plugin_arguments_are_a_repl_error_not_a_crash(state_with_plugins):
    state, _ = state_with_plugins
    reply = handle_line(state, ":coverage --fail-under notanumber")
    assert reply.error and "invalid float value" in reply.text
    reply = handle_line(state, ':diff "unbalanced')
    assert reply.error
    assert "usage: :coverage" in handle_line(state, ":coverage --help").text


def test_plugin_raising_keeps_the_session(tmp_path):
    registry = PluginRegistry()
    registry.command("boom", help="raises")(lambda api, args: 1 / 0)
    names = install_plugin_commands(registry)
    try:
        state = ReplState(FileConfig([], demo=True))
        reply = handle_line(state, ":boom")
        assert "exit status 2" in reply.text  # reported like the CLI does (message on stderr)
        assert handle_line(state, "GET http://www.example.com/ratings/1").text  # the REPL goes on
    finally:
        for name in names:
            unregister_repl_command(name)


def test_mutating_plugin_refused_when_read_only():
    registry = PluginRegistry()
    registry.command("write", help="writes", mutating=True)(lambda api, args: 0)
    names = install_plugin_commands(registry, read_only=True)
    try:
        state = ReplState(FileConfig([], demo=True))
        reply = handle_line(state, ":write")
        assert reply.error and "read-only" in reply.text
    finally:
        for name in names:
            unregister_repl_command(name)
