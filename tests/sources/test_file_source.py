"""File sources reload changed files, but never a file caught half-written by the watcher."""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
from waiting import wait_until

from meshctl.sources.files import FileSource

GOOD = """apiVersion: meshctl.io/v1alpha1
kind: Cluster
metadata: {name: c1}
spec:
  locality: {region: r1}
"""


def names(source: FileSource) -> list[str]:
    return sorted(r.name for r in source.snapshot_parts()[0])


def test_watcher_waits_until_a_change_settles(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(GOOD)
    source = FileSource([tmp_path])
    source.load()
    assert names(source) == ["c1"]
    # a writer has truncated the file and not yet written the rest: the watcher sees it once
    f.write_text("")
    os.utime(f, ns=(1, 1))
    assert source.poll() is False
    assert names(source) == ["c1"]  # still the last complete configuration
    # ... the write completes before the next poll: that state is new again, so still not taken
    f.write_text(GOOD.replace("c1", "c2"))
    assert source.poll() is False
    # unchanged on the next poll: now it is read
    assert source.poll() is True
    assert names(source) == ["c2"]
    assert source.poll() is False


def test_reload_now_does_not_wait(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(GOOD)
    source = FileSource([tmp_path])
    source.load()
    f.write_text(GOOD.replace("c1", "c3"))
    assert source.poll(settle=False) is True
    assert names(source) == ["c3"]


@contextmanager
def watching(source: FileSource) -> Iterator[FileSource]:
    """`source` read once and started; stopped afterwards, on failure too."""
    source.load()
    source.start()
    try:
        yield source
    finally:
        source.stop()


def test_a_started_source_reads_a_save_when_notified_not_on_the_next_poll(tmp_path: Path) -> None:
    (tmp_path / "team").mkdir()
    f = tmp_path / "team" / "c.yaml"
    f.write_text(GOOD)
    source = FileSource([tmp_path], interval=3600)  # no poll within the test: only a notification can do it
    changed = threading.Event()
    source.on_change(lambda _: changed.set())
    with watching(source):
        assert source._observer is not None  # watchdog watches this directory (inotify here)
        f.write_text(GOOD.replace("c1", "c2"))  # a file below a watched directory
        assert wait_until(lambda: names(source) == ["c2"], timeout=10)
        (tmp_path / "new.yaml").write_text(GOOD.replace("c1", "c3"))  # a new file
        assert wait_until(lambda: names(source) == ["c2", "c3"], timeout=10)
        replacement = tmp_path / ".new.yaml.tmp"  # an editor's save: write aside, then rename over the file
        replacement.write_text(GOOD.replace("c1", "c4"))
        os.replace(replacement, tmp_path / "new.yaml")
        assert wait_until(lambda: names(source) == ["c2", "c4"], timeout=10)
        (tmp_path / "new.yaml").unlink()
        assert wait_until(lambda: names(source) == ["c2"], timeout=10)
        changed.clear()
        (tmp_path / "notes.txt").write_text("not configuration")  # not even a wake-up: nothing to read
        names(source)  # our own reads are not changes either
        time.sleep(0.2)
        assert not changed.is_set()
    assert source._observer is None and source._thread is None


def test_a_writer_pausing_half_way_is_not_read_until_it_closes_the_file(tmp_path: Path) -> None:
    # a loaded machine: the writer truncates and writes half, then is descheduled for longer than any quiet
    # period; where close events are reported (inotify) the half-written file is never read
    f = tmp_path / "c.yaml"
    f.write_text(GOOD)
    source = FileSource([tmp_path], interval=3600)
    seen: list[list[str]] = []
    with watching(source):
        source.on_change(lambda s: seen.append(names(s)))
        if not source._close_events:
            pytest.skip("this platform's file notifications do not report a file closed after writing")
        new = GOOD.replace("c1", "c2")
        with f.open("w") as out:
            out.write(new[:20])
            out.flush()
            time.sleep(0.3)
            out.write(new[20:])
        assert wait_until(lambda: names(source) == ["c2"], timeout=10)
        time.sleep(0.1)
    assert seen == [["c2"]]  # one read, of the whole file


def test_a_named_file_is_watched_through_its_directory(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(GOOD)
    (tmp_path / "other.yaml").write_text(GOOD.replace("c1", "x"))  # beside it, not named: never read
    with watching(FileSource([f], interval=3600)) as source:
        f.write_text(GOOD.replace("c1", "c5"))
        assert wait_until(lambda: names(source) == ["c5"], timeout=10)


def test_without_notifications_the_poll_still_sees_a_change(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(FileSource, "_notifications", lambda self: None)
    f = tmp_path / "c.yaml"
    f.write_text(GOOD)
    with watching(FileSource([tmp_path], interval=0.02)) as source:
        f.write_text(GOOD.replace("c1", "c6"))
        assert wait_until(lambda: names(source) == ["c6"], timeout=10)
