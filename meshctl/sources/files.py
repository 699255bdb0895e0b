"""File and directory sources (and the built-in demo), re-read when a file changes on disk."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..model.gcpause import gc_paused
from ..model.loader import resource_from_document
from ..model.snapshot import demo_files
from ..model.yamldoc import expand_paths, load_files
from .base import Source


class FileSource(Source):
    """YAML files/directories. `start()` polls modification times (cheap, portable, no extra dependency)."""

    kind = "files"

    def __init__(self, paths: list[str | os.PathLike[str]], name: str | None = None, interval: float = 0.25) -> None:
        super().__init__(name or ", ".join(str(p) for p in paths))
        self.paths = [str(p) for p in paths]
        self.interval = interval
        self._stamp: dict[str, tuple[float, int]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _stamps(self) -> dict[str, tuple[float, int]]:
        files, _ = expand_paths(self.paths)
        out = {}
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            out[str(f)] = (st.st_mtime, st.st_size)
        return out

    def load(self) -> None:
        self._stamp = self._stamps()
        with gc_paused():
            loaded = load_files(self.paths)
            resources, findings = [], list(loaded.findings)
            for doc in loaded.documents:
                resource, found = resource_from_document(doc)
                findings.extend(found)
                if resource is not None:
                    resources.append(resource)
        self.status.state = "ok"
        self.status.reason = ""
        self._publish(resources, findings, loaded.files)

    def poll(self) -> bool:
        """Reload if any file changed; True when it did."""
        stamps = self._stamps()
        if stamps != self._stamp:
            self.load()
            return True
        return False

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
