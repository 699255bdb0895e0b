"""Watch locality failover in Envoy: hosts by priority and locality with health flags, ejection counters, and
which locality served the requests since the previous sample (deltas of per-host rq_success / rq_total).

`parse_hosts`, `cluster_counters` and `locality_traffic` are pure (admin JSON / stats in, values out);
`Watcher` polls real admin APIs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..envoy.admin import AdminClient

# Envoy's health_status keys → the words `watch` shows.
_FLAG_NAMES = {
    "failed_outlier_check": "outlier-ejected",
    "failed_active_health_check": "active-hc-failed",
    "failed_active_degraded_check": "degraded",
    "pending_dynamic_removal": "pending-removal",
    "pending_active_hc": "pending-hc",
    "excluded_via_immediate_hc_fail": "excluded",
    "active_hc_timeout": "hc-timeout",
}
_EDS_FLAGS = {"UNHEALTHY": "eds-unhealthy", "DRAINING": "eds-draining", "TIMEOUT": "eds-timeout",
              "DEGRADED": "eds-degraded"}
COUNTERS = (
    "outlier_detection.ejections_active",
    "outlier_detection.ejections_enforced_total",
    "outlier_detection.ejections_enforced_consecutive_5xx",
    "outlier_detection.ejections_overflow",
    "upstream_rq_total",
    "upstream_rq_5xx",
    "upstream_rq_retry",
    "upstream_rq_retry_success",
    "upstream_rq_retry_overflow",
    "membership_healthy",
    "membership_total",
)
STATS_FILTER = "outlier_detection|upstream_rq_total|upstream_rq_5xx|upstream_rq_retry|membership_"


@dataclass(frozen=True)
class HostState:
    """One upstream host of one Envoy cluster, as the admin API reports it."""

    cluster: str
    address: str
    priority: int
    locality: str
    flags: tuple[str, ...]
    rq_total: int
    rq_success: int
    rq_error: int

    @property
    def healthy(self) -> bool:
        return not self.flags

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "priority": self.priority, "locality": self.locality,
                "healthy": self.healthy, "flags": list(self.flags), "rq_total": self.rq_total,
                "rq_success": self.rq_success, "rq_error": self.rq_error}


def _locality(raw: Mapping[str, Any] | None) -> str:
    raw = raw or {}
    return "/".join(str(raw[k]) for k in ("region", "zone", "sub_zone") if raw.get(k)) or "(none)"


def parse_hosts(clusters_json: Mapping[str, Any]) -> dict[str, list[HostState]]:
    """Cluster name → hosts from `/clusters?format=json`."""
    out: dict[str, list[HostState]] = {}
    for cluster in clusters_json.get("cluster_statuses", []):
        name = str(cluster.get("name", ""))
        hosts = []
        for host in cluster.get("host_statuses", []):
            sock = (host.get("address") or {}).get("socket_address") or {}
            health = host.get("health_status") or {}
            flags = [word for key, word in _FLAG_NAMES.items() if health.get(key) is True]
            eds = _EDS_FLAGS.get(str(health.get("eds_health_status", "HEALTHY")))
            if eds:
                flags.insert(0, eds)
            stats = {s.get("name"): int(s.get("value", 0) or 0) for s in host.get("stats", [])}
            hosts.append(HostState(name, f"{sock.get('address', '?')}:{sock.get('port_value', '?')}",
                                   int(host.get("priority", 0) or 0), _locality(host.get("locality")),
                                   tuple(flags), stats.get("rq_total", 0), stats.get("rq_success", 0),
                                   stats.get("rq_error", 0)))
        out[name] = sorted(hosts, key=lambda h: (h.priority, h.locality, h.address))
    return out


def cluster_counters(stats: Mapping[str, int], cluster: str) -> dict[str, int]:
    """The counters of COUNTERS for one cluster (missing ones are 0)."""
    prefix = f"cluster.{cluster}."
    return {name: int(stats.get(prefix + name, 0)) for name in COUNTERS}


def locality_traffic(before: list[HostState] | None, after: list[HostState]) -> dict[str, dict[str, int]]:
    """Locality → {"requests", "success"} between two samples of one cluster's hosts (first sample: totals)."""
    earlier = {h.address: h for h in before or []}
    out: dict[str, dict[str, int]] = {}
    for h in after:
        prev = earlier.get(h.address)
        total = h.rq_total - (prev.rq_total if prev else 0)
        success = h.rq_success - (prev.rq_success if prev else 0)
        if prev is not None and (total < 0 or success < 0):  # host re-added: counters restarted
            total, success = h.rq_total, h.rq_success
        row = out.setdefault(h.locality, {"requests": 0, "success": 0})
        row["requests"] += total
        row["success"] += success
    return out


def shares(traffic: Mapping[str, Mapping[str, int]]) -> dict[str, float]:
    """Fraction of successfully served requests per locality (empty when nothing was served)."""
    served = sum(t["success"] for t in traffic.values())
    return {loc: t["success"] / served for loc, t in sorted(traffic.items())} if served else {}


def is_failover_cluster(hosts: list[HostState]) -> bool:
    """Clusters worth watching by default: hosts in more than one priority or locality."""
    return len({h.priority for h in hosts}) > 1 or len({h.locality for h in hosts}) > 1


@dataclass
class ClusterView:
    envoy: str
    name: str
    hosts: list[HostState]
    counters: dict[str, int]
    traffic: dict[str, dict[str, int]]

    def to_json(self) -> dict[str, Any]:
        return {"envoy": self.envoy, "cluster": self.name, "counters": self.counters,
                "hosts": [h.to_json() for h in self.hosts], "traffic": self.traffic, "share": shares(self.traffic)}


@dataclass
class WatchSample:
    seq: int
    at: float  # unix time
    interval_s: float | None  # since the previous sample
    clusters: list[ClusterView]
    errors: dict[str, str] = field(default_factory=dict)  # envoy → why it could not be read

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": round(self.at, 3),
                "interval_s": round(self.interval_s, 3) if self.interval_s is not None else None,
                "clusters": [c.to_json() for c in self.clusters], "errors": self.errors}


class Watcher:
    """Samples the admin API of several Envoys (name → admin URL); each sample carries deltas to the last."""

    def __init__(self, admins: Mapping[str, str], cluster_filter: str | None = None, show_all: bool = False,
                 timeout: float = 2.0) -> None:
        self.admins = {name: AdminClient(url, timeout=timeout) for name, url in admins.items()}
        self.cluster_filter = cluster_filter
        self.show_all = show_all
        self._previous: dict[tuple[str, str], list[HostState]] = {}
        self._previous_at: float | None = None
        self._seq = 0
        self._pool = ThreadPoolExecutor(max_workers=max(1, min(8, len(self.admins))))

    def _wanted(self, name: str, hosts: list[HostState]) -> bool:
        if self.cluster_filter:
            return self.cluster_filter in name
        return self.show_all or is_failover_cluster(hosts)

    def _read(self, admin: AdminClient) -> tuple[dict[str, list[HostState]], dict[str, int]]:
        return parse_hosts(admin.clusters_json()), admin.stats(STATS_FILTER)

    def sample(self) -> WatchSample:
        now = time.time()
        futures = {name: self._pool.submit(self._read, admin) for name, admin in self.admins.items()}
        clusters: list[ClusterView] = []
        errors: dict[str, str] = {}
        for envoy, future in futures.items():
            try:
                hosts_by_cluster, stats = future.result()
            except Exception as err:  # one unreachable Envoy must not hide the others
                errors[envoy] = f"{type(err).__name__}: {err}"
                continue
            for name, hosts in sorted(hosts_by_cluster.items()):
                if not hosts or not self._wanted(name, hosts):
                    continue
                key = (envoy, name)
                clusters.append(ClusterView(envoy, name, hosts, cluster_counters(stats, name),
                                            locality_traffic(self._previous.get(key), hosts)))
                self._previous[key] = hosts
        self._seq += 1
        interval = now - self._previous_at if self._previous_at is not None else None
        self._previous_at = now
        return WatchSample(self._seq, now, interval, clusters, errors)

    def samples(self, interval: float = 1.0, count: int | None = None) -> Iterator[WatchSample]:
        """`count` samples (forever when None) `interval` seconds apart."""
        taken = 0
        next_at = time.monotonic()
        while count is None or taken < count:
            yield self.sample()
            taken += 1
            if count is not None and taken >= count:
                return
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def close(self) -> None:
        self._pool.shutdown(wait=False)


def render_text(sample: WatchSample) -> str:
    """A sample as text: per cluster a header with counters, one line per host, and the locality shares."""
    stamp = time.strftime("%H:%M:%S", time.localtime(sample.at)) + f".{int(sample.at * 1000) % 1000:03d}"
    lines = [f"── {stamp}  sample {sample.seq}" + (f" ({sample.interval_s:.1f}s)" if sample.interval_s else "")]
    for envoy, error in sorted(sample.errors.items()):
        lines.append(f"  {envoy}: ✗ {error}")
    for c in sample.clusters:
        k = c.counters
        lines.append(f"  {c.envoy}  {c.name}   healthy {k['membership_healthy']}/{k['membership_total']} · "
                     f"ejected now {k['outlier_detection.ejections_active']} "
                     f"(total {k['outlier_detection.ejections_enforced_total']}) · "
                     f"retries {k['upstream_rq_retry']} ok {k['upstream_rq_retry_success']} "
                     f"overflow {k['upstream_rq_retry_overflow']}")
        for h in c.hosts:
            state = "✓ healthy" if h.healthy else "✗ " + ",".join(h.flags)
            lines.append(f"    P{h.priority}  {h.locality:<24} {h.address:<21} {state:<22} rq {h.rq_total}")
        share = shares(c.traffic)
        total = sum(t["requests"] for t in c.traffic.values())
        if share:
            text = " · ".join(f"{loc} {frac * 100:.0f}%" for loc, frac in share.items())
            lines.append(f"    served: {text}  ({total} requests since last sample)")
        elif total:
            lines.append(f"    served: none of {total} requests since last sample succeeded")
        else:
            lines.append("    served: no requests since last sample")
    if not sample.clusters and not sample.errors:
        lines.append("  (no cluster with more than one priority or locality; use --all or --cluster)")
    return "\n".join(lines)


def wait_settled(admins: Mapping[str, str], timeout: float, poll_s: float = 0.25) -> list[str]:
    """Wait until no host of a failover cluster is outlier-ejected or EDS-unhealthy (at most `timeout` seconds).

    Returns what still is (empty when settled), e.g. "envoy-productpage outbound|9080||reviews.global
    127.0.0.1:4001 outlier-ejected".
    """
    watcher = Watcher(admins)
    deadline = time.monotonic() + timeout
    try:
        while True:
            sample = watcher.sample()
            unsettled = [f"{c.envoy} {c.name} {h.address} {','.join(h.flags)}"
                         for c in sample.clusters for h in c.hosts if h.flags]
            unsettled += [f"{envoy}: {error}" for envoy, error in sample.errors.items()]
            if not unsettled or time.monotonic() >= deadline:
                return unsettled
            time.sleep(poll_s)
    finally:
        watcher.close()
