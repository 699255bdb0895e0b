"""Each REPL command, the request lines, the plugin registry and automatic reload — without a terminal."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from meshctl.repl.commands import (
    QuitRepl,
    find_command,
    handle_line,
    register_repl_command,
    unregister_repl_command,
    vocabulary,
)
from meshctl.repl.completer import complete
from meshctl.repl.state import ReplError, ReplState
from meshctl.repl.toolbar import toolbar_text
from meshctl.sandbox.casefile import load_case_file
from meshctl.sandbox.runner import run_cases

CANARY_ROUTE = """  - matchers:
    - uri: {prefix: /canary}
      headers: [{name: x-canary, value: "1"}]
    name: canary
    directResponseAction: {status: 200, body: canary}
"""


def say(state: ReplState, line: str) -> str:
    reply = handle_line(state, line)
    assert not reply.error, reply.text
    return reply.text


def test_request_lines_in_every_form(state: ReplState) -> None:
    assert "direct response 200, body 'v1'" in say(state, "GET http://www.example.com/reviews/v1/version")
    assert "path /reviews/1" in say(state, "/reviews/v1/1")  # bare path: the last host
    assert "404 from Envoy, no route" in say(state, "http://nobody.example.com/")
    reply = handle_line(state, "GET http://www.example.com/ -H broken")
    assert reply.error and "has no colon" in reply.text
    assert "cannot split" in handle_line(state, "GET 'http://www.example.com/").text


def test_gateway_command(state: ReplState) -> None:
    assert "known: gloo-mesh/demo-gateway" in say(state, ":gateway")
    assert say(state, ":gateway gloo-mesh/demo-gateway") == "gateway: gloo-mesh/demo-gateway"
    assert state.gateway == "gloo-mesh/demo-gateway"
    bad = handle_line(state, ":gateway x/y")
    assert bad.error and "unknown gateway 'x/y'" in bad.text and state.gateway == "gloo-mesh/demo-gateway"
    assert say(state, ":gateway auto") == "gateway: auto" and state.gateway is None


def test_from_locality_command_changes_priorities(state: ReplState) -> None:
    assert say(state, ":from-locality us-east-2/us-east-2b") == "from-locality: us-east-2/us-east-2b"
    say(state, ":json")
    data = json.loads(say(state, "GET http://www.example.com/ratings/1"))
    assert data["fromLocality"] == "us-east-2/us-east-2b"
    assert "REGION[/ZONE" in handle_line(state, ":from-locality a//b").text
    assert say(state, ":from-locality none") == "from-locality: none" and state.locality is None


def test_sticky_headers_are_sent(state: ReplState, config_dir: Path) -> None:
    vh = config_dir / "gateway.yaml"
    vh.write_text(vh.read_text().replace("  routes:\n", "  routes:\n" + CANARY_ROUTE, 1))
    say(state, ":reload")
    assert "404 from Envoy" in say(state, "GET http://www.example.com/canary")
    assert "header x-canary: 1" in say(state, ":header x-canary: 1")
    assert "body canary" in say(state, "GET http://www.example.com/canary")
    assert say(state, ":headers") == "x-canary: 1"
    assert "headers: 1" in toolbar_text(state)
    assert say(state, ":headers clear") == "headers cleared" and state.headers == {}
    assert "404 from Envoy" in say(state, "GET http://www.example.com/canary")
    assert handle_line(state, ":header nocolon").error


def test_json_text_explain(state: ReplState) -> None:
    assert handle_line(state, ":explain").error  # nothing asked yet
    say(state, ":json")
    assert "output: json" in toolbar_text(state)
    data = json.loads(say(state, "GET http://www.example.com/reviews/v3"))
    assert data["route"]["name"] == "not-found" and len(data["trace"]) == 6
    say(state, ":text")
    explained = say(state, ":explain")
    assert "full trace (6 route(s) tried" in explained
    assert "✗ [4] v2  prefix /reviews/v2 does not match /reviews/v3" in explained
    assert "✓ [5] not-found  matched prefix /reviews/" in explained


def test_save_appends_cases_that_pass(state: ReplState, tmp_path: Path) -> None:
    target = tmp_path / "saved.yaml"
    assert handle_line(state, f":save {target}").error  # nothing to save yet
    for line in ("GET http://www.example.com/reviews/v1/version", "/reviews/v2/1", "http://nobody.example.com/x"):
        say(state, line)
        assert f"to {target}" in say(state, f":save {target}")
    cases = load_case_file(target).cases
    assert [c.request.path for c in cases] == ["/reviews/v1/version", "/reviews/v2/1", "/x"]
    assert cases[0].validate["direct_response_status"] == 200 and cases[2].validate["no_match"] is True
    report = run_cases(state.sandbox, cases)
    assert report.passed == 3


def test_routes_reload_help_quit(state: ReplState, config_dir: Path) -> None:
    table = say(state, ":routes")
    assert "v1-version" in table and table.count("\n") == 6
    assert "6 route(s)" in say(state, ":reload")
    help_text = say(state, ":help")
    for name in ("gateway", "from-locality", "header", "headers", "json", "text", "explain", "save", "routes",
                 "reload", "help", "quit"):
        assert f":{name}" in help_text
    assert handle_line(state, ":quit").quit and handle_line(state, ":q").quit
    assert handle_line(state, ":nope").error


def test_files_changing_reload_automatically(state: ReplState, config_dir: Path) -> None:
    assert state.check_reload() is None
    tables = config_dir / "route-tables.yaml"
    tables.write_text(tables.read_text().replace("body: \"'v1'\"", "body: \"'v1 changed'\""))
    stat = tables.stat()
    os.utime(tables, (stat.st_atime, stat.st_mtime + 5))  # a coarse filesystem clock must still see it
    message = state.check_reload()
    assert message is not None and message.startswith("↻ config reloaded (files changed)")
    assert "reloaded" in toolbar_text(state)
    assert "'v1 changed'" in say(state, "GET http://www.example.com/reviews/v1/version")
    assert state.check_reload() is None


def test_reload_survives_a_broken_file_and_a_vanished_gateway(state: ReplState, config_dir: Path) -> None:
    say(state, ":gateway gloo-mesh/demo-gateway")
    gateway = config_dir / "gateway.yaml"
    gateway.write_text(gateway.read_text().replace("name: demo-gateway", "name: renamed-gateway"))
    message = say(state, ":reload")
    assert "gateway gloo-mesh/demo-gateway is gone" in message and state.gateway is None
    gateway.write_text("kind: [broken\n")
    message = say(state, ":reload")
    assert "error(s), first:" in message
    assert "no VirtualGateway" in handle_line(state, "GET http://www.example.com/").text


def test_plugins_register_commands(state: ReplState) -> None:
    calls: list[str] = []

    def count_routes(s: ReplState, args: str) -> str:
        calls.append(args)
        return f"{len(s.sandbox.all_routes())} routes ({args})"

    def broken(s: ReplState, args: str) -> str:
        raise RuntimeError("plugin bug")

    def refuse(s: ReplState, args: str) -> str:
        raise ReplError("needs an argument")

    register_repl_command("count", "count routes", count_routes, usage="[NOTE]", complete=lambda s, p: ["all"])
    register_repl_command("broken", "always fails", broken)
    register_repl_command("refuse", "refuses", refuse, usage=":refuse WHAT")  # usage may repeat the name
    try:
        assert say(state, ":count now") == "6 routes (now)" and calls == ["now"]
        help_text = say(state, ":help")
        assert ":count [NOTE]" in help_text and ":refuse WHAT" in help_text and ":refuse :refuse" not in help_text
        assert [s.text for s in complete(":count ", vocabulary(state))] == ["all"]
        reply = handle_line(state, ":broken")
        assert reply.error and "RuntimeError: plugin bug" in reply.text
        assert handle_line(state, ":refuse").text == "error: needs an argument"
    finally:
        for name in ("count", "broken", "refuse"):
            unregister_repl_command(name)
    assert find_command("count") is None
    with pytest.raises(ValueError):
        register_repl_command("two words", "x", count_routes)


def test_quit_is_an_exception_commands_can_raise(state: ReplState) -> None:
    def leave(s: ReplState, args: str) -> str:
        raise QuitRepl()

    register_repl_command("leave", "leave", leave)
    try:
        assert handle_line(state, ":leave").quit
    finally:
        unregister_repl_command("leave")


def test_toolbar_shows_gateway_locality_and_output(state: ReplState) -> None:
    text = toolbar_text(state)
    assert "gateway: auto (by host)" in text and "from: -" in text and "output: text" in text
    say(state, ":gateway gloo-mesh/demo-gateway")
    say(state, ":from-locality us-east-1")
    text = toolbar_text(state)
    assert "gateway: gloo-mesh/demo-gateway" in text and "from: us-east-1" in text
