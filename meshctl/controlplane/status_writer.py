"""Writes each routing resource's status back to its cluster, through the status subresource, leader only.

After every new snapshot (and when this replica becomes leader) the writer computes each resource's status
and patches those that differ from what the cluster holds. It never writes a status the object already has,
nor one it wrote itself that the watch has not yet shown back (so a status write, which itself arrives as a
watch event and a new snapshot, ends there: no write storms). A conflict (the object moved on) is retried
with jittered exponential backoff while the object's generation is still the one the status describes.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..routing.incremental import routing_view_of
from ..routing.lint import lint
from ..sources.kube import KubeSource
from ..sources.kube_client import KindInfo, KubeError, KubeUnreachable, known_kind_info
from ..sources.workspace import ROUTING_VIEW_KEY, Workspace
from .resource_status import desired_statuses, gets_status, status_is_current

log = logging.getLogger(__name__)

WriteResult = str  # "written" | "conflict" | "error" | "skipped-not-leader"


@dataclass
class _Written:
    generation: int | None
    body: dict[str, Any]
    versions: frozenset[str]  # resourceVersions of the object from the snapshot we read up to our write's result


class StatusWriter:
    """Keeps `status` of every routing resource of the given kube sources current, while `is_leader()`."""

    def __init__(self, workspace: Workspace, sources: list[KubeSource], is_leader: Callable[[], bool], *,
                 on_write: Callable[[WriteResult, str], None] | None = None,
                 backoff_base: float = 0.1, backoff_max: float = 5.0, max_attempts: int = 5,
                 field_manager: str = "meshctl-xds") -> None:
        self.workspace = workspace
        self.sources = [s for s in sources if s.client is not None]
        self.is_leader = is_leader
        self.on_write = on_write
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_attempts = max_attempts
        self.field_manager = field_manager
        self.writes = 0  # successful status writes (tests and metrics read it)
        self.last_error = ""
        self._written: dict[tuple[str, str, str, str], _Written] = {}
        self._kind_infos: dict[tuple[str, str, str], KindInfo] = {}
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._retry_at: float | None = None

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> "StatusWriter":
        if self._thread is None:
            self._stop.clear()
            self._unsubscribe = self.workspace.subscribe(lambda _ws: self.poke())
            self._thread = threading.Thread(target=self._run, name="status-writer", daemon=True)
            self._thread.start()
            self.poke()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._dirty.set()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def poke(self) -> None:
        """Something changed (a snapshot, leadership): look again soon."""
        self._dirty.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            timeout = None if self._retry_at is None else max(0.0, self._retry_at - time.monotonic())
            self._dirty.wait(timeout if timeout is not None else 1.0)
            if self._stop.is_set():
                break
            due = self._retry_at is not None and time.monotonic() >= self._retry_at
            if not self._dirty.is_set() and not due:
                continue
            self._dirty.clear()
            self._retry_at = None
            try:
                if not self.sync():
                    self._retry_at = time.monotonic() + self.backoff_max
            except Exception as exc:  # never let the writer die; try again later
                log.exception("status sync failed")
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._retry_at = time.monotonic() + self.backoff_max

    # -- one pass -------------------------------------------------------------------------------------
    def sync(self) -> bool:
        """Write every status that is out of date; returns False when some write should be retried later."""
        if not self.is_leader():
            return True
        snapshot = self.workspace.snapshot
        view = self.workspace.derived(ROUTING_VIEW_KEY, routing_view_of(self.workspace))
        findings = lint(snapshot, view)
        # The resources of this very snapshot (not the sources' newer ones): a status must describe the
        # generation its findings were computed from.
        resources = [r for r in snapshot.resources if gets_status(r)]
        wanted = desired_statuses(resources, findings)
        complete = True
        present = set()
        for resource in resources:
            source = self._source_of(resource)
            if source is None:
                continue  # from a file, or a source this writer does not own
            present.add(self._key(source, resource))
            if self._stop.is_set() or not self.is_leader():
                return True  # a replica that is not leader stops writing at once
            body = wanted[resource.display]
            if not self._needs_write(source, resource, body):
                continue
            complete &= self._write(source, resource, body)
        for gone in set(self._written) - present:  # deleted resources: forget what we wrote on them
            del self._written[gone]
        return complete

    def _source_of(self, resource: Any) -> KubeSource | None:
        """The kube source a resource was read from (its text is named "kube:CONTEXT/Kind/ns/name")."""
        where = resource.doc.file if resource.doc is not None else ""
        for source in self.sources:
            if where.startswith(f"kube:{source.context}/"):
                return source
        return None

    def _key(self, source: KubeSource, resource: Any) -> tuple[str, str, str, str]:
        return (source.name, resource.api_version + "/" + resource.kind, resource.namespace, resource.name)

    def _needs_write(self, source: KubeSource, resource: Any, body: dict[str, Any]) -> bool:
        raw = resource.raw or {}
        if status_is_current(raw.get("status"), body):
            return False
        written = self._written.get(self._key(source, resource))
        rv = str((raw.get("metadata") or {}).get("resourceVersion") or "")
        # we wrote exactly this, and the object seen is one we saw or wrote over (the watch is just behind)
        return not (written is not None and written.body == body
                    and written.generation == resource.metadata.generation and rv in written.versions)

    def _kind_info(self, source: KubeSource, api_version: str, kind: str) -> KindInfo:
        key = (source.name, api_version, kind)
        info = self._kind_infos.get(key) or known_kind_info(api_version, kind)
        if info is None:
            assert source.client is not None
            info = source.client.discover_kind(api_version, kind)
        self._kind_infos[key] = info
        return info

    def _write(self, source: KubeSource, resource: Any, body: dict[str, Any]) -> bool:
        assert source.client is not None
        client = source.client
        what = f"{resource.display} in {source.context}"
        raw_meta = (resource.raw or {}).get("metadata") or {}
        rv = str(raw_meta.get("resourceVersion") or "")
        seen = {rv}
        generation = resource.metadata.generation
        try:
            path = self._kind_info(source, resource.api_version, resource.kind).object_path(
                resource.namespace or None, resource.name) + "/status"
        except (KubeError, KubeUnreachable) as exc:
            return self._failed(what, exc)
        for attempt in range(self.max_attempts):
            if not self.is_leader():
                self._report("skipped-not-leader", what)
                return True
            patch = {"metadata": {"resourceVersion": rv}, "status": body}
            try:
                stored = client.request("PATCH", path, [("fieldManager", self.field_manager)], body=patch,
                                        content_type="application/merge-patch+json")
            except KubeUnreachable as exc:
                return self._failed(what, exc)
            except KubeError as exc:
                if exc.code == 404:
                    return True  # deleted meanwhile; its DELETED event is on its way
                if exc.code != 409:
                    return self._failed(what, exc)
                self._report("conflict", what)
                time.sleep(self._backoff(attempt))
                try:
                    current = client.request("GET", path)
                except (KubeError, KubeUnreachable) as again:
                    if isinstance(again, KubeError) and again.code == 404:
                        return True
                    return self._failed(what, again)
                meta = current.get("metadata") or {}
                if meta.get("generation") != generation:
                    return True  # the spec moved on: the next snapshot brings the status to write
                if status_is_current(current.get("status"), body):
                    return True
                rv = str(meta.get("resourceVersion") or "")
                seen.add(rv)
                continue
            after = str((stored.get("metadata") or {}).get("resourceVersion") or "")
            self._written[self._key(source, resource)] = _Written(generation, body, frozenset(seen | {after}))
            self.writes += 1
            self._report("written", what)
            log.info("status of %s: %s", what, body)
            return True
        return self._failed(what, RuntimeError(f"still conflicting after {self.max_attempts} attempts"))

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** attempt))
        return ceiling * random.uniform(0.5, 1.0)

    def _failed(self, what: str, exc: BaseException) -> bool:
        self.last_error = f"{what}: {exc}"
        log.warning("status of %s not written: %s", what, exc)
        self._report("error", what)
        return False

    def _report(self, result: WriteResult, what: str) -> None:
        if self.on_write is not None:
            try:
                self.on_write(result, what)
            except Exception:
                log.exception("status write callback failed")
