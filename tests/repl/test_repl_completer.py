"""Completion: methods, hosts from VirtualHost domains, paths from route matchers, header names, commands."""

from __future__ import annotations

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from meshctl.repl.commands import vocabulary
from meshctl.repl.completer import complete, example_host
from meshctl.repl.session import ReplCompleter
from meshctl.repl.state import ReplState


def texts(state: ReplState, line: str) -> list[str]:
    return [s.text for s in complete(line, vocabulary(state))]


def test_methods_and_urls_first(state: ReplState) -> None:
    assert texts(state, "PO") == ["POST"]
    assert "GET" in texts(state, "g")  # case-insensitive method completion
    assert "http://www.example.com/" in texts(state, "")
    assert texts(state, "GET ") == ["http://www.example.com/"]
    assert texts(state, "GET http://w") == ["http://www.example.com/"]


def test_paths_come_from_the_route_matchers(state: ReplState) -> None:
    paths = texts(state, "GET http://www.example.com/rev")
    assert paths == ["http://www.example.com/reviews/", "http://www.example.com/reviews/v1",
                     "http://www.example.com/reviews/v1/version", "http://www.example.com/reviews/v2",
                     "http://www.example.com/reviews/v2/version"]
    assert texts(state, "/rat") == ["/ratings"]


def test_header_names_after_dash_h(state: ReplState) -> None:
    assert "-H" in texts(state, "GET http://www.example.com/ ")
    names = texts(state, "GET http://www.example.com/ -H x-re")
    assert names == ["x-request-id: "]
    assert texts(state, "GET http://www.example.com/ -H 'user") == ["'user-agent: "]


def test_commands_and_their_arguments(state: ReplState) -> None:
    assert texts(state, ":he") == [":header", ":headers", ":help"]
    assert texts(state, ":gateway ") == ["auto", "gloo-mesh/demo-gateway"]
    assert texts(state, ":from-locality us-east-1") == ["us-east-1/us-east-1a"]
    assert texts(state, ":headers ") == ["clear"]


def test_prompt_toolkit_adapter_replaces_the_word(state: ReplState) -> None:
    completer = ReplCompleter(state)
    doc = Document("GET http://www.example.com/reviews/v1/ver")
    completions = list(completer.get_completions(doc, CompleteEvent(completion_requested=True)))
    assert [c.text for c in completions] == ["http://www.example.com/reviews/v1/version"]
    assert completions[0].start_position == -len("http://www.example.com/reviews/v1/ver")
    assert doc.text[: len(doc.text) + completions[0].start_position] + completions[0].text == \
        "GET http://www.example.com/reviews/v1/version"


def test_wildcard_domains_become_example_hosts() -> None:
    assert example_host("*.example.com") == "www.example.com"
    assert example_host("api.*") == "api.com"
    assert example_host("*") is None
