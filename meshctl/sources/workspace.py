"""The workspace: current snapshot from all sources, derived views cached per snapshot, change notification."""

from __future__ import annotations

import threading
from typing import Any, Callable, TypeVar

from ..model.snapshot import Snapshot
from .base import Source

T = TypeVar("T")

# Workspace.derived keys, so the console, the sandbox and the xDS service share one routing view and one mesh
# index per snapshot.
ROUTING_VIEW_KEY = "routing-view"
MESH_INDEX_KEY = "mesh-index"
Listener = Callable[["Workspace"], None]


class Workspace:
    """One object owns "what is the configuration now". Views (routing, xDS) are derived from it and cached
    per snapshot version; nothing else caches derived routing state. A burst of source events is coalesced
    into one rebuild."""

    def __init__(self, sources: list[Source], coalesce_seconds: float = 0.05) -> None:
        self.sources = list(sources)
        self.coalesce_seconds = coalesce_seconds
        self.version = 0
        self.snapshot = Snapshot([])
        self._derived: dict[str, Any] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.RLock()
        self._building = threading.Lock()
        self._timer: threading.Timer | None = None
        for s in self.sources:
            s.on_change(self._source_changed)

    # -- building -------------------------------------------------------------------------------
    def load(self) -> "Workspace":
        """Read every source once and build the first snapshot (no notification storm)."""
        self._loading = True
        try:
            for s in self.sources:
                s.load()
        finally:
            self._loading = False
        self.rebuild()
        return self

    def reload(self, read: Callable[[Source], object] | None = None) -> Snapshot:
        """Re-read the sources now (each with `read`, by default its load()) and rebuild once.

        The sources announce what they read; during this those announcements do not start coalesced rebuilds
        of their own: one re-read is one new snapshot (each costs a full routing view and console model)."""
        self._loading = True
        try:
            for s in self.sources:
                if read is None:
                    s.load()
                else:
                    read(s)
        finally:
            self._loading = False
        return self.rebuild()

    def rebuild(self) -> Snapshot:
        with self._lock:  # this rebuild reads every source now: a pending coalesced one has nothing left to do
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        with self._building:  # two threads rebuilding: the later read becomes the later version
            resources, findings, files = [], [], []
            for s in self.sources:
                r, f, fl = s.snapshot_parts()
                resources.extend(r)
                findings.extend(f)
                files.extend(fl)
            snapshot = Snapshot(resources, findings, files)
            with self._lock:
                self.snapshot = snapshot
                self.version += 1
                self._derived = {}
        for cb in list(self._listeners):
            try:
                cb(self)
            except Exception:  # one bad subscriber must not stop the others
                pass
        return snapshot

    def _source_changed(self, source: Source) -> None:
        if getattr(self, "_loading", False):
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.coalesce_seconds, self.rebuild)
            self._timer.daemon = True
            self._timer.start()

    # -- derived views --------------------------------------------------------------------------
    def derived(self, key: str, compute: Callable[[Snapshot], T]) -> T:
        """Compute a view of the current snapshot once; recomputed after the next change."""
        with self._lock:
            snapshot = self.snapshot
            if key in self._derived:
                return self._derived[key]  # type: ignore[no-any-return]
        value = compute(snapshot)
        with self._lock:
            if self.snapshot is snapshot:
                self._derived[key] = value
        return value

    # -- watching -------------------------------------------------------------------------------
    def subscribe(self, callback: Listener) -> Callable[[], None]:
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback) if callback in self._listeners else None

    def start(self) -> None:
        for s in self.sources:
            s.start()

    def stop(self) -> None:
        for s in self.sources:
            s.stop()
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def describe_sources(self) -> list[dict[str, object]]:
        return [s.describe() for s in self.sources]
