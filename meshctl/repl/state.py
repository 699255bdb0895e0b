"""What the REPL remembers between lines (config, gateway, locality, sticky headers, last answer) and how it answers."""

from __future__ import annotations

import json
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from ..mesh.index import Locality
from ..model.findings import Severity
from ..model.snapshot import Snapshot
from ..sandbox.engine import Sandbox, SandboxResult
from ..sandbox.render import render_result
from ..sandbox.request import parse_request
from ..sources.files import DemoSource, FileSource
from .completer import Vocabulary


class ReplError(Exception):
    """A command used wrongly; shown as one line, the REPL goes on."""


class ConfigSource(Protocol):
    """Where the REPL's configuration comes from, and whether it changed since the last look."""

    name: str

    def load(self) -> Snapshot: ...

    def poll(self, settle: bool = True) -> bool: ...

    def snapshot(self) -> Snapshot: ...


class FileConfig:
    """YAML files/directories (and optionally the demo mesh), re-read when a file changes."""

    def __init__(self, paths: list[str], demo: bool = False) -> None:
        self.source: FileSource = DemoSource([Path(p) for p in paths]) if demo else FileSource(paths)
        self.name = "demo" + (" + " + ", ".join(paths) if paths else "") if demo else ", ".join(paths)

    def load(self) -> Snapshot:
        self.source.load()
        return self.snapshot()

    def poll(self, settle: bool = True) -> bool:
        return self.source.poll(settle)

    def snapshot(self) -> Snapshot:
        resources, findings, files = self.source.snapshot_parts()
        return Snapshot(resources, findings, files)


class FixedConfig:
    """A configuration that is only re-read on :reload (e.g. a live cluster read once)."""

    def __init__(self, loader: Callable[[], Snapshot], name: str) -> None:
        self.loader, self.name = loader, name
        self._snapshot: Snapshot | None = None

    def load(self) -> Snapshot:
        self._snapshot = self.loader()
        return self._snapshot

    def poll(self, settle: bool = True) -> bool:
        return False

    def snapshot(self) -> Snapshot:
        return self._snapshot if self._snapshot is not None else self.load()


@dataclass
class ReplState:
    config: ConfigSource
    gateway: str | None = None
    locality: Locality | None = None
    headers: dict[str, str] = field(default_factory=dict)
    output: str = "text"  # text | json
    last_result: SandboxResult | None = None
    reloads: int = 0
    last_reload_at: float | None = None
    last_reload_note: str = ""

    def __post_init__(self) -> None:
        self.sandbox = Sandbox(self.config.load())
        # completion words, built by commands.vocabulary() and dropped on reload
        self.vocabulary_cache: Vocabulary | None = None
        self.vocabulary_version = -1

    # -- configuration --------------------------------------------------------------------------
    def _adopt(self, snapshot: Snapshot, why: str) -> str:
        self.sandbox = Sandbox(snapshot)
        self.vocabulary_cache = None
        self.reloads += 1
        self.last_reload_at = time.time()
        routes = len(self.sandbox.all_routes())
        text = (f"↻ config reloaded ({why}): {len(snapshot)} resources, {len(self.sandbox.gateways)} gateway(s), "
                f"{routes} route(s)")
        errors = [f for f in snapshot.findings if f.severity is Severity.ERROR]
        if errors:
            text += f"; {len(errors)} error(s), first: {errors[0].render()}"
        if self.gateway and self.sandbox.view.gateway(self.gateway) is None:
            text += f"; gateway {self.gateway} is gone, back to choosing by host"
            self.gateway = None
        self.last_reload_note = why
        return text

    def reload(self, why: str = "on request") -> str:
        return self._adopt(self.config.load(), why)

    def check_reload(self, settle: bool = False) -> str | None:
        """Reload when the config files changed; the message to show, or None. The background watcher passes
        settle=True (wait until a file being written is complete); before answering a typed line we reload at
        once, since the operator saved and then asked."""
        try:
            changed = self.config.poll(settle)
        except Exception as exc:  # a half-written file must not end the session
            return f"config reload failed: {exc}"
        if not changed:
            return None
        return self._adopt(self.config.snapshot(), "files changed")

    # -- requests -------------------------------------------------------------------------------
    def default_authority(self) -> str | None:
        """Host for a bare "/path": the last request's, else the first plain domain of the gateway(s)."""
        if self.last_result is not None:
            return self.last_result.request.authority
        gateways = [self.sandbox.view.gateway(self.gateway)] if self.gateway else self.sandbox.gateways
        for g in gateways:
            for vh in g.virtual_hosts if g is not None else []:
                for d in vh.domains:
                    if "*" not in d:
                        return d
        return None

    def parse(self, line: str):  # -> Request
        try:
            tokens = shlex.split(line)
        except ValueError as exc:
            raise ReplError(f"cannot split the line: {exc}") from None
        words: list[str] = []
        inline: list[str] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok in ("-H", "--header"):
                if i + 1 >= len(tokens):
                    raise ReplError(f"{tok} needs a 'name: value' after it")
                inline.append(tokens[i + 1])
                i += 2
                continue
            words.append(tok)
            i += 1
        sticky = [f"{k}: {v}" for k, v in self.headers.items()]
        return parse_request(words, sticky + inline, self.default_authority())

    def ask(self, line: str) -> str:
        """Answer one request line ("[METHOD] URL [-H 'n: v']..." or "/path") in the current output mode."""
        request = self.parse(line)
        self.last_result = self.sandbox.evaluate(request, self.gateway, self.locality)
        return self.render(self.last_result)

    def render(self, result: SandboxResult) -> str:
        if self.output == "json":
            return json.dumps(result.to_dict(), indent=2)
        return render_result(result)
