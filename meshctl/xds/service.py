"""The xDS service: keeps Envoys in step with the workspace (translate on every change, push through ADS).

Workspace change (file edit, TUI edit, cluster watch) → new snapshot → `refresh()` on the ADS server →
the builder translates the snapshot for each connected node group → changed resources are pushed.
Health overrides (from the failover work) re-push endpoints only.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

from envoy_data_plane.envoy.config.core.v3 import HealthStatus

from ..mesh.index import MeshIndex
from ..model.gcpause import FrozenHeap
from ..routing.incremental import routing_view_of
from ..sources.workspace import MESH_INDEX_KEY, ROUTING_VIEW_KEY, Workspace
from . import codec
from .cache import NodeInfo, SnapshotCache, XdsSnapshot
from .events import XdsEvent
from .route_memo import RouteMemo
from .route_scopes import ScopeMemo
from .runner import BackgroundXdsServer
from .server import ServerTls
from .translate import NodeRole, TranslateOptions, Translator, metadata_port
from .translate_clusters import ClusterMemo

DEFAULT_LISTEN = "127.0.0.1:18000"
CONTENT_VERSION_PREFIX = "c-"  # marks a version that is a pure content hash (same on every replica)
_TRANSLATOR_KEY = "xds-translator"


def node_group(node: NodeInfo) -> Hashable:
    """Nodes with the same role, locality and listener port get the same resources."""
    return (node.cluster, node.locality, metadata_port(node))


class XdsService:
    """An ADS server (own thread) whose snapshots are translated from a Workspace, re-pushed on change."""

    def __init__(self, workspace: Workspace, options: TranslateOptions | None = None,
                 listen: str = DEFAULT_LISTEN, tls: ServerTls | None = None, *,
                 content_versions: bool = False) -> None:
        self.workspace = workspace
        self.options = options or TranslateOptions()
        self.memo = ClusterMemo()
        self.route_memo = RouteMemo()  # Envoy routes of unchanged flattened routes, across snapshots
        self.scope_memo = ScopeMemo()  # scoped routes' messages of unchanged scopes, across snapshots
        self._overrides: dict[tuple[str, int], HealthStatus] = {}
        self._lock = threading.Lock()
        builder: Any = self.build
        if content_versions:
            # Versions are the content hash alone (no per-process boot id): replicas serving the same
            # configuration agree on every version, so an Envoy moving between them is not pushed anything.
            builder = SnapshotCache(self.build, group_by=node_group, version_prefix=CONTENT_VERSION_PREFIX)
        self.background = BackgroundXdsServer(builder, listen, tls, group_by=node_group)
        self.server = self.background.server  # the XdsServer itself (its methods run on its event loop)
        self._unsubscribe: Callable[[], None] | None = None
        self.last_change_at: float | None = None
        self.mesh_tls: Any = None  # a meshctl.xds.mesh_tls.MeshTls: mTLS and SDS for meshed proxies
        # the live model out of the cyclic collector between rebuilds, while serving (model/gcpause.py)
        self.heap = FrozenHeap()
        self._serving = False

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> "XdsService":
        self.background.start()
        self._unsubscribe = self.workspace.subscribe(self._workspace_changed)
        self._serving = True
        return self

    def stop(self) -> None:
        self._serving = False
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.background.stop()
        self.heap.stop()

    def __enter__(self) -> "XdsService":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        return self.background.address

    @property
    def bound_port(self) -> int:
        return self.background.bound_port

    # -- translation ----------------------------------------------------------------------------------
    def translator(self) -> Translator:
        """The translator of the workspace's current snapshot (built once per snapshot)."""
        ws = self.workspace

        def make(snapshot: Any) -> Translator:
            current = ws.snapshot is snapshot  # share the views only if no newer snapshot arrived meanwhile
            # incremental across this workspace's snapshots; FREEZE_CONFIG trees keep their last good routes
            view = ws.derived(ROUTING_VIEW_KEY, routing_view_of(ws)) \
                if current else None
            index = ws.derived(MESH_INDEX_KEY, MeshIndex) if current else None
            return Translator(snapshot, self.options, view=view, index=index, memo=self.memo,
                              route_memo=self.route_memo, scope_memo=self.scope_memo)

        return ws.derived(_TRANSLATOR_KEY, make)

    def build(self, node: NodeInfo) -> XdsSnapshot:
        """The snapshot builder the ADS server calls for each node group."""
        with self._lock:
            overrides = dict(self._overrides)
        snapshot = self.translator().snapshot_for(node, overrides, version=f"ws{self.workspace.version}")
        tls = self.mesh_tls
        if tls is not None:
            snapshot = tls.decorate(snapshot, node)
        if self._serving:  # a long-running server; a one-off build (a dump, a test) leaves the collector alone
            self.heap.settled()
        return snapshot

    def resources_for(self, node: NodeInfo) -> Any:
        with self._lock:
            overrides = dict(self._overrides)
        return self.translator().node_resources(node, overrides)

    # -- changes --------------------------------------------------------------------------------------
    def _workspace_changed(self, _: Workspace) -> None:
        self.last_change_at = time.monotonic()
        self.memo.sweep()
        self.route_memo.sweep()
        self.background.refresh()

    def refresh(self) -> concurrent.futures.Future[Any]:
        """Rebuild every connected node group's snapshot and push what changed."""
        return self.background.refresh()

    def set_health_overrides(self, overrides: Mapping[tuple[str, int], HealthStatus]) -> concurrent.futures.Future[Any]:
        """Replace the EDS health overrides ((address, port) → HealthStatus) and push the affected endpoints."""
        with self._lock:
            self._overrides = dict(overrides)
        self.memo.sweep()
        return self.background.refresh()

    @property
    def health_overrides(self) -> dict[tuple[str, int], HealthStatus]:
        with self._lock:
            return dict(self._overrides)

    # -- observing ------------------------------------------------------------------------------------
    def add_listener(self, callback: Callable[[XdsEvent], None]) -> Callable[[], None]:
        """Server events (connect, push, ack, nack, ...), called on the server's event loop."""
        return self.background.add_listener(callback)

    def status(self) -> list[Any]:
        """Every connected client's per-type sync state (thread-safe)."""
        return self.background.status()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `predicate()` holds; it is evaluated on the server's loop, so it may call self.server."""
        self.background.wait_for(predicate, timeout)

    def wait_synced(self, timeout: float = 10.0, **kwargs: Any) -> list[Any]:
        return self.background.wait_synced(timeout, **kwargs)

    def refresh_and_wait(self, timeout: float = 10.0, **kwargs: Any) -> list[Any]:
        return self.background.refresh_and_wait(timeout, **kwargs)


def serve_workspace(workspace: Workspace, listen: str = "127.0.0.1:0",
                    options: TranslateOptions | None = None, tls: ServerTls | None = None) -> XdsService:
    """A started XdsService for a workspace (what the TUI attaches to)."""
    return XdsService(workspace, options, listen, tls).start()


def format_event(event: XdsEvent, roles: Mapping[str, str] | None = None) -> str:
    """One log line for a server event (serve's output)."""
    stamp = time.strftime("%H:%M:%S", time.localtime(event.at)) + f".{int(event.at * 1000) % 1000:03d}"
    kind = event.kind.upper()
    what = codec.short_name(event.type_url) if event.type_url else ""
    latency = f" in {event.latency_ms:.1f} ms" if event.latency_ms is not None else ""
    node = event.node_id
    if event.kind == "connect":
        return f"{stamp} CONNECT    {node} ({roles.get(node, '') if roles else ''}) {event.message}".replace(" () ", " ")
    if event.kind == "disconnect":
        return f"{stamp} DISCONNECT {node}"
    if event.kind == "push":
        return f"{stamp} PUSH       {node} {what} version {event.version} ({event.message})"
    if event.kind == "ack":
        return f"{stamp} ACK        {node} {what} version {event.version}{latency}"
    if event.kind == "nack":
        return f"{stamp} NACK       {node} {what} version {event.version}{latency}: {event.message}"
    if event.kind == "refresh":
        return f"{stamp} REBUILT    snapshots for connected nodes"
    if event.kind == "error":
        return f"{stamp} ERROR      {node + ': ' if node else ''}{event.message}"
    return f"{stamp} {kind:<10} {node} {what} {event.message}".rstrip()


def describe_role(node: Any) -> str:
    """The role a node (NodeInfo or ClientStatus: anything with .cluster) is served as."""
    return str(NodeRole.parse(node.cluster))
