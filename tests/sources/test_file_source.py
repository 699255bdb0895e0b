"""File sources reload changed files, but never a file caught half-written by the watcher."""

from __future__ import annotations

import os
from pathlib import Path

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
