"""The per-file parse cache gives exactly what a fresh load gives, after any sequence of edits to the files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl.model import parsed_files
from meshctl.model.loader import resource_from_document
from meshctl.model.parsed_files import ParsedFiles
from meshctl.model.yamldoc import expand_paths, load_files

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs/examples/004-advanced-routing/07-route-specificity"

TABLE = """apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: RouteTable
metadata:
  name: {name}
  namespace: gloo-mesh
  labels: {{team: {label}}}
spec:
  weight: {weight}
  routes:
  - name: r-{name}
    matchers:
    - uri:
        prefix: /{prefix}
    directResponseAction:
      status: 200
      body: {body}
"""


def fresh(paths: list[str]) -> tuple[list[Any], list[Any], list[str]]:
    """What a file source built before the cache: load_files, then every document to a resource."""
    loaded = load_files(paths)
    resources, findings = [], list(loaded.findings)
    for doc in loaded.documents:
        resource, found = resource_from_document(doc)
        findings.extend(found)
        if resource is not None:
            resources.append(resource)
    return resources, findings, loaded.files


EDITS = st.one_of(
    st.tuples(st.just("table"), st.integers(0, 4), st.sampled_from(["a", "b"]), st.integers(-2, 30),
              st.sampled_from(["x", "y", "x/z"]), st.text("abc ", min_size=1, max_size=5)),
    st.tuples(st.just("broken"), st.integers(0, 4), st.sampled_from(["a: [1,\n", "a: 1\na: 2\n", "- x\n",
                                                                     "kind: RouteTable\n", "\t bad"])),
    st.tuples(st.just("binary"), st.integers(0, 4)),
    st.tuples(st.just("delete"), st.integers(0, 4)),
    st.tuples(st.just("touch"), st.integers(0, 4)),  # same bytes written again: must come from the cache
)


def apply(directory: Path, edit: tuple[Any, ...]) -> None:
    path = directory / f"table-{edit[1]}.yaml"
    if edit[0] == "table":
        _, i, label, weight, prefix, body = edit
        path.write_text(TABLE.format(name=f"t{i}", label=label, weight=weight, prefix=prefix, body=repr(body)))
    elif edit[0] == "broken":
        path.write_text(edit[2])
    elif edit[0] == "binary":
        path.write_bytes(b"kind: \x00\xff")
    elif edit[0] == "delete":
        path.unlink(missing_ok=True)
    elif path.exists():
        path.write_bytes(path.read_bytes())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(EDITS, min_size=1, max_size=12))
def test_cached_load_equals_a_fresh_load_after_every_edit(tmp_path_factory: Any, edits: list[tuple[Any, ...]]) -> None:
    directory = tmp_path_factory.mktemp("config")
    shutil.copytree(EXAMPLE, directory, dirs_exist_ok=True)
    cache = ParsedFiles()
    paths = [str(directory)]
    for edit in [("touch", 0), *edits]:
        apply(directory, edit)
        got = cache.load(paths)
        resources, findings, files = fresh(paths)
        assert got.files == files
        assert got.resources == resources
        assert got.findings == findings


def test_only_changed_files_are_parsed(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path, dirs_exist_ok=True)
    for i in range(3):
        apply(tmp_path, ("table", i, "a", i, "x", "one"))
    cache = ParsedFiles()
    first = cache.load([str(tmp_path)])
    assert len(first.parsed) == len(first.files) == 6
    apply(tmp_path, ("touch", 1))
    assert cache.load([str(tmp_path)]).parsed == []
    apply(tmp_path, ("table", 1, "b", 5, "y", "two"))
    again = cache.load([str(tmp_path)])
    assert again.parsed == [str(tmp_path / "table-1.yaml")]
    assert [r.name for r in again.resources if r.name == "t1"] == ["t1"]
    # unchanged files give the very same objects: nothing of theirs was rebuilt
    before = {id(r) for r in first.resources if r.name != "t1"}
    assert before <= {id(r) for r in again.resources}


# -- files not read again while their status is as it was -------------------------------------------------------

class Reads:
    """Counts the files a ParsedFiles reads (its `_entry` reads and hashes one file)."""

    def __init__(self, cache: ParsedFiles, monkeypatch: Any) -> None:
        self.paths: list[str] = []
        read = cache._entry

        def counted(path: Path, key: str, parsed: list[str]) -> Any:
            self.paths.append(key)
            return read(path, key, parsed)

        monkeypatch.setattr(cache, "_entry", counted)


def statuses(directory: Path) -> tuple[list[Path], list[Any], dict[str, os.stat_result]]:
    files, findings = expand_paths([str(directory)])
    return files, findings, {str(f): os.stat(f) for f in files}


def stamped(directory: Path, edit: tuple[Any, ...], clock: list[int]) -> None:
    """`apply`, then give the file a modification time of its own: a file system clock finer than any two writes."""
    apply(directory, edit)
    path = directory / f"table-{edit[1]}.yaml"
    if path.exists():
        clock[0] += 1_000_000
        os.utime(path, ns=(clock[0], clock[0]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(EDITS, min_size=1, max_size=12))
def test_a_load_trusting_settled_statuses_equals_a_fresh_load(tmp_path_factory: Any, edits: list[tuple[Any, ...]],
                                                              monkeypatch: Any) -> None:
    monkeypatch.setattr(parsed_files, "SETTLED_NS", -1)  # every status counts as settled at once
    directory = tmp_path_factory.mktemp("config")
    shutil.copytree(EXAMPLE, directory, dirs_exist_ok=True)
    cache, clock = ParsedFiles(), [10**18]
    for edit in [("touch", 0), *edits]:
        stamped(directory, edit, clock)
        got = cache.load_files(*statuses(directory))
        resources, findings, files = fresh([str(directory)])
        assert (got.files, got.resources, got.findings) == (files, resources, findings)


def test_a_settled_unchanged_file_is_not_read_again(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(parsed_files, "SETTLED_NS", -1)
    for i in range(3):
        apply(tmp_path, ("table", i, "a", i, "x", "one"))
    cache = ParsedFiles()
    reads = Reads(cache, monkeypatch)
    cache.load_files(*statuses(tmp_path))
    assert len(reads.paths) == 3
    reads.paths.clear()
    cache.load_files(*statuses(tmp_path))
    assert reads.paths == []
    stamped(tmp_path, ("table", 1, "b", 5, "y", "two"), [10**18])
    cache.load_files(*statuses(tmp_path))
    assert reads.paths == [str(tmp_path / "table-1.yaml")]


def test_a_young_file_is_read_on_every_load(tmp_path: Path, monkeypatch: Any) -> None:
    # written just now: a second write within the file system clock's tick could leave its status as it is
    apply(tmp_path, ("table", 0, "a", 0, "x", "one"))
    cache = ParsedFiles()
    reads = Reads(cache, monkeypatch)
    for _ in range(3):
        cache.load_files(*statuses(tmp_path))
    assert len(reads.paths) == 3
