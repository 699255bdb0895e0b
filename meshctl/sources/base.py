"""What a configuration source is: something that yields resources and says when they changed or went stale."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Literal

from ..model.findings import Finding
from ..model.resources import Resource

SourceStateName = Literal["ok", "stale", "syncing", "error"]


@dataclass
class SourceState:
    state: SourceStateName = "syncing"
    reason: str = ""
    last_event_at: float | None = None
    last_sync_at: float | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"state": self.state, "reason": self.reason, "lastEventAt": self.last_event_at,
                "lastSyncAt": self.last_sync_at, "counts": dict(self.counts)}


class Source:
    """Base class. Subclasses fill `resources`/`findings` and call `changed()` when they move on."""

    kind = "source"

    def __init__(self, name: str) -> None:
        self.name = name
        self.status = SourceState()
        self._resources: list[Resource] = []
        self._findings: list[Finding] = []
        self._files: list[str] = []
        self._lock = threading.RLock()
        self._listeners: list[Callable[["Source"], None]] = []

    # -- what the workspace reads ---------------------------------------------------------------
    def snapshot_parts(self) -> tuple[list[Resource], list[Finding], list[str]]:
        with self._lock:
            return list(self._resources), list(self._findings), list(self._files)

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind, **self.status.to_dict()}

    # -- lifecycle ------------------------------------------------------------------------------
    def load(self) -> None:
        """Read everything once (blocking)."""

    def start(self) -> None:
        """Begin watching for changes in the background (optional)."""

    def stop(self) -> None:
        """Stop watching."""

    def on_change(self, callback: Callable[["Source"], None]) -> None:
        self._listeners.append(callback)

    # -- for subclasses -------------------------------------------------------------------------
    def _publish(self, resources: list[Resource], findings: list[Finding], files: list[str] | None = None) -> None:
        with self._lock:
            self._resources = resources
            self._findings = findings
            if files is not None:
                self._files = files
            now = time.time()
            self.status.last_event_at = now
            self.status.last_sync_at = now
            counts: dict[str, int] = {}
            for r in resources:
                counts[r.kind] = counts.get(r.kind, 0) + 1
            self.status.counts = counts
        self.changed()

    def changed(self) -> None:
        for cb in list(self._listeners):
            cb(self)
