"""Pure completion for the REPL: what could come next in a line, from the routing view's hosts, paths and headers.

No prompt_toolkit here: `complete()` maps the text before the cursor to suggestions; session.py adapts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from ..sandbox.request import KNOWN_METHODS

if TYPE_CHECKING:
    from ..sandbox.engine import Sandbox

COMMON_HEADERS = ("accept", "authorization", "content-type", "cookie", "user-agent", "x-forwarded-for",
                  "x-request-id")


@dataclass(frozen=True)
class Suggestion:
    text: str
    start: int  # where the replacement starts, relative to the cursor (0 or negative, as prompt_toolkit wants)
    meta: str = ""


@dataclass
class Vocabulary:
    commands: dict[str, str] = field(default_factory=dict)  # name -> help
    hosts: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    paths_by_host: dict[str, list[str]] = field(default_factory=dict)
    header_names: list[str] = field(default_factory=list)
    gateways: list[str] = field(default_factory=list)
    localities: list[str] = field(default_factory=list)
    methods: tuple[str, ...] = KNOWN_METHODS
    argument_completers: dict[str, Callable[[str], list[str]]] = field(default_factory=dict)


def example_host(domain: str) -> str | None:
    """A host a wildcard domain accepts (Envoy wildcards never match an empty string)."""
    if domain == "*":
        return None
    if domain.startswith("*"):
        return "www" + domain[1:]
    if domain.endswith("*"):
        return domain[:-1] + "com"
    return domain


def vocabulary_for(sandbox: "Sandbox", commands: dict[str, str] | None = None) -> Vocabulary:
    """Words the completer offers, taken from the sandbox's routing view and mesh."""
    vocab = Vocabulary(commands=dict(commands or {}), gateways=[g.name for g in sandbox.gateways])
    headers: set[str] = set(COMMON_HEADERS)
    all_paths: set[str] = set()
    for g in sandbox.gateways:
        for vh in g.virtual_hosts:
            vh_paths: set[str] = set()
            for r in vh.routes:
                for m in r.matchers:
                    if m.path_kind in ("prefix", "exact") and m.path:
                        vh_paths.add(m.path)
                    headers.update(h.name for h in m.headers if not h.name.startswith(":"))
            all_paths |= vh_paths
            for d in vh.domains:
                host = example_host(d)
                if host is None:
                    continue
                if host not in vocab.paths_by_host:
                    vocab.hosts.append(host)
                vocab.paths_by_host.setdefault(host, [])
                vocab.paths_by_host[host] = sorted(set(vocab.paths_by_host[host]) | vh_paths)
    vocab.paths = sorted(all_paths)
    vocab.header_names = sorted(headers)
    localities: set[str] = set()
    for svc in sandbox.mesh.services.values():
        for e in svc.endpoints:
            if e.locality.region:
                localities.add(e.locality.region)
                if e.locality.zone:
                    localities.add(f"{e.locality.region}/{e.locality.zone}")
    vocab.localities = sorted(localities)
    return vocab


def _starting(words: list[str] | tuple[str, ...], prefix: str, start: int, meta: str = "",
              ignore_case: bool = False) -> list[Suggestion]:
    if ignore_case:
        low = prefix.lower()
        return [Suggestion(w, start, meta) for w in words if w.lower().startswith(low) and w != prefix]
    return [Suggestion(w, start, meta) for w in words if w.startswith(prefix) and w != prefix]


def _url_suggestions(word: str, vocab: Vocabulary) -> list[Suggestion]:
    start = -len(word)
    if "://" in word:
        scheme, rest = word.split("://", 1)
        if "/" not in rest:
            return _starting([f"{scheme}://{h}/" for h in vocab.hosts], word, start, "host")
        host = rest.split("/", 1)[0]
        paths = vocab.paths_by_host.get(host.split(":")[0].lower()) or vocab.paths
        return _starting([f"{scheme}://{host}{p}" for p in paths], word, start, "path")
    if word.startswith("/"):
        return _starting(vocab.paths, word, start, "path")
    return _starting([f"http://{h}/" for h in vocab.hosts], word, start, "host")


def _header_suggestions(word: str, vocab: Vocabulary) -> list[Suggestion]:
    quote = word[:1] if word[:1] in ("'", '"') else ""
    return _starting([f"{quote}{h}: " for h in vocab.header_names], word, -len(word), "header", ignore_case=True)


def complete(text: str, vocab: Vocabulary) -> list[Suggestion]:
    """Suggestions for the word being typed at the end of `text` (the text before the cursor)."""
    if text.startswith(":"):
        name, sep, args = text[1:].partition(" ")
        if not sep:
            return _starting([f":{c}" for c in sorted(vocab.commands)], text, -len(text), "command")
        arg_word = args
        completer = vocab.argument_completers.get(name)
        if completer is None:
            return []
        return _starting(completer(arg_word), arg_word, -len(arg_word), name)
    words = text.split(" ")
    word = words[-1]
    before = [w for w in words[:-1] if w]
    if before and before[-1] in ("-H", "--header"):
        return _header_suggestions(word, vocab)
    if not before:  # a method, or the URL straight away (GET is the default), or a bare path
        methods = [] if word.startswith("/") or "://" in word else \
            _starting(list(vocab.methods), word, -len(word), "method", ignore_case=True)
        return methods + _url_suggestions(word, vocab)
    if len(before) == 1 and before[0].upper() in vocab.methods:
        return _url_suggestions(word, vocab)
    if word == "" or word.startswith("-"):
        return _starting(["-H"], word, -len(word), "header option")
    return []
