"""Live Kubernetes source: lists, then watches, Gloo objects and discovery objects of one kubeconfig context."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from ..model.findings import Finding, Severity
from ..model.loader import resource_from_document
from ..model.resources import CLUSTER_ANNOTATION, Resource
from ..model.yamldoc import Document, SourceText
from .base import Source
from .kube_client import (
    DISCOVERY_KIND_INFOS,
    GLOO_KIND_INFOS,
    JSON,
    WATCHED_KINDS,
    KindInfo,
    KubeClient,
    KubeConfigError,
    KubeError,
    KubeUnreachable,
    WatchStream,
)

DISCOVERY_KIND_NAMES = frozenset(i.kind for i in DISCOVERY_KIND_INFOS)
GLOO_KIND_NAMES = frozenset(i.kind for i in GLOO_KIND_INFOS)


class _Gone(Exception):
    """The resourceVersion we hold is too old (410): list again."""


class KubeObjectText(SourceText):
    """The YAML text of a live object, rendered only when something asks for a position in it."""

    def __init__(self, name: str, data: JSON) -> None:
        super().__init__(name, render=lambda: yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False))


@dataclass
class _KindWatch:
    """What one context knows about one kind."""

    info: KindInfo
    objects: dict[tuple[str, str], Resource] = field(default_factory=dict)
    findings: dict[tuple[str, str], list[Finding]] = field(default_factory=dict)
    resource_version: str | None = None
    synced: bool = False
    error: str = ""
    missing: bool = False  # the CRD (or API) is not served
    relists: int = 0
    # (uid, resourceVersion) each held object was converted from: a relist reuses the unchanged ones, so the
    # routing view's incremental rebuild sees them as the same objects (as a file source's parse cache does)
    versions: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)


def _identity(info: KindInfo, raw: JSON) -> tuple[tuple[str, str], tuple[str, str] | None]:
    """An API object's key in a watch (namespace, name) and its (uid, resourceVersion), when it has both."""
    meta = raw.get("metadata") if isinstance(raw, dict) else None
    if not isinstance(meta, dict):
        return ("", ""), None
    key = (str(meta.get("namespace", "")) if info.namespaced else "", str(meta.get("name", "")))
    uid, rv = meta.get("uid"), meta.get("resourceVersion")
    return key, (str(uid), str(rv)) if uid and rv else None


def _trim_pod(raw: JSON) -> JSON:
    """Pods only matter for their node, IP and workload labels; keep nothing else (big clusters, big pods)."""
    meta = raw.get("metadata") or {}
    spec = raw.get("spec") or {}
    status = raw.get("status") or {}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {k: meta[k] for k in ("name", "namespace", "labels", "resourceVersion", "uid") if k in meta},
        "spec": {"nodeName": spec.get("nodeName", "")},
        "status": {k: status[k] for k in ("podIP", "phase") if k in status},
    }


def _trim_node(raw: JSON) -> JSON:
    """Nodes only matter for their topology labels (region, zone, subzone)."""
    meta = raw.get("metadata") or {}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {k: meta[k] for k in ("name", "labels", "resourceVersion", "uid") if k in meta}}


class KubeSource(Source):
    """One kubeconfig context as a source. `load()` lists once; `start()` keeps it current with watches.

    Discovery objects are stamped with the annotation meshctl.io/cluster so the rest of meshctl can tell
    clusters apart. A context that cannot be reached or denies access is `stale` (with the reason) and keeps
    its last known objects; it returns to `ok` by itself once the API server answers again.
    """

    kind = "kube"

    def __init__(self, context: str | None = None, *, kubeconfig: str | None = None,
                 cluster_name: str | None = None, namespace: str | None = None, management: bool = True,
                 kinds: tuple[KindInfo, ...] = WATCHED_KINDS, client: KubeClient | None = None,
                 backoff_base: float = 0.5, backoff_max: float = 30.0, crd_recheck_seconds: float = 60.0,
                 watch_timeout_seconds: int = 300, page_size: int = 500, publish_delay: float = 0.02,
                 publish_quiet: float = 0.001) -> None:
        self.kubeconfig = kubeconfig
        self.client = client
        self.context = context if context is not None else (client.context if client else None)
        self.namespace = namespace or None
        self.management = management
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.crd_recheck_seconds = crd_recheck_seconds
        self.watch_timeout_seconds = watch_timeout_seconds
        self.page_size = page_size
        # A change after a calm spell is published once the events have been quiet for `publish_quiet` (a lone
        # edit reaches Envoy at once); while changes keep coming (within `publish_delay` of the last publish),
        # they are gathered for `publish_delay` (a burst of events is a few publishes, not one per event).
        self.publish_delay = publish_delay
        self.publish_quiet = publish_quiet
        self._changed_at = 0.0  # monotonic time of the last change to publish
        self._published_at = 0.0  # monotonic time of the last publish
        self._config_error = ""
        if self.client is None:
            try:
                self.client = KubeClient(context, kubeconfig)
                self.context = self.client.context
            except KubeConfigError as exc:
                self._config_error = str(exc)
        self.cluster_name = cluster_name or self.context or "?"
        super().__init__(f"kube:{self.context or '?'}")
        # keyed by apiVersion and kind: v1beta1 and Gloo v2 both have a RouteTable, a VirtualGateway, ...
        self._kinds = {(info.api_version, info.kind): _KindWatch(info) for info in kinds}
        self._state_lock = threading.RLock()
        self._stopping = threading.Event()
        self._dirty = threading.Event()
        self._threads: list[threading.Thread] = []
        self._streams: dict[tuple[str, str], WatchStream] = {}
        self._stale_since: float | None = None
        self._last_event_at: float | None = None  # last list or watch event received
        self._last_sync_at: float | None = None  # last successful list
        self.on_watch_event: Callable[[str, str], None] | None = None  # (kind, event type), e.g. for metrics
        if self._config_error:
            self.status.state = "error"
            self.status.reason = self._config_error

    # -- what others read -------------------------------------------------------------------------
    def describe(self) -> dict[str, object]:
        with self._state_lock:
            missing = sorted(w.info.resource for w in self._kinds.values() if w.missing)
        info: dict[str, object] = {"name": self.name, "kind": self.kind, "context": self.context,
                                   "cluster": self.cluster_name, "server": getattr(self.client, "host", None),
                                   "namespace": self.namespace or "*", "management": self.management,
                                   **self.status.to_dict()}
        if missing:
            info["missingKinds"] = missing
        return info

    @property
    def holds_routing(self) -> bool:
        with self._state_lock:
            return any(w.objects for k, w in self._kinds.items() if k[1] in GLOO_KIND_NAMES)

    # -- lifecycle --------------------------------------------------------------------------------
    def load(self) -> None:
        """List every kind once (blocking). An unreachable server marks the source stale; nothing raises."""
        if self.client is None:
            return
        unreachable = ""
        for watch in list(self._kinds.values()):
            if unreachable:  # one refused connection says it for every kind; do not wait 12 timeouts
                self._set_error(watch, unreachable, notify=False)
                continue
            try:
                self._relist(watch)
            except KubeUnreachable as exc:
                unreachable = str(exc)
                self._set_error(watch, unreachable, notify=False)
            except KubeError as exc:
                self._handle_api_error(watch, exc, notify=False)
        self._update_state(notify=False)
        self._publish_now()

    def start(self) -> None:
        if self.client is None or self._threads:
            return
        self._stopping.clear()
        publisher = threading.Thread(target=self._publisher, name=f"{self.name}:publish", daemon=True)
        self._threads.append(publisher)
        for watch in self._kinds.values():
            t = threading.Thread(target=self._run_kind, args=(watch,), name=f"{self.name}:{watch.info.plural}",
                                 daemon=True)
            self._threads.append(t)
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stopping.set()
        self._dirty.set()
        with self._state_lock:
            streams = list(self._streams.values())
        for s in streams:
            s.close()
        for t in self._threads:
            t.join(timeout=3)
        self._threads = []

    def close(self) -> None:
        self.stop()
        if self.client is not None:
            self.client.close()

    # -- listing and watching ---------------------------------------------------------------------
    def _relist(self, watch: _KindWatch) -> None:
        assert self.client is not None
        path = watch.info.collection_path(self.namespace)
        items: list[JSON] = []
        cont: str | None = None
        while True:
            query = [("limit", str(self.page_size))] + ([("continue", cont)] if cont else [])
            try:
                page = self.client.request("GET", path, query)
            except KubeError as exc:
                if exc.code == 410 and cont:  # continue token expired mid-list: start over, consistently
                    items, cont = [], None
                    continue
                raise
            items.extend(page.get("items") or [])
            meta = page.get("metadata") or {}
            cont = meta.get("continue") or None
            if not cont:
                break
        objects: dict[tuple[str, str], Resource] = {}
        findings: dict[tuple[str, str], list[Finding]] = {}
        versions: dict[tuple[str, str], tuple[str, str]] = {}
        with self._state_lock:
            held, held_findings, held_versions = watch.objects, watch.findings, watch.versions
        for raw in items:
            key, version = _identity(watch.info, raw)
            if version is not None and held_versions.get(key) == version and key in held:
                objects[key], versions[key] = held[key], version
                if key in held_findings:
                    findings[key] = held_findings[key]
                continue
            converted = self._convert(watch.info, raw)
            if converted is not None:
                key, resource, found = converted
                objects[key] = resource
                if version is not None:
                    versions[key] = version
                if found:
                    findings[key] = found
        with self._state_lock:
            watch.objects = objects
            watch.findings = findings
            watch.versions = versions
            watch.resource_version = meta.get("resourceVersion") or None
            watch.synced = True
            watch.missing = False
            watch.error = ""
            watch.relists += 1
            self._last_event_at = self._last_sync_at = time.time()
        self._mark_dirty()

    def _watch(self, watch: _KindWatch) -> None:
        """Follow one watch until it ends; raises _Gone / KubeError / KubeUnreachable."""
        assert self.client is not None
        query = [("watch", "true"), ("resourceVersion", watch.resource_version or ""),
                 ("allowWatchBookmarks", "true"), ("timeoutSeconds", str(self.watch_timeout_seconds))]
        stream = self.client.watch(watch.info.collection_path(self.namespace), query,
                                   read_timeout=self.watch_timeout_seconds + 30)
        with self._state_lock:
            self._streams[(watch.info.api_version, watch.info.kind)] = stream
        if self._stopping.is_set():
            stream.close()
            return
        if watch.error:
            with self._state_lock:
                watch.error = ""
            self._update_state()
        try:
            for event in stream.events():
                self._apply_event(watch, event)
                if self._stopping.is_set():
                    break
        except (_Gone, KubeError):
            raise
        except Exception:  # a broken stream (server gone) just ends this watch; reconnecting tells us more
            pass
        finally:
            with self._state_lock:
                self._streams.pop((watch.info.api_version, watch.info.kind), None)
            stream.close()

    def _apply_event(self, watch: _KindWatch, event: JSON) -> None:
        kind = event.get("type")
        obj = event.get("object") or {}
        if self.on_watch_event is not None:
            self.on_watch_event(watch.info.kind, str(kind))
        if kind == "ERROR":
            if int(obj.get("code") or 0) == 410:
                raise _Gone(obj.get("message", "resource version too old"))
            raise KubeError.from_status(obj)
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if kind == "BOOKMARK":
            if rv:
                with self._state_lock:
                    watch.resource_version = rv
            return
        _, version = _identity(watch.info, obj)
        converted = self._convert(watch.info, obj)
        with self._state_lock:
            if rv:
                watch.resource_version = rv
            if converted is None:
                return
            key, resource, found = converted
            if kind == "DELETED":
                watch.objects.pop(key, None)
                watch.findings.pop(key, None)
                watch.versions.pop(key, None)
            elif kind in ("ADDED", "MODIFIED"):
                watch.objects[key] = resource
                if version is not None:
                    watch.versions[key] = version
                else:
                    watch.versions.pop(key, None)
                if found:
                    watch.findings[key] = found
                else:
                    watch.findings.pop(key, None)
            else:
                return
        self._last_event_at = time.time()
        self._mark_dirty()

    def _run_kind(self, watch: _KindWatch) -> None:
        attempt = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                if watch.resource_version is None or not watch.synced:
                    self._relist(watch)
                    self._update_state()
                self._watch(watch)
                # a watch that ends at once without error (e.g. a closing server) must not spin
                attempt = attempt + 1 if time.monotonic() - started < 0.05 else 0
                if attempt:
                    self._sleep(self._backoff(attempt))
            except _Gone:
                with self._state_lock:
                    watch.resource_version = None
                    watch.synced = False
            except KubeUnreachable as exc:
                attempt += 1
                self._set_error(watch, str(exc))
                self._sleep(self._backoff(attempt))
            except KubeError as exc:
                attempt += 1
                wait = self._handle_api_error(watch, exc)
                self._sleep(wait if wait is not None else self._backoff(attempt))
            except Exception as exc:  # never let a watcher die silently
                attempt += 1
                self._set_error(watch, f"{type(exc).__name__}: {exc}")
                self._sleep(self._backoff(attempt))

    def _handle_api_error(self, watch: _KindWatch, exc: KubeError, notify: bool = True) -> float | None:
        """Record what the server said; returns how long to wait before trying again (None: back off)."""
        if exc.code == 410:
            with self._state_lock:
                watch.resource_version = None
                watch.synced = False
            return 0.0
        if exc.code == 404 and watch.info.kind in GLOO_KIND_NAMES:
            with self._state_lock:
                first = not watch.missing
                watch.missing = True
                watch.synced = False
                watch.error = ""
                watch.resource_version = None
                had_objects = bool(watch.objects)
                watch.objects = {}
                watch.findings = {}
            if first or had_objects:
                self._mark_dirty()
            self._update_state(notify=notify and first)
            return self.crd_recheck_seconds
        if exc.code in (401, 403):
            what = "not authenticated" if exc.code == 401 else "access denied"
            self._set_error(watch, f"{what} ({watch.info.plural}): {exc.message}", notify=notify)
        else:
            self._set_error(watch, f"HTTP {exc.code} {exc.reason} ({watch.info.plural}): {exc.message}",
                            notify=notify)
        return None

    def _set_error(self, watch: _KindWatch, message: str, notify: bool = True) -> None:
        with self._state_lock:
            changed = watch.error != message
            watch.error = message
        if changed:
            self._update_state(notify=notify)

    def _update_state(self, notify: bool = True) -> None:
        with self._state_lock:
            errors = [w.error for w in self._kinds.values() if w.error]
            pending = [w for w in self._kinds.values() if not w.synced and not w.missing]
            if self._config_error:
                state, reason = "error", self._config_error
            elif errors:
                if self._stale_since is None:
                    self._stale_since = time.time()
                state = "stale"
                reason = "; ".join(dict.fromkeys(errors))
                reason += f" (since {time.strftime('%H:%M:%S', time.localtime(self._stale_since))}; " \
                          "showing the last known state)"
            elif pending:
                state, reason = "syncing", f"listing {', '.join(w.info.plural for w in pending)}"
            else:
                self._stale_since = None
                state, reason = "ok", ""
            changed = (state, reason) != (self.status.state, self.status.reason)
            self.status.state = state  # type: ignore[assignment]
            self.status.reason = reason
        if changed and notify:
            self._mark_dirty()

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** min(attempt - 1, 16)))
        return ceiling * random.uniform(0.5, 1.0)  # jitter: contexts and kinds do not retry in lockstep

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    # -- publishing -------------------------------------------------------------------------------
    def _publisher(self) -> None:
        while not self._stopping.is_set():
            if not self._dirty.wait(0.5):
                continue
            if self._stopping.is_set():
                break
            self._settle()
            self._dirty.clear()
            self._publish_now()
            self._published_at = time.monotonic()

    def _settle(self) -> None:
        """Wait for the rest of a burst (see publish_delay and publish_quiet)."""
        first = time.monotonic()
        if first - self._published_at < self.publish_delay:  # a burst in progress: gather it
            time.sleep(self.publish_delay)
            return
        deadline = first + self.publish_delay
        while not self._stopping.is_set():
            now = time.monotonic()
            wait = min(self._changed_at + self.publish_quiet, deadline) - now
            if wait <= 0:
                return
            time.sleep(wait)

    def _mark_dirty(self) -> None:
        self._changed_at = time.monotonic()
        self._dirty.set()

    def _publish_now(self) -> None:
        with self._state_lock:
            resources: list[Resource] = []
            findings: list[Finding] = []
            for watch in self._kinds.values():
                resources.extend(watch.objects.values())
                for found in watch.findings.values():
                    findings.extend(found)
                if watch.missing and self.management:
                    findings.append(self._missing_finding(watch.info))
        self._publish(resources, findings, [])
        # _publish stamps "now"; what the operator wants is when the cluster last told us something
        self.status.last_event_at = self._last_event_at
        self.status.last_sync_at = self._last_sync_at

    def _missing_finding(self, info: KindInfo) -> Finding:
        return Finding(Severity.WARNING, "kube-crd-missing",
                       f"context {self.context}: the API server does not serve {info.resource} "
                       f"(CustomResourceDefinition not installed?); no {info.kind} objects are read from it. "
                       "Install the CRDs from deploy/crds/ or ignore this for a workload cluster.",
                       file=f"kube:{self.context}")

    # -- turning API objects into model resources ---------------------------------------------------
    def _convert(self, info: KindInfo, raw: JSON) -> tuple[tuple[str, str], Resource, list[Finding]] | None:
        if not isinstance(raw, dict):
            return None
        if info.kind == "Pod":
            raw = _trim_pod(raw)
        elif info.kind == "Node":
            raw = _trim_node(raw)
        else:
            raw.setdefault("apiVersion", info.api_version)  # list items of built-in kinds omit these
            raw.setdefault("kind", info.kind)
            meta = raw.get("metadata")
            if isinstance(meta, dict):
                meta.pop("managedFields", None)
        meta = raw.setdefault("metadata", {})
        if info.kind in DISCOVERY_KIND_NAMES:
            annotations = dict(meta.get("annotations") or {})
            annotations[CLUSTER_ANNOTATION] = self.cluster_name
            meta["annotations"] = annotations
        name = str(meta.get("name", ""))
        namespace = str(meta.get("namespace", "")) if info.namespaced else ""
        where = f"kube:{self.context}/{info.kind}/{namespace + '/' if namespace else ''}{name}"
        doc = Document(KubeObjectText(where, raw), 0, raw)
        resource, findings = resource_from_document(doc)
        if resource is None:
            return None
        return (namespace, name), resource, findings

