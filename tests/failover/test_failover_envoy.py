"""Locality failover on real Envoy: the demo's productpage sidecar fails over reviews and the database, EDS
health moves traffic too, restore brings it back; watch sees it; the TUI's control drives it."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from meshctl.demo.failover_control import ConsoleFailoverControl
from meshctl.failover.watch import Watcher, wait_settled

from .conftest import LOCAL, REMOTE_DATABASE, REMOTE_REVIEWS, Answer, RunningDemo, get

pytestmark = pytest.mark.envoy


def answers_until(ask: Callable[[], Answer], done: Callable[[Answer], bool], limit_s: float = 8.0,
                  pause_s: float = 0.05) -> list[Answer]:
    """Ask repeatedly (bounded in time and count) until `done`; all answers, the last one satisfying it if any."""
    seen: list[Answer] = []
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and len(seen) < 1000:
        seen.append(ask())
        if done(seen[-1]):
            break
        time.sleep(pause_s)
    return seen


def test_productpage_reaches_reviews_v3_when_cluster_1_fails_and_returns_after_restore(demo: RunningDemo) -> None:
    productpage = demo.info.urls["productpage"]["url"]

    def reviews_via_productpage() -> Answer:
        page = get(productpage)
        assert page.status == 200
        upstream = page.body["upstreams"]["reviews"]
        return Answer(upstream["status"] or 0, upstream["body"] if isinstance(upstream["body"], dict) else {})

    before = [reviews_via_productpage() for _ in range(6)]
    assert {a.body["cluster"] for a in before} == {"cluster-1"}
    assert {a.body["version"] for a in before} <= {"v1", "v2"}

    demo.controller.trigger("service:bookinfo/reviews@cluster-1", "fail")
    seen = answers_until(reviews_via_productpage, lambda a: a.status == 200 and a.body.get("version") == "v3")
    assert seen[-1].body.get("version") == "v3", [a.status for a in seen]
    after = [reviews_via_productpage() for _ in range(20)]
    served = [a for a in after if a.status == 200]
    # A host that comes back after its (1 s) ejection while still failing costs one more failed request.
    assert len(served) >= 16, [a.status for a in after]
    assert all(a.body["cluster"] == "cluster-2" and a.body["stars"] == "red" for a in served)
    assert all(a.locality == REMOTE_REVIEWS for a in served)

    demo.controller.restore("service:bookinfo/reviews@cluster-1")
    # Once the ejections end (baseEjectionTime × ejections, 1 s in these tests), traffic is local again.
    assert wait_settled(demo.info.admin_urls(), timeout=10.0) == []
    settled = [reviews_via_productpage() for _ in range(6)]
    assert all(a.status == 200 and a.body["cluster"] == "cluster-1" for a in settled)


def test_database_goes_to_the_clients_locality_and_to_the_other_endpoint_when_it_fails(demo: RunningDemo) -> None:
    first = [demo.database() for _ in range(6)]
    assert all(a.status == 200 and a.body["instance"] == "database@db-dallas" for a in first)
    assert {a.locality for a in first} == {LOCAL}

    demo.controller.trigger("service:bookinfo/database@db-dallas", "refuse")
    seen = answers_until(demo.database, lambda a: a.status == 200 and a.locality == REMOTE_DATABASE)
    assert seen[-1].locality == REMOTE_DATABASE
    after = [demo.database() for _ in range(10)]
    served = [a for a in after if a.status == 200]
    assert len(served) >= 8, [a.status for a in after]
    assert all(a.body["instance"] == "database@db-west" and a.locality == REMOTE_DATABASE for a in served)

    demo.controller.restore("service:bookinfo/database@db-dallas")
    assert wait_settled(demo.info.admin_urls(), timeout=10.0) == []
    back = [demo.database() for _ in range(6)]
    assert all(a.status == 200 and a.body["instance"] == "database@db-dallas" for a in back)


def test_eds_unhealthy_moves_traffic_without_errors_and_restore_brings_it_back(demo: RunningDemo) -> None:
    watcher = Watcher({"sidecar": demo.info.envoy("sidecar")["admin_url"]}, cluster_filter="reviews.global")
    try:
        watcher.sample()
        result = demo.controller.trigger("service:bookinfo/reviews@cluster-1", "eds-unhealthy")
        assert len(result.endpoints) == 2 and result.instances == []  # through xDS, not the apps
        during = [demo.reviews() for _ in range(12)]
        # The trigger returns after Envoy ACKed the new endpoints: no request reaches them, none fails.
        assert all(a.status == 200 and a.locality == REMOTE_REVIEWS for a in during)
        sample = watcher.sample()
        (cluster,) = sample.clusters
        flags = {h.address: h.flags for h in cluster.hosts}
        marked = {str(e.ref) for e in result.endpoints}
        assert all("eds-unhealthy" in flags[a] for a in marked)
        assert cluster.traffic[REMOTE_REVIEWS]["success"] == 12
        assert cluster.traffic[LOCAL]["requests"] == 0

        demo.controller.restore("service:bookinfo/reviews@cluster-1")
        after = [demo.reviews() for _ in range(12)]
        assert all(a.status == 200 and a.locality == LOCAL for a in after)
        sample = watcher.sample()
        assert all(h.healthy for h in sample.clusters[0].hosts)
        assert sample.clusters[0].traffic[LOCAL]["success"] == 12
    finally:
        watcher.close()


def test_watch_reports_outlier_ejection_and_the_locality_share(demo: RunningDemo) -> None:
    watcher = Watcher(demo.info.admin_urls(), cluster_filter="reviews.global")
    try:
        watcher.sample()
        for _ in range(10):
            assert demo.reviews().status == 200
        local = [c for c in watcher.sample().clusters if c.envoy == "envoy-productpage"][0]
        assert [h.priority for h in local.hosts] == [0, 0, 1]
        assert {h.locality for h in local.hosts if h.priority == 0} == {LOCAL}
        assert local.traffic[LOCAL]["success"] == 10

        demo.controller.trigger("service:bookinfo/reviews@cluster-1,version=v1", "fail")
        for _ in range(20):
            demo.reviews()
        view = [c for c in watcher.sample().clusters if c.envoy == "envoy-productpage"][0]
        v1_port = demo.info.instances["reviews-v1@cluster-1"]["port"]
        v1 = [h for h in view.hosts if h.address == f"127.0.0.1:{v1_port}"][0]
        assert "outlier-ejected" in v1.flags
        assert view.counters["outlier_detection.ejections_enforced_total"] >= 1
        assert view.traffic[LOCAL]["requests"] - view.traffic[LOCAL]["success"] >= 1  # the request that ejected v1
    finally:
        watcher.close()


def test_console_control_fails_the_preferred_priority_of_a_virtual_destination(demo: RunningDemo) -> None:
    control = ConsoleFailoverControl(demo.info.state_dir)
    assert "eds-unhealthy" in control.modes
    message = control.trigger("gloo-mesh/bookinfo-global", "eds-unhealthy")
    assert "2 endpoint(s)" in message
    assert all(a.locality == REMOTE_REVIEWS for a in (demo.reviews() for _ in range(6)))
    control.restore("gloo-mesh/bookinfo-global")
    assert all(a.locality == LOCAL for a in (demo.reviews() for _ in range(6)))
