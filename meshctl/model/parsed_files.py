"""Parsed YAML files kept by content: a re-load parses only the files whose bytes changed.

A watched directory of a hundred route-table files changes one file at a time; parsing and model-building the
other ninety-nine again is most of what an edit used to cost. Reading and hashing a thousand unchanged files is
the next cost (a 100,000-route directory), so a file whose status (modification and change times, size, inode)
is what it was when it was last read is not read again, provided that status had settled when it was taken: its
times were more than `SETTLED_NS` old. Within that window a second write could leave every field as it was
(coarse file-system clocks), so a young file is always read and compared by content (git's "racily clean" rule). The result of `load` is, resource for resource and
finding for finding, what a fresh `load_files` + `resource_from_document` gives (tests/model/test_parsed_files.py
checks it over random edit sequences).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable

from .findings import Finding
from .gcpause import gc_paused
from .loader import resource_from_document
from .resources import Resource
from .yamldoc import decode_text, expand_paths, parse_text, read_text

Stamp = tuple[int, int, int, int]  # st_mtime_ns, st_ctime_ns, st_size, st_ino
SETTLED_NS = 2_000_000_000  # above any file system's timestamp granularity that meshctl meets (FAT: 2 s)


def stamp_of(status: os.stat_result) -> Stamp:
    return (status.st_mtime_ns, status.st_ctime_ns, status.st_size, status.st_ino)


@dataclass(frozen=True)
class ParsedFile:
    digest: bytes
    resources: tuple[Resource, ...]
    file_findings: tuple[Finding, ...]  # reading and YAML problems
    resource_findings: tuple[Finding, ...]  # model problems of its documents
    settled: Stamp | None = None  # the file's status before its last read, if it had settled by then


@dataclass(frozen=True)
class LoadResult:
    resources: list[Resource]
    findings: list[Finding]
    files: list[str]
    parsed: list[str]  # the files parsed this time (new or changed); the others came from the cache


class ParsedFiles:
    """The per-file cache behind a file source. Not thread-safe: one source owns one instance."""

    def __init__(self) -> None:
        self._files: dict[str, ParsedFile] = {}

    def load(self, paths: Iterable[str | os.PathLike[str]]) -> LoadResult:
        files, findings = expand_paths(paths)
        return self.load_files(files, findings)

    def load_files(self, files: list[Path], findings: list[Finding],
                   statuses: dict[str, os.stat_result] | None = None) -> LoadResult:
        """`files` as `expand_paths` listed them (with its findings); `statuses`: each file's os.stat, taken just
        now by the caller (missing: read the file)."""
        now = time.time_ns()
        resources: list[Resource] = []
        resource_findings: list[Finding] = []
        kept: dict[str, ParsedFile] = {}
        parsed: list[str] = []
        with gc_paused():
            for path in files:
                key = str(path)
                status = statuses.get(key) if statuses is not None else None
                cached = self._files.get(key)
                if status is not None and cached is not None and cached.settled == stamp_of(status):
                    entry = cached  # unchanged since it was read (see the module's docstring)
                else:
                    entry = self._entry(path, key, parsed)
                    settled = stamp_of(status) if status is not None and \
                        now - max(status.st_mtime_ns, status.st_ctime_ns) > SETTLED_NS else None
                    if entry.settled != settled:
                        entry = replace(entry, settled=settled)
                kept[key] = entry
                resources.extend(entry.resources)
                findings.extend(entry.file_findings)
                resource_findings.extend(entry.resource_findings)
        self._files = kept  # files no longer listed are forgotten
        # the order of a fresh load: every file's reading/YAML findings, then the documents' model findings
        return LoadResult(resources, findings + resource_findings, [str(f) for f in files], parsed)

    def _entry(self, path: Path, key: str, parsed: list[str]) -> ParsedFile:
        try:
            raw = path.read_bytes()
        except OSError:
            _, problems = read_text(path)  # the same `unreadable` finding as a fresh load
            parsed.append(key)
            return ParsedFile(b"", (), tuple(problems), ())
        digest = hashlib.blake2b(raw, digest_size=16).digest()
        cached = self._files.get(key)
        if cached is not None and cached.digest == digest:
            return cached
        parsed.append(key)
        text, problems = decode_text(raw, key)
        file_findings = list(problems)
        resources: list[Resource] = []
        resource_findings: list[Finding] = []
        if text is not None:
            documents, problems = parse_text(text, key)
            file_findings.extend(problems)
            for document in documents:
                resource, found = resource_from_document(document)
                resource_findings.extend(found)
                if resource is not None:
                    resources.append(resource)
        return ParsedFile(digest, tuple(resources), tuple(file_findings), tuple(resource_findings))
