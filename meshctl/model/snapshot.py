"""An immutable, indexed set of resources: what every view (routes, sandbox, xDS, TUI) is computed from."""

from __future__ import annotations

import os
import time
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Iterable, Iterator, TypeVar

from .findings import Finding, Severity
from .gcpause import gc_paused
from .loader import resource_from_document
from .resources import Resource
from .yamldoc import Document, LoadedFiles, load_files, parse_text

R = TypeVar("R", bound=Resource)


class Snapshot:
    """Resources by kind and key. Never mutated: a change anywhere produces a new Snapshot."""

    def __init__(
        self,
        resources: Iterable[Resource],
        findings: Iterable[Finding] = (),
        files: Iterable[str] = (),
    ) -> None:
        self.created_at = time.time()
        self.files: tuple[str, ...] = tuple(files)
        kept: list[Resource] = []
        problems = list(findings)
        # discovery objects of the same name live in several clusters: the cluster is part of their identity
        self._index: dict[tuple[str, str, str, str], Resource] = {}
        for r in resources:
            if not r.name:
                kept.append(r)  # already reported as missing-field; nameless ones are not duplicates
                continue
            existing = self._index.get(r.snapshot_key)
            if existing is not None:
                file, line, col = r.locate(("metadata", "name"))
                first = existing.locate(("metadata", "name"))
                where = f"{first[0]}:{first[1]}" if first[0] else "another source"
                problems.append(Finding(
                    Severity.ERROR, "duplicate-resource",
                    f"{r.display} is defined twice; the first definition ({where}) is used",
                    file=file, line=line, column=col, resource=r.display, path="metadata.name"))
                continue
            self._index[r.snapshot_key] = r
            kept.append(r)
        self.resources: tuple[Resource, ...] = tuple(kept)
        self.findings: tuple[Finding, ...] = tuple(problems)
        self._by_kind: dict[str, list[Resource]] = {}
        for r in kept:
            self._by_kind.setdefault(r.kind, []).append(r)

    def get(self, kind: str, namespace: str, name: str, cluster: str = "") -> Resource | None:
        return self._index.get((kind, namespace, name, cluster))

    def of_kind(self, kind: str) -> list[Resource]:
        return self._by_kind.get(kind, [])

    def typed(self, cls: type[R]) -> list[R]:
        return [r for r in self._by_kind.get(cls.__name__, []) if isinstance(r, cls)]

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def __len__(self) -> int:
        return len(self.resources)

    @property
    def has_errors(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)


def snapshot_from_documents(documents: Iterable[Document], findings: Iterable[Finding] = (),
                            files: Iterable[str] = ()) -> Snapshot:
    problems = list(findings)
    resources: list[Resource] = []
    with gc_paused():
        for doc in documents:
            resource, found = resource_from_document(doc)
            problems.extend(found)
            if resource is not None:
                resources.append(resource)
        return Snapshot(resources, problems, files)


def demo_data_dir() -> Path:
    return Path(str(importlib_resources.files("meshctl.demo").joinpath("data")))


def demo_files() -> list[Path]:
    return sorted(p for p in demo_data_dir().glob("*.yaml"))


def load_snapshot(paths: Iterable[str | os.PathLike[str]] = (), demo: bool = False) -> Snapshot:
    """Load files and directories (and the built-in demo mesh) into one snapshot."""
    targets: list[str | os.PathLike[str]] = list(paths)
    if demo:
        targets = [*map(str, demo_files()), *targets]
    with gc_paused():
        loaded: LoadedFiles = load_files(targets)
        return snapshot_from_documents(loaded.documents, loaded.findings, loaded.files)


def snapshot_from_text(text: str, name: str = "<text>") -> Snapshot:
    with gc_paused():
        docs, findings = parse_text(text, name)
        return snapshot_from_documents(docs, findings, [name])
