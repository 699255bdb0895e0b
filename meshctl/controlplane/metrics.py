"""Prometheus metrics of one control-plane replica, fed by the xDS server's events and the replica's parts.

Each replica has its own registry (two replicas in one test process must not share counters). Metric names
are documented in docs/control-plane.md; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from ..xds import codec
from ..xds.server import XdsEvent
from ..xds.status import ClientStatus

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def node_type(cluster: str) -> str:
    """The client type a metric is labelled with: gateway, sidecar or other (from Envoy's node.cluster)."""
    kind = cluster.partition(":")[0]
    return kind if kind in ("gateway", "sidecar") else "other"


class ReplicaMetrics:
    """Counters, gauges and histograms of one replica, exposed with `render()`."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, replica_id: str, clients: Callable[[], list[ClientStatus]] | None = None) -> None:
        self.replica_id = replica_id
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        if clients is not None:
            r.register(_ConnectedClients(clients))
        self.pushes = Counter("meshctl_xds_pushes", "xDS responses sent, by resource type", ["type_url"], registry=r)
        self.acks = Counter("meshctl_xds_acks", "responses Envoy accepted, by resource type", ["type_url"], registry=r)
        self.nacks = Counter("meshctl_xds_nacks", "responses Envoy rejected, by resource type", ["type_url"],
                             registry=r)
        self.push_latency = Histogram("meshctl_xds_push_latency_seconds", "time from a response sent to its ACK/NACK",
                                      ["type_url"], buckets=LATENCY_BUCKETS, registry=r)
        self.build_time = Histogram("meshctl_xds_snapshot_build_seconds",
                                    "time to translate one node group's snapshot", buckets=LATENCY_BUCKETS, registry=r)
        self.build_errors = Counter("meshctl_xds_snapshot_build_errors", "snapshot builds that failed (last good "
                                    "snapshot kept)", registry=r)
        self.watch_events = Counter("meshctl_kube_watch_events", "Kubernetes watch events received, by kind and "
                                    "event type", ["kind", "event"], registry=r)
        self.leader = Gauge("meshctl_leader", "1 while this replica holds the leader Lease", ["replica"], registry=r)
        self.leader_transitions = Counter("meshctl_leader_transitions", "times this replica became leader",
                                          registry=r)
        self.status_writes = Counter("meshctl_status_writes", "status subresource writes, by result "
                                     "(written, conflict, error, skipped-not-leader)", ["result"], registry=r)
        self.ready = Gauge("meshctl_ready", "1 once the first full sync is done and xDS is serving", registry=r)
        self.snapshots = Counter("meshctl_workspace_snapshots", "configuration snapshots built", registry=r)
        self.leader.labels(replica_id).set(0)

    # -- feeds ----------------------------------------------------------------------------------------
    def on_xds_event(self, event: XdsEvent) -> None:
        """An XdsServer event (called on the server's loop)."""
        kind = event.kind
        short = codec.short_name(event.type_url) if event.type_url else ""
        if kind == "push":
            self.pushes.labels(short).inc()
        elif kind in ("ack", "nack"):
            (self.acks if kind == "ack" else self.nacks).labels(short).inc()
            if event.latency_ms is not None:
                self.push_latency.labels(short).observe(event.latency_ms / 1000)

    def on_leader(self, leading: bool) -> None:
        self.leader.labels(self.replica_id).set(1 if leading else 0)
        if leading:
            self.leader_transitions.inc()

    def on_status_write(self, result: str, _what: str = "") -> None:
        self.status_writes.labels(result).inc()

    def on_watch_event(self, kind: str, event: str) -> None:
        self.watch_events.labels(kind, event).inc()

    # -- exposition -----------------------------------------------------------------------------------
    def render(self) -> bytes:
        return generate_latest(self.registry)


class _ConnectedClients(Collector):
    """Connected clients counted at scrape time from the server's own client list (always exact)."""

    def __init__(self, clients: Callable[[], list[ClientStatus]]) -> None:
        self.clients = clients

    def describe(self) -> list[GaugeMetricFamily]:
        return [GaugeMetricFamily("meshctl_xds_connected_clients", "ADS clients connected now, by type and protocol",
                                  labels=["type", "stream"])]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("meshctl_xds_connected_clients", "ADS clients connected now, by type and protocol",
                                   labels=["type", "stream"])
        counts: dict[tuple[str, str], int] = {(t, s): 0 for t in ("gateway", "sidecar") for s in ("sotw", "delta")}
        try:
            clients = self.clients()
        except Exception:  # a stopping server: report nothing rather than fail the whole scrape
            clients = []
        for client in clients:
            key = (node_type(client.cluster), client.stream_kind)
            counts[key] = counts.get(key, 0) + 1
        for (kind, stream), count in sorted(counts.items()):
            family.add_metric([kind, stream], count)
        yield family
