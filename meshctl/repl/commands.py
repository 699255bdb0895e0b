"""REPL `:commands`: its rows of the verb table (meshctl.verbs, which plugins add to too), and line dispatch."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from typing import Callable

from ..mesh.index import Locality
from ..routing.render import render_table
from ..sandbox.casefile import CaseFileError, append_case
from ..sandbox.engine import SandboxError, SandboxResult
from ..sandbox.explain import describe_progress
from ..sandbox.render import render_result, trace_lines
from ..sandbox.request import RequestError, parse_header
from ..sandbox.runner import case_from_result
from ..verbs import REPL_SCOPE, VERBS, Verb
from .completer import Vocabulary, vocabulary_for
from .state import ReplError, ReplState

CommandFn = Callable[[ReplState, str], "str | None"]
Completer = Callable[[ReplState, str], list[str]]


class QuitRepl(Exception):
    """Raised by a command to end the session."""


@dataclass(frozen=True)
class ReplCommand:
    """A REPL row of the verb table, as the REPL reads it."""

    name: str
    help: str
    fn: CommandFn
    usage: str = ""
    complete: Completer | None = None  # argument suggestions for the completer

    @classmethod
    def of(cls, verb: Verb) -> "ReplCommand":
        assert callable(verb.handler)
        return cls(verb.word, verb.title, verb.handler, verb.usage, verb.complete)


@dataclass(frozen=True)
class Reply:
    text: str = ""
    quit: bool = False
    error: bool = False


def registry_version() -> int:
    """Moves on every change of the verb table, so completion vocabularies know to refresh."""
    return VERBS.version


def register_repl_command(name: str, help: str, fn: CommandFn, *, usage: str = "",
                          complete: Completer | None = None, aliases: tuple[str, ...] = (),
                          plugin: str = "") -> ReplCommand:
    """Add `:name` to the REPL (a row `repl.NAME` of the verb table; a later row of the same name wins).
    `fn(state, args)` returns the text to show (or None) and may raise ReplError."""
    name = name.lstrip(":")
    if not name or any(c.isspace() for c in name):
        raise ValueError(f"bad REPL command name {name!r}")
    verb = VERBS.add(Verb(f"{REPL_SCOPE}.{name}", help, fn, words=(name, *aliases), usage=usage,
                          complete=complete, plugin=plugin), replace=True)
    return ReplCommand.of(verb)


def unregister_repl_command(name: str) -> None:
    VERBS.remove(f"{REPL_SCOPE}.{name}")


def repl_commands() -> list[ReplCommand]:
    return sorted((ReplCommand.of(v) for v in VERBS.rows(repl=True) if v.words), key=lambda c: c.name)


def find_command(name: str) -> ReplCommand | None:
    verb = VERBS.find(name, repl=True)
    return ReplCommand.of(verb) if verb is not None else None


def vocabulary(state: ReplState) -> Vocabulary:
    """The completer's words for this state: rebuilt after a reload or a change of the command registry."""
    if state.vocabulary_cache is None or state.vocabulary_version != registry_version():
        state.vocabulary_version = registry_version()
        commands = repl_commands()
        vocab = vocabulary_for(state.sandbox, {c.name: c.help for c in commands})
        vocab.argument_completers = {
            c.name: partial(c.complete, state) for c in commands if c.complete is not None
        }
        state.vocabulary_cache = vocab
    return state.vocabulary_cache


def handle_line(state: ReplState, line: str) -> Reply:
    """One line typed at the prompt: a `:command` or a request."""
    line = line.strip()
    if not line or line.startswith("#"):
        return Reply()
    if line.startswith(":"):
        name, _, args = line[1:].partition(" ")
        command = find_command(name)
        if command is None:
            return Reply(f"unknown command :{name} (type :help for the list)", error=True)
        try:
            return Reply(command.fn(state, args.strip()) or "")
        except QuitRepl:
            return Reply(quit=True)
        except (ReplError, RequestError, SandboxError, CaseFileError) as exc:
            return Reply(f"error: {exc}", error=True)
        except Exception as exc:  # a plugin's bug must not end the operator's session
            return Reply(f"error: :{name} failed: {type(exc).__name__}: {exc}", error=True)
    try:
        return Reply(state.ask(line))
    except (ReplError, RequestError, SandboxError) as exc:
        return Reply(f"error: {exc}", error=True)


# -- built-in commands -----------------------------------------------------------------------------

def _gateway(state: ReplState, args: str) -> str:
    known = [g.name for g in state.sandbox.gateways]
    if not args:
        current = state.gateway or "auto (the first gateway, by name, whose virtual hosts claim the host)"
        return f"gateway: {current}\nknown: {', '.join(known) or 'none'}"
    if args == "auto":
        state.gateway = None
        return "gateway: auto"
    state.sandbox.gateway(args)  # raises SandboxError naming the known ones
    state.gateway = args
    return f"gateway: {args}"


def _locality(state: ReplState, args: str) -> str:
    if not args:
        return f"from-locality: {state.locality or 'none (endpoints in one priority)'}"
    if args in ("none", "-"):
        state.locality = None
        return "from-locality: none"
    try:
        state.locality = Locality.parse(args)
    except ValueError as exc:
        raise ReplError(str(exc)) from None
    return f"from-locality: {state.locality}"


def _header(state: ReplState, args: str) -> str:
    if not args:
        raise ReplError("usage: :header name: value")
    name, value = parse_header(args)
    if name == "host":
        raise ReplError("the host comes from the URL; a sticky Host header would hide it")
    state.headers[name] = value
    return f"header {name}: {value} (sent with every request; :headers clear to drop)"


def _headers(state: ReplState, args: str) -> str:
    if args == "clear":
        state.headers.clear()
        return "headers cleared"
    if args:
        raise ReplError("usage: :headers [clear]")
    if not state.headers:
        return "no sticky headers"
    return "\n".join(f"{k}: {v}" for k, v in state.headers.items())


def _json(state: ReplState, args: str) -> str:
    state.output = "json"
    return "output: json"


def _text(state: ReplState, args: str) -> str:
    state.output = "text"
    return "output: text"


def _last(state: ReplState) -> SandboxResult:
    if state.last_result is None:
        raise ReplError("no request yet: type one, e.g. GET http://www.example.com/")
    return state.last_result


def _explain(state: ReplState, args: str) -> str:
    result = _last(state)
    lines = [render_result(result, include_trace=False)]
    entries = result.trace
    lines.append(f"full trace ({len(entries)} route(s) tried, in Envoy order)")
    lines.extend(trace_lines(entries))
    if result.closest:
        lines.append("closest misses")
        for e in result.closest:
            lines.append(f"  [{e.position}] {e.label}: {describe_progress(e)}")
    return "\n".join(lines)


def _save(state: ReplState, args: str) -> str:
    if not args:
        raise ReplError("usage: :save FILE")
    result = _last(state)
    path = os.path.expanduser(args)
    case = case_from_result(result, with_gateway=len(state.sandbox.gateways) > 1)
    count = append_case(path, case)
    return f"saved {case['test_name']!r} to {path} ({count} case(s)); run: meshctl test-route ... --file {path}"


def _routes(state: ReplState, args: str) -> str:
    view = state.sandbox.view
    gateways = [state.sandbox.gateway(args or state.gateway)] if (args or state.gateway) else view.gateways
    return render_table(view, gateways)


def _workspaces(state: ReplState, args: str) -> str:
    from ..model.v2.workspace_report import render_workspaces, workspaces_report

    return render_workspaces(workspaces_report(state.sandbox.snapshot))


def _reload(state: ReplState, args: str) -> str:
    return state.reload("on request")


def _help(state: ReplState, args: str) -> str:
    lines = ["type a request:  [METHOD] URL [-H 'name: value']...   e.g. GET http://www.example.com/reviews/v1/1",
             "or just a path:  /reviews/v1/1  (uses the last host)", "", "commands:"]
    for c in repl_commands():
        usage = c.usage if c.usage.startswith(f":{c.name}") else f":{c.name}" + (f" {c.usage}" if c.usage else "")
        lines.append(f"  {usage:<28} {c.help}")
    lines.append("Tab completes methods, hosts, paths and header names; ↑ recalls history.")
    return "\n".join(lines)


def _quit(state: ReplState, args: str) -> str:
    raise QuitRepl()


def _gateway_names(state: ReplState, prefix: str) -> list[str]:
    return ["auto", *(g.name for g in state.sandbox.gateways)]


def _register_builtins() -> None:
    register_repl_command("gateway", "answer for this gateway (auto: choose by host)", _gateway,
                          usage="[NS/NAME|auto]", complete=_gateway_names)
    register_repl_command("from-locality", "client locality for endpoint priorities", _locality,
                          usage="[REGION[/ZONE]|none]", complete=lambda s, p: ["none", *vocabulary(s).localities])
    register_repl_command("header", "send this header with every request", _header, usage="NAME: VALUE",
                          complete=lambda s, p: [h + ": " for h in vocabulary(s).header_names])
    register_repl_command("headers", "list sticky headers, or clear them", _headers, usage="[clear]",
                          complete=lambda s, p: ["clear"])
    register_repl_command("json", "answer in JSON", _json)
    register_repl_command("text", "answer in text", _text)
    register_repl_command("explain", "full trace of the last request", _explain)
    register_repl_command("save", "append the last request and its outcome as a router_check test case", _save,
                          usage="FILE")
    register_repl_command("routes", "the flattened route table", _routes, usage="[NS/NAME]",
                          complete=lambda s, p: [g.name for g in s.sandbox.gateways])
    register_repl_command("workspaces", "Gloo v2 workspaces: ownership, exports, imports", _workspaces)
    register_repl_command("reload", "re-read the configuration now", _reload)
    register_repl_command("help", "this help", _help, aliases=("h", "?"))
    register_repl_command("quit", "leave (also Ctrl-D)", _quit, aliases=("q", "exit"))


_register_builtins()
