"""One control-plane replica: the xDS service plus leader election, status writing, metrics and probes.

Every replica watches the same resources and serves xDS from the same (content-versioned) snapshots; only
the replica holding the Lease writes status. The parts are independent: without --leader-elect there is no
Lease and no status writing; without --admin-listen no HTTP endpoint.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..sources.kube import KubeSource
from ..sources.kube_client import KubeClient
from ..sources.workspace import Workspace
from ..xds.cache import NodeInfo, XdsSnapshot
from ..xds.server import ServerTls, XdsEvent
from ..xds.service import DEFAULT_LISTEN, XdsService
from ..xds.translate import TranslateOptions
from .admin import AdminServer
from .leader import DEFAULT_LEASE_NAME, LeaderElector, LeaseTiming
from .metrics import ReplicaMetrics
from .status_writer import StatusWriter

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
DEFAULT_NAMESPACE = "gloo-mesh"


def default_namespace(account_file: Path = SERVICE_ACCOUNT_NAMESPACE) -> str:
    """The namespace this process runs in (POD_NAMESPACE, else the service account's), else gloo-mesh."""
    if os.environ.get("POD_NAMESPACE"):
        return os.environ["POD_NAMESPACE"]
    try:
        return account_file.read_text().strip() or DEFAULT_NAMESPACE
    except OSError:
        return DEFAULT_NAMESPACE


def default_replica_id() -> str:
    """The pod name (POD_NAME, set through the downward API; a pod's hostname is its name too), else hostname."""
    return os.environ.get("POD_NAME") or socket.gethostname()


class MeteredXdsService(XdsService):
    """The xDS service with its snapshot builds timed into the replica's metrics."""

    metrics: ReplicaMetrics | None = None

    def build(self, node: NodeInfo) -> XdsSnapshot:
        started = time.perf_counter()
        try:
            return super().build(node)
        except Exception:
            if self.metrics is not None:
                self.metrics.build_errors.inc()
            raise
        finally:
            if self.metrics is not None:
                self.metrics.build_time.observe(time.perf_counter() - started)


@dataclass
class ReplicaOptions:
    """How one replica runs (the flags of `meshctl xds serve` that are not about translation)."""

    replica_id: str = field(default_factory=default_replica_id)
    leader_elect: bool = False
    lease_namespace: str = field(default_factory=default_namespace)
    lease_name: str = DEFAULT_LEASE_NAME
    timing: LeaseTiming = field(default_factory=LeaseTiming)
    admin_listen: str | None = None
    listen: str = DEFAULT_LISTEN
    tls: ServerTls | None = None


class Replica:
    """Starts and stops the parts of one replica around a loaded Workspace."""

    def __init__(self, workspace: Workspace, options: ReplicaOptions,
                 translate: TranslateOptions | None = None, lease_client: KubeClient | None = None) -> None:
        self.workspace = workspace
        self.options = options
        self.kube_sources = [s for s in workspace.sources if isinstance(s, KubeSource)]
        if options.leader_elect and lease_client is None:
            clients = [s.client for s in self.kube_sources if s.client is not None]
            if not clients:
                raise ValueError("--leader-elect needs a cluster to hold the Lease in (--context or --in-cluster)")
            lease_client = clients[0]  # the management cluster: where the resources whose status we write live
        self.service = MeteredXdsService(workspace, translate, options.listen, options.tls, content_versions=True)
        self.metrics = ReplicaMetrics(options.replica_id, clients=self.service.status)
        self.service.metrics = self.metrics
        self.elector: LeaderElector | None = None
        self.writer: StatusWriter | None = None
        if options.leader_elect:
            assert lease_client is not None
            self.writer = StatusWriter(workspace, self.kube_sources, self.is_leader,
                                       on_write=self.metrics.on_status_write)
            self.elector = LeaderElector(lease_client, options.lease_namespace, options.replica_id,
                                         name=options.lease_name, timing=options.timing,
                                         on_started_leading=self._started_leading,
                                         on_stopped_leading=lambda: self.metrics.on_leader(False))
        self.admin: AdminServer | None = None
        self._synced_once = False
        self._started = False
        self._unsubscribe: Any = None

    # -- lifecycle ------------------------------------------------------------------------------------
    def start(self) -> "Replica":
        """Start serving (the workspace must be loaded; its watches are the caller's to start)."""
        self.service.add_listener(self._on_xds_event)
        for source in self.kube_sources:
            source.on_watch_event = self.metrics.on_watch_event
        self._unsubscribe = self.workspace.subscribe(lambda _ws: self.metrics.snapshots.inc())
        self.service.start()
        self._started = True
        if self.writer is not None and self.elector is not None:
            self.writer.start()
            self.elector.start()
        if self.options.admin_listen:
            self.admin = AdminServer(self.options.admin_listen, self.readiness, self.metrics.render,
                                     self.metrics.content_type).start()
        return self

    def stop(self, release: bool = True) -> None:
        """Stop every part; the leader hands its Lease back (release=False: as if the process died)."""
        if self.elector is not None:
            self.elector.stop(release=release)
        if self.writer is not None:
            self.writer.stop()
        if self.admin is not None:
            self.admin.stop()
            self.admin = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._started:
            self.service.stop()
            self._started = False

    def __enter__(self) -> "Replica":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state ----------------------------------------------------------------------------------------
    @property
    def address(self) -> str:
        return self.service.address

    def is_leader(self) -> bool:
        return self.elector is not None and self.elector.is_leader

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Ready once every source has completed a full sync and the xDS server is listening.

        Once ready, a replica stays ready while an API server is away: it keeps serving the last known
        configuration, which is better for Envoys than no control plane at all.
        """
        states = {s.name: s.status.state for s in self.workspace.sources}
        if not self._synced_once and states and all(state == "ok" for state in states.values()):
            self._synced_once = True
        serving = self._started and self.service.server.bound_port is not None
        ready = self._synced_once and serving
        self.metrics.ready.set(1 if ready else 0)
        detail = {"replica": self.options.replica_id, "leader": self.is_leader(), "sources": states,
                  "synced": self._synced_once, "xds": self.service.address if serving else None}
        return ready, detail

    # -- hooks ----------------------------------------------------------------------------------------
    def _on_xds_event(self, event: XdsEvent) -> None:
        self.metrics.on_xds_event(event)

    def _started_leading(self) -> None:
        self.metrics.on_leader(True)
        if self.writer is not None:
            self.writer.poke()  # a new leader brings every status up to date
