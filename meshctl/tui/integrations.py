"""What the console talks to besides the workspace: an xDS server (local or remote), Envoy admin APIs and
the failover trigger. Small interfaces, so panes stay thin and tests can hand in real implementations.

All calls here block (network, other threads' event loops): panes call them from Textual thread workers.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # the xDS stack (protobuf classes) loads only when a server is attached
    from ..sources.workspace import Workspace
    from ..xds.service import XdsService
    from ..xds.status import ClientStatus


# --- xDS -------------------------------------------------------------------------------------------

@dataclass
class PushResult:
    ok: bool
    message: str
    clients: list[ClientStatus] = field(default_factory=list)
    latency_ms: float | None = None
    nacks: list[str] = field(default_factory=list)  # "node type: reason"


Mark = dict[tuple[str, str], tuple[str | None, str | None]]  # (node, type) → (sent version, NACKed version)


class XdsLink(Protocol):
    address: str
    can_push: bool

    def status(self) -> list[ClientStatus]: ...

    def mark(self) -> Mark: ...  # taken before a change is written, so push() can tell its ACK/NACK apart

    def push(self, timeout: float = 10.0, since: Mark | None = None) -> PushResult: ...


def _mark(clients: list[ClientStatus]) -> Mark:
    return {(c.node_id, t): (s.sent_version, s.nacked_version) for c in clients for t, s in c.per_type.items()}


def _settled(clients: list[ClientStatus]) -> bool:
    return all(t.state in ("SYNCED", "NACKED", "NOT SENT") for c in clients for t in c.per_type.values())


def _nacks(clients: list[ClientStatus], before: Mark) -> list[str]:
    """NACKs of versions sent since `before` (a NACK left over from earlier pushes does not count)."""
    out = []
    for c in clients:
        for type_url, t in c.per_type.items():
            if t.state == "NACKED" and t.nacked_version != before.get((c.node_id, type_url), (None, None))[1]:
                out.append(f"{c.node_id} {type_url.rsplit('.', 1)[-1]}: {t.nack_reason or 'rejected'}")
    return out


class LocalXdsLink:
    """An in-process xDS service serving the console's workspace."""

    can_push = True

    def __init__(self, server: XdsService) -> None:
        self.server = server

    @property
    def address(self) -> str:
        return str(self.server.address)

    def status(self) -> list[ClientStatus]:
        return list(self.server.status())

    def mark(self) -> Mark:
        return _mark(self.status())

    def push(self, timeout: float = 10.0, since: Mark | None = None) -> PushResult:
        before = since if since is not None else self.mark()
        started = time.monotonic()
        result = self.server.refresh().result(timeout)
        if result.errors:
            message = "; ".join(f"{group}: {error}" for group, error in result.errors.items())
            return PushResult(False, f"translation failed: {message}", self.status())
        inner = self.server.server
        try:
            self.server.wait_for(lambda: _settled(inner.status()), timeout)
        except TimeoutError:
            return PushResult(False, "clients did not answer in time", self.status(),
                              (time.monotonic() - started) * 1000)
        clients = self.status()
        latency = (time.monotonic() - started) * 1000
        nacks = _nacks(clients, before)
        if nacks:
            return PushResult(False, "NACKed: " + "; ".join(nacks), clients, latency, nacks)
        if not clients:
            return PushResult(True, "pushed (no client connected)", clients, latency)
        return PushResult(True, f"pushed to {len(clients)} client(s), all acknowledged", clients, latency)


class RemoteXdsLink:
    """A control plane in another process (`--xds ADDR`, the demo's server): status over CSDS.

    It watches its own files, so "push" cannot make it send anything; with `follows_files` (it serves the
    files this console edits, as the demo's server does) push() waits until its clients acknowledged or
    rejected the new versions, so the editor can still report ACK or NACK.
    """

    def __init__(self, address: str, timeout: float = 3.0, follows_files: bool = False,
                 poll_interval: float = 0.1, quiet_seconds: float = 3.0) -> None:
        self.address = address
        self.timeout = timeout
        self.can_push = follows_files
        self.poll_interval = poll_interval
        self.quiet_seconds = quiet_seconds  # no version change in this long: the edit did not change Envoy config

    def status(self) -> list[ClientStatus]:
        from ..xds.status import fetch_status

        return fetch_status(self.address, timeout=self.timeout)

    def mark(self) -> Mark:
        return _mark(self.status())

    def push(self, timeout: float = 10.0, since: Mark | None = None) -> PushResult:
        if not self.can_push:
            return PushResult(False, f"{self.address} serves its own configuration; meshctl cannot push to it")
        started = time.monotonic()
        before = since if since is not None else self.mark()
        clients: list[ClientStatus] = []
        while time.monotonic() - started < timeout:
            clients = self.status()
            moved = _mark(clients) != before
            if _settled(clients) and (moved or time.monotonic() - started > self.quiet_seconds):
                latency = (time.monotonic() - started) * 1000
                nacks = _nacks(clients, before)
                if nacks:
                    return PushResult(False, "NACKed: " + "; ".join(nacks), clients, latency, nacks)
                if not moved:
                    return PushResult(True, "no change for Envoy", clients, latency)
                return PushResult(True, f"{len(clients)} client(s) acknowledged", clients, latency)
            time.sleep(self.poll_interval)
        return PushResult(False, "clients did not settle in time", clients, (time.monotonic() - started) * 1000)


def start_local_xds(workspace: Workspace, listen: str = "127.0.0.1:0") -> tuple[XdsLink | None, str]:
    """An in-process xDS server for the workspace. Returns (link, note); a server that fails to start (port taken)
    leaves the console usable, the note saying why."""
    from ..xds.service import serve_workspace  # here: grpc and the protobuf classes load only when asked for

    try:
        server = serve_workspace(workspace, listen=listen)
    except Exception as exc:  # show why, keep the console usable
        return None, f"xDS server failed to start: {exc}"
    return LocalXdsLink(server), f"xDS server on {server.address}"


# --- failover --------------------------------------------------------------------------------------

@runtime_checkable
class FailoverControl(Protocol):
    """What the failover pane's buttons call. `target` is a VirtualDestination "namespace/name"."""

    modes: tuple[str, ...]

    def trigger(self, target: str, mode: str) -> str: ...  # returns a line for the operator

    def restore(self, target: str) -> str: ...


def default_failover_control() -> FailoverControl:
    """Trigger / restore against the running demo (found at each call, so the console may start first)."""
    from ..demo.failover_control import ConsoleFailoverControl

    return ConsoleFailoverControl()


# --- Envoy observation ---------------------------------------------------------------------------

@dataclass
class HostHealth:
    cluster: str
    address: str
    locality: str
    priority: int
    healthy: bool
    ejected: bool
    flags: list[str]
    rq_total: int


def parse_clusters(data: dict[str, Any]) -> list[HostHealth]:
    """Hosts from Envoy's /clusters?format=json with health flags, outlier ejection and request totals."""
    out: list[HostHealth] = []
    for cluster in data.get("cluster_statuses", []):
        name = cluster.get("name", "")
        for host in cluster.get("host_statuses", []):
            sock = (host.get("address") or {}).get("socket_address") or {}
            address = f"{sock.get('address', '?')}:{sock.get('port_value', '?')}"
            loc = host.get("locality") or {}
            locality = "/".join(p for p in (loc.get("region"), loc.get("zone"), loc.get("sub_zone")) if p)
            health = host.get("health_status") or {}
            flags = [k for k, v in health.items() if v is True]
            eds = health.get("eds_health_status", "HEALTHY")
            ejected = bool(health.get("failed_outlier_check"))
            healthy = not flags and eds in ("HEALTHY", "UNKNOWN", None)
            rq_total = 0
            for stat in host.get("stats", []):
                if stat.get("name") == "rq_total":
                    rq_total = int(stat.get("value", 0) or 0)
            out.append(HostHealth(name, address, locality or "(unknown)", int(host.get("priority", 0) or 0),
                                  healthy, ejected, flags, rq_total))
    return out


class TrafficHistory:
    """Requests per (Envoy cluster, locality) per sample over the last minute, from rq_total deltas."""

    def __init__(self, window_seconds: float = 60.0, interval: float = 1.0) -> None:
        self.samples: dict[tuple[str, str], deque[float]] = {}
        self.size = max(2, int(window_seconds / interval))
        self._last: dict[tuple[str, str], int] = {}

    def add(self, hosts: list[HostHealth]) -> None:
        per_key: dict[tuple[str, str], float] = {}
        for h in hosts:
            host_key = (h.cluster, h.address)
            prev = self._last.get(host_key)
            self._last[host_key] = h.rq_total
            delta = 0 if prev is None else max(0, h.rq_total - prev)
            key = (h.cluster, h.locality)
            per_key[key] = per_key.get(key, 0) + delta
        for key in set(per_key) | set(self.samples):
            series = self.samples.setdefault(key, deque([0.0] * self.size, maxlen=self.size))
            series.append(per_key.get(key, 0.0))

    def localities(self, cluster: str | None = None) -> list[str]:
        return sorted({loc for c, loc in self.samples if cluster is None or c == cluster})

    def series(self, locality: str, cluster: str | None = None) -> list[float]:
        rows = [s for (c, loc), s in self.samples.items() if loc == locality and (cluster is None or c == cluster)]
        return [sum(values) for values in zip(*rows, strict=False)] if rows else []

    def shares(self, cluster: str | None = None) -> dict[str, float]:
        """Share of requests per locality over the window (of one Envoy cluster, or of all)."""
        totals = {loc: sum(self.series(loc, cluster)) for loc in self.localities(cluster)}
        grand = sum(totals.values())
        return {loc: (t / grand if grand else 0.0) for loc, t in totals.items()}


class EnvoyObserver:
    """Polls the admin APIs of running Envoys (meshctl.envoy.admin.AdminClient or compatible)."""

    def __init__(self, admins: list[Any]) -> None:
        self.admins = list(admins)
        self.history = TrafficHistory()

    def poll(self) -> tuple[list[HostHealth], list[str]]:
        hosts: list[HostHealth] = []
        errors: list[str] = []
        for admin in self.admins:
            try:
                hosts.extend(parse_clusters(admin.clusters_json()))
            except Exception as exc:  # one unreachable Envoy must not blank the others
                errors.append(f"{getattr(admin, 'base_url', admin)}: {exc}")
        self.history.add(hosts)
        return hosts, errors


@dataclass
class Attachments:
    """What a startup step (e.g. bringing up the demo environment) gives the console once it is running."""

    xds: XdsLink | None = None
    xds_note: str = ""
    envoy_admins: list[Any] = field(default_factory=list)
    failover: FailoverControl | None = None
