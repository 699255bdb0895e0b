"""File and directory sources (and the built-in demo), re-read when a file changes on disk."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..model.parsed_files import ParsedFiles
from ..model.snapshot import demo_files
from ..model.yamldoc import expand_paths
from .base import Source


class FileSource(Source):
    """YAML files/directories. `start()` polls modification times (cheap, portable, no extra dependency)."""

    kind = "files"

    def __init__(self, paths: list[str | os.PathLike[str]], name: str | None = None, interval: float = 0.25) -> None:
        super().__init__(name or ", ".join(str(p) for p in paths))
        self.paths = [str(p) for p in paths]
        self.interval = interval
        self._stamp: dict[str, tuple[int, int]] = {}
        self._pending: dict[str, tuple[int, int]] | None = None  # a change seen once, waiting to settle
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._parsed = ParsedFiles()  # a change re-parses only the files whose bytes changed
        self.last_parsed: list[str] = []  # the files the last load parsed (the others were unchanged)

    def _stamps(self) -> dict[str, tuple[int, int]]:
        files, _ = expand_paths(self.paths)
        out = {}
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            out[str(f)] = (st.st_mtime_ns, st.st_size)
        return out

    def load(self) -> None:
        self._stamp = self._stamps()
        loaded = self._parsed.load(self.paths)
        self.last_parsed = loaded.parsed
        self.status.state = "ok"
        self.status.reason = ""
        self._publish(loaded.resources, loaded.findings, loaded.files)

    def poll(self, settle: bool = True) -> bool:
        """Reload if any file changed; True when it did.

        With `settle` (the watcher's way), a change is taken once the files' sizes and times read the same on
        two polls in a row: a file being rewritten (truncated, then written) is not loaded half-way, which
        would push a broken configuration to Envoy for a moment. Callers acting on the operator's request
        ("reload now") pass settle=False."""
        stamps = self._stamps()
        if stamps == self._stamp:
            self._pending = None
            return False
        if settle and stamps != self._pending:
            self._pending = stamps
            return False
        self._pending = None
        self.load()
        return True

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"watch:{self.name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.poll()
            except Exception as exc:  # a watcher must never die silently
                self.status.state = "error"
                self.status.reason = str(exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None


class DemoSource(FileSource):
    """The demo mesh packaged inside meshctl."""

    kind = "demo"

    def __init__(self, extra: list[Path] | None = None) -> None:
        super().__init__([*demo_files(), *(extra or [])], name="demo")
