"""File and directory sources (and the built-in demo), re-read when a file changes on disk.

A started source learns of changes from the operating system (watchdog: inotify, FSEvents, kqueue, Windows): a
save is read a few milliseconds after it happens, not on the next poll. Polling every `interval` stays as the
safety net (file systems without notifications, a full inotify watch table, a missed event)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from ..model.findings import Finding
from ..model.parsed_files import ParsedFiles
from ..model.snapshot import demo_files
from ..model.yamldoc import YAML_SUFFIXES, expand_paths
from .base import Source

# Half of a save is not a configuration. Where the operating system reports a file closed after writing (inotify:
# "closed"), a file that was written to is read only once it is closed: a writer that pauses between truncating and
# writing (a loaded machine) is never caught half-way. Elsewhere (no close events) the source waits until the files
# have been quiet for QUIET_SECONDS (one save is often several events). Either way it then waits a moment more, so
# the files of one save arrive as one read.
QUIET_SECONDS = 0.005
QUIET_AFTER_CLOSE_SECONDS = 0.001
QUIET_AT_MOST_SECONDS = 0.5  # files written without pause for longer: read once their status holds still (poll)
_NOT_CHANGES = frozenset({"opened", "closed_no_write"})  # reads (our own loads among them) change nothing
_WRITES = frozenset({"created", "modified"})  # a file being written (until "closed", where that is reported)


class FileSource(Source):
    """YAML files/directories. `start()` watches them: change notifications, and a poll of the files' sizes and
    modification times every `interval` seconds."""

    kind = "files"

    def __init__(self, paths: list[str | os.PathLike[str]], name: str | None = None, interval: float = 0.25) -> None:
        super().__init__(name or ", ".join(str(p) for p in paths))
        self.paths = [str(p) for p in paths]
        self.interval = interval
        self._stamp: dict[str, tuple[int, int]] = {}
        self._pending: dict[str, tuple[int, int]] | None = None  # a change seen once, waiting to settle
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()  # set by the change notifications
        self._observer: Any = None  # a watchdog Observer, while started and available
        self._close_events = False  # the observer reports files closed after writing (inotify)
        self._open_writes: set[str] = set()  # files written to and not yet reported closed
        self._writes_lock = threading.Lock()  # the set is kept by the observer's thread, read by the watcher's
        self._parsed = ParsedFiles()  # a change re-parses only the files whose bytes changed
        # the watcher polls while an operator's "reload now" loads from another thread: one read at a time, so
        # the cache stays whole and the last read published is the newest
        self._reading = threading.RLock()  # a listener may load again
        self.last_parsed: list[str] = []  # the files the last load parsed (the others were unchanged)

    @staticmethod
    def _statuses(files: list[Path]) -> tuple[dict[str, os.stat_result], dict[str, tuple[int, int]]]:
        statuses, stamps = {}, {}
        for f in files:
            key = str(f)
            try:
                statuses[key] = st = os.stat(key)
            except OSError:
                continue
            stamps[key] = (st.st_mtime_ns, st.st_size)
        return statuses, stamps

    def load(self) -> None:
        with self._reading:
            files, findings = expand_paths(self.paths)
            self._load(files, findings, *self._statuses(files))

    def _load(self, files: list[Path], findings: list[Finding], statuses: dict[str, os.stat_result],
              stamps: dict[str, tuple[int, int]]) -> None:
        """Read `files` as listed and stat'ed just now (a poll's walk serves its load too)."""
        self._stamp = stamps
        loaded = self._parsed.load_files(files, findings, statuses)
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
        with self._reading:
            return self._poll(settle)

    def _poll(self, settle: bool) -> bool:
        files, findings = expand_paths(self.paths)
        statuses, stamps = self._statuses(files)
        if stamps == self._stamp:
            self._pending = None
            return False
        if settle and stamps != self._pending:
            self._pending = stamps
            return False
        self._pending = None
        self._load(files, findings, statuses, stamps)
        return True

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._observer = self._notifications()
        self._thread = threading.Thread(target=self._run, name=f"watch:{self.name}", daemon=True)
        self._thread.start()

    def _notifications(self) -> Any:
        """A started watchdog Observer that wakes the watcher on any change below the paths, or None (polling
        alone) when watchdog cannot watch them."""
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return None
        wake, open_writes, lock = self._wake, self._open_writes, self._writes_lock

        def configuration(path: str | bytes) -> bool:
            return os.path.splitext(os.fsdecode(path))[1].lower() in YAML_SUFFIXES

        class Wake(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in _NOT_CHANGES:
                    return
                # a directory (created, moved, removed) or a configuration file; not an editor's swap file or a log
                if event.is_directory or configuration(event.src_path) or configuration(event.dest_path or ""):
                    if not event.is_directory:
                        path = os.fsdecode(event.src_path)
                        with lock:
                            if event.event_type in _WRITES:
                                open_writes.add(path)
                            else:  # closed, moved (the file arrives whole) or deleted
                                open_writes.discard(path)
                                open_writes.discard(os.fsdecode(event.dest_path or ""))
                    wake.set()

        observer = Observer()
        try:
            for raw in self.paths:
                path = Path(raw)
                if path.is_dir():
                    observer.schedule(Wake(), str(path), recursive=True)
                elif path.parent.is_dir():  # a file: its directory (an editor may replace the file by renaming)
                    observer.schedule(Wake(), str(path.parent), recursive=False)
            observer.start()
        except Exception:  # e.g. the inotify watch limit: polling still sees every change
            observer.stop()
            return None
        try:
            from watchdog.observers.inotify import InotifyObserver
            self._close_events = isinstance(observer, InotifyObserver)
        except ImportError:  # not Linux
            self._close_events = False
        return observer

    def _writing(self) -> bool:
        """Is a file still open for writing (as far as close events tell)?"""
        with self._writes_lock:
            return self._close_events and bool(self._open_writes)

    def _run(self) -> None:
        while not self._stop.is_set():
            notified = self._wake.wait(self.interval)
            if self._stop.is_set():
                break
            try:
                if notified:
                    self._wake.clear()
                    deadline = time.monotonic() + QUIET_AT_MOST_SECONDS
                    quiet = False
                    while not self._stop.is_set() and time.monotonic() < deadline:
                        writing = self._writing()
                        pause = QUIET_AFTER_CLOSE_SECONDS if self._close_events and not writing else QUIET_SECONDS
                        if not self._wake.wait(pause):
                            if writing:
                                continue  # quiet, but a file is still open for writing: wait for its close
                            quiet = True
                            break
                        self._wake.clear()  # still being written
                    if not quiet:
                        with self._writes_lock:  # from here the status rule decides, not a close that never came
                            self._open_writes.clear()
                    # never quiet: take the files only once their status holds still, as the poll does
                    self.poll(settle=not quiet)
                    if not quiet:
                        self._wake.set()  # look again soon: a second look is what settles it
                else:
                    self.poll()
            except Exception as exc:  # a watcher must never die silently
                self.status.state = "error"
                self.status.reason = str(exc)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=2)
        with self._writes_lock:
            self._open_writes.clear()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
        self._wake.clear()


class DemoSource(FileSource):
    """The demo mesh packaged inside meshctl."""

    kind = "demo"

    def __init__(self, extra: list[Path] | None = None) -> None:
        super().__init__([*demo_files(), *(extra or [])], name="demo")
