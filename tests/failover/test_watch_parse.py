"""Parsing Envoy's /clusters JSON and stats for `failover watch`, and the per-locality deltas."""

from __future__ import annotations

from typing import Any

from meshctl.failover.watch import cluster_counters, is_failover_cluster, locality_traffic, parse_hosts, shares


def host(port: int, priority: int, zone: str, rq_total: int, rq_success: int, **health: Any) -> dict[str, Any]:
    return {"address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "locality": {"region": zone[:-1], "zone": zone}, "priority": priority,
            "health_status": {"eds_health_status": "HEALTHY", **health},
            "stats": [{"name": "rq_total", "value": str(rq_total), "type": "COUNTER"},
                      {"name": "rq_success", "value": str(rq_success), "type": "COUNTER"},
                      {"name": "rq_error", "value": str(rq_total - rq_success), "type": "COUNTER"}]}


def clusters(*hosts: dict[str, Any]) -> dict[str, Any]:
    return {"cluster_statuses": [{"name": "outbound|9080||reviews.global", "host_statuses": list(hosts)},
                                 {"name": "single", "host_statuses": [host(9, 0, "us-east-1a", 0, 0)]}]}


def test_flags_priorities_and_localities() -> None:
    parsed = parse_hosts(clusters(
        host(3, 1, "us-east-2b", 0, 0),
        host(1, 0, "us-east-1a", 10, 9, failed_outlier_check=True),
        host(2, 0, "us-east-1a", 10, 10, eds_health_status="UNHEALTHY"),
    ))
    hosts = parsed["outbound|9080||reviews.global"]
    assert [(h.address, h.priority, h.locality) for h in hosts] == [
        ("127.0.0.1:1", 0, "us-east-1/us-east-1a"), ("127.0.0.1:2", 0, "us-east-1/us-east-1a"),
        ("127.0.0.1:3", 1, "us-east-2/us-east-2b")]
    assert [h.flags for h in hosts] == [("outlier-ejected",), ("eds-unhealthy",), ()]
    assert [h.healthy for h in hosts] == [False, False, True]
    assert is_failover_cluster(hosts) and not is_failover_cluster(parsed["single"])


def test_traffic_is_the_delta_between_samples_per_locality() -> None:
    first = parse_hosts(clusters(host(1, 0, "us-east-1a", 10, 9), host(3, 1, "us-east-2b", 0, 0)))
    second = parse_hosts(clusters(host(1, 0, "us-east-1a", 11, 9), host(3, 1, "us-east-2b", 30, 30)))
    name = "outbound|9080||reviews.global"
    traffic = locality_traffic(first[name], second[name])
    assert traffic == {"us-east-1/us-east-1a": {"requests": 1, "success": 0},
                       "us-east-2/us-east-2b": {"requests": 30, "success": 30}}
    assert shares(traffic) == {"us-east-1/us-east-1a": 0.0, "us-east-2/us-east-2b": 1.0}
    # a host whose counters went backwards was re-added: its totals count
    third = parse_hosts(clusters(host(1, 0, "us-east-1a", 2, 2), host(3, 1, "us-east-2b", 30, 30)))
    assert locality_traffic(second[name], third[name])["us-east-1/us-east-1a"] == {"requests": 2, "success": 2}
    assert shares(locality_traffic(third[name], third[name])) == {}


def test_counters_of_one_cluster() -> None:
    stats = {"cluster.outbound|9080||reviews.global.outlier_detection.ejections_active": 2,
             "cluster.outbound|9080||reviews.global.upstream_rq_retry": 7,
             "cluster.other.outlier_detection.ejections_active": 5}
    counters = cluster_counters(stats, "outbound|9080||reviews.global")
    assert counters["outlier_detection.ejections_active"] == 2 and counters["upstream_rq_retry"] == 7
    assert counters["outlier_detection.ejections_enforced_total"] == 0
