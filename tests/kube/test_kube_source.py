"""The live Kubernetes source: two clusters with localities, watch-driven changes, stale/recovery, 410, CRDs."""

from __future__ import annotations

import argparse
import threading
import time
from pathlib import Path

from waiting import wait_until

from meshctl.cli.kube_args import kube_sources_from_args
from meshctl.mesh.index import Locality, MeshIndex
from meshctl.model.resources import CLUSTER_ANNOTATION
from meshctl.model.snapshot import Snapshot
from meshctl.sources.kube import KubeSource
from meshctl.sources.workspace import Workspace

from .conftest import install_crds
from .fakeapi import FakeApiServer
from .objects import GLOO_ENTERPRISE, endpoints, load_demo_routing, pod, route_table, service

FAST = dict(backoff_base=0.05, backoff_max=0.2, crd_recheck_seconds=0.1)
GROUP = GLOO_ENTERPRISE.split("/")[0]


def _args(kubeconfig: Path, *contexts: str, cluster_names: list[str] | None = None,
          namespace: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(context=list(contexts), kubeconfig=str(kubeconfig), cluster_name=cluster_names or [],
                              namespace=namespace, paths=[], demo=False)


def _source(kubeconfig: Path, context: str = "east", closing=None, **options) -> KubeSource:
    source = KubeSource(context, kubeconfig=str(kubeconfig), **{**FAST, **options})
    if closing is not None:
        closing(source)
    return source


def _names(source: KubeSource, kind: str) -> set[str]:
    return {r.name for r in source.snapshot_parts()[0] if r.kind == kind}


def test_two_contexts_are_two_clusters_with_endpoint_localities(kubeconfig_path: Path, closing) -> None:
    sources = kube_sources_from_args(_args(kubeconfig_path, "east", "west", cluster_names=["west=cluster-2"]), **FAST)
    for s in sources:
        closing(s)
        s.load()
    east, west = sources
    assert (east.cluster_name, west.cluster_name) == ("east", "cluster-2")
    assert east.management and not west.management
    assert east.status.state == west.status.state == "ok"
    resources = [r for s in sources for r in s.snapshot_parts()[0]]
    discovery = [r for r in resources if r.kind in ("Service", "Endpoints", "Pod", "Node")]
    assert discovery and all(r.cluster in ("east", "cluster-2") for r in discovery)
    assert {r.cluster for r in discovery if r.kind == "Node"} == {"east", "cluster-2"}

    index = MeshIndex(Snapshot(resources))
    productpage = index.find_services("bookinfo", "productpage", "east")[0]
    by_ip = {e.address: e for e in productpage.endpoints}
    assert by_ip["10.1.0.11"].locality == Locality("us-east-1", "us-east-1a", "rack-1")
    assert by_ip["10.1.0.12"].locality == Locality("us-east-1", "us-east-1b", "")
    assert by_ip["10.1.0.11"].label_dict == {"app": "productpage", "version": "v1"}
    ratings = index.find_services("bookinfo", "ratings", "cluster-2")[0]
    assert [str(e.locality) for e in ratings.endpoints] == ["us-west-2/us-west-2c"]
    assert index.find_services("bookinfo", "ratings", "east") == []


def test_pods_and_nodes_are_trimmed_to_what_locality_needs(kubeconfig_path: Path, closing) -> None:
    source = _source(kubeconfig_path, closing=closing)
    source.load()
    pods = [r for r in source.snapshot_parts()[0] if r.kind == "Pod"]
    nodes = [r for r in source.snapshot_parts()[0] if r.kind == "Node"]
    assert pods and nodes
    for p in pods:
        assert set(p.raw) == {"apiVersion", "kind", "metadata", "spec", "status"}
        assert p.raw["spec"] == {"nodeName": p.spec.node_name} and p.spec.node_name
        assert p.metadata.annotations == {CLUSTER_ANNOTATION: "east"}  # sidecar annotations dropped
    for n in nodes:
        assert "status" not in n.raw and n.labels["topology.kubernetes.io/region"] == "us-east-1"


def test_workload_cluster_without_gloo_crds_is_ok_and_silent(kubeconfig_path: Path, closing) -> None:
    sources = kube_sources_from_args(_args(kubeconfig_path, "east", "west"), **FAST)
    for s in sources:
        closing(s)
        s.load()
    west = sources[1]
    assert west.status.state == "ok"
    assert west.snapshot_parts()[1] == []
    assert f"routetables.{GROUP}" in west.describe()["missingKinds"]


def test_same_service_in_two_clusters_is_kept_per_cluster(kubeconfig_path: Path, west: FakeApiServer,
                                                          closing) -> None:
    west.create(service("productpage", "bookinfo"))
    west.create(pod("productpage-v2-w", "bookinfo", "west-node-a", "10.2.0.30", {"app": "productpage"}))
    west.create(endpoints("productpage", "bookinfo", 9080, [("10.2.0.30", "west-node-a", "productpage-v2-w")]))
    sources = kube_sources_from_args(_args(kubeconfig_path, "east", "west"), **FAST)
    for s in sources:
        closing(s)
        s.load()
    snapshot = Snapshot([r for s in sources for r in s.snapshot_parts()[0]])
    assert not [f for f in snapshot.findings if f.code == "duplicate-resource"]
    assert {s.cluster for s in MeshIndex(snapshot).find_services("bookinfo", "productpage")} == {"east", "west"}


def test_create_change_delete_flow_into_the_workspace(kubeconfig_path: Path, east: FakeApiServer, closing) -> None:
    workspace = closing(Workspace([_source(kubeconfig_path)]))
    workspace.load()
    workspace.start()
    rebuilt = threading.Event()
    workspace.subscribe(lambda ws: rebuilt.set())

    east.create(route_table("reviews", "bookinfo", weight=3))

    def table():
        return workspace.snapshot.get("RouteTable", "bookinfo", "reviews")

    created = wait_until(table)
    assert created.spec.weight == 3 and rebuilt.is_set()
    file, line, _ = created.locate(("spec", "weight"))
    assert file == "kube:east/RouteTable/bookinfo/reviews" and line and line > 1

    live = east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")
    live["spec"]["weight"] = 7
    east.update(live)
    wait_until(lambda: table() is not None and table().spec.weight == 7)

    east.delete(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "reviews")
    wait_until(lambda: table() is None)


def test_a_burst_of_events_is_coalesced(kubeconfig_path: Path, east: FakeApiServer, closing) -> None:
    workspace = closing(Workspace([_source(kubeconfig_path)]))
    workspace.load()
    workspace.start()
    rebuilds = []
    workspace.subscribe(lambda ws: rebuilds.append(ws.version))
    for i in range(60):
        east.create(service(f"burst-{i}", "load"))
    wait_until(lambda: len([s for s in workspace.snapshot.of_kind("Service") if s.namespace == "load"]) == 60)
    assert 1 <= len(rebuilds) < 12  # 60 watch events, a handful of recomputes


def test_a_lone_event_is_published_once_quiet_and_a_burst_is_gathered(kubeconfig_path: Path, east: FakeApiServer,
                                                                        closing) -> None:
    # publish_delay long enough that waiting it out would show: a lone change must not wait for it
    source = _source(kubeconfig_path, closing=closing, publish_delay=1.5, publish_quiet=0.001)
    source.load()
    published: list[float] = []
    source.on_change(lambda _: published.append(time.monotonic()))
    source.start()
    time.sleep(1.6)  # calm: the start's own publish is longer ago than publish_delay
    published.clear()
    began = time.monotonic()
    east.create(service("lone", "load"))
    wait_until(lambda: "lone" in _names(source, "Service"), timeout=10)
    assert published and published[0] - began < 1.0  # not after publish_delay (1.5 s)

    # right after that publish, changes are a burst in progress: gathered for publish_delay
    count = len(published)
    for i in range(5):
        east.create(service(f"burst-{i}", "load"))
    wait_until(lambda: {f"burst-{i}" for i in range(5)} <= _names(source, "Service"), timeout=10)
    assert len(published) - count <= 2


def test_routing_view_follows_the_cluster(kubeconfig_path: Path, east: FakeApiServer, closing) -> None:
    from meshctl.routing.view import build_routing_view

    load_demo_routing(east)
    workspace = closing(Workspace([_source(kubeconfig_path)]))
    workspace.load()
    workspace.start()

    def route_names() -> list[str]:
        view = workspace.derived("routing", build_routing_view)
        return [r.name for g in view.gateways for vh in g.virtual_hosts for r in vh.routes]

    assert "v1-version" in route_names()
    misc = east.get(GLOO_ENTERPRISE, "RouteTable", "gloo-mesh", "reviews-misc-rt")
    misc["spec"]["routes"].insert(0, {"name": "v3-version", "matchers": [{"uri": {"exact": "/v3/version"}}],
                                      "directResponseAction": {"status": 200, "body": "v3"}})
    east.update(misc)
    wait_until(lambda: "v3-version" in route_names())


def test_unreachable_server_is_stale_keeps_state_and_recovers(kubeconfig_path: Path, east: FakeApiServer,
                                                             closing) -> None:
    source = _source(kubeconfig_path, closing=closing)
    source.load()
    source.start()
    before = _names(source, "Service")
    east.stop()
    wait_until(lambda: source.status.state == "stale")
    assert "cannot reach API server" in source.status.reason
    wait_until(lambda: "connection refused" in source.status.reason)
    assert _names(source, "Service") == before  # last known state stays in use

    east.create(service("added-while-down", "bookinfo"))  # the cluster moves on while we cannot see it
    east.start()
    wait_until(lambda: source.status.state == "ok")
    assert source.status.reason == ""
    wait_until(lambda: "added-while-down" in _names(source, "Service"))


def test_410_gone_relists(kubeconfig_path: Path, east: FakeApiServer, closing) -> None:
    source = _source(kubeconfig_path, closing=closing)
    source.load()
    source.start()
    wait_until(lambda: any(q.get("watch") == ["true"] and p == "/api/v1/services" for _, p, q in east.requests))
    east.stop()
    east.create(service("born-in-gap", "bookinfo"))
    east.delete("v1", "Service", "bookinfo", "productpage")
    east.compact()  # the history the source would resume from is gone
    seen = len(east.requests)
    east.start()
    wait_until(lambda: "born-in-gap" in _names(source, "Service") and "productpage" not in _names(source, "Service"))
    relists = [(p, q) for _, p, q in east.requests[seen:] if p == "/api/v1/services" and "watch" not in q]
    assert relists, "a 410 must lead to a fresh list"
    wait_until(lambda: source.status.state == "ok")


def test_missing_crd_is_reported_once_and_clears_when_installed(kubeconfig_path: Path, east: FakeApiServer,
                                                                closing) -> None:
    east.remove_crd(f"routetables.{GROUP}")
    source = _source(kubeconfig_path, closing=closing)
    notifications = []
    source.on_change(lambda s: notifications.append(s.snapshot_parts()[1]))
    source.load()
    source.start()
    path = f"/apis/{GLOO_ENTERPRISE}/routetables"
    wait_until(lambda: sum(1 for _, p, _ in east.requests if p == path) >= 4)  # it keeps checking, quietly
    findings = [f for f in source.snapshot_parts()[1] if f.code == "kube-crd-missing"]
    assert len(findings) == 1 and f"routetables.{GROUP}" in findings[0].message
    assert source.status.state == "ok"
    assert all(sum(f.code == "kube-crd-missing" for f in found) <= 1 for found in notifications)

    install_crds(east)
    east.create(route_table("back", "bookinfo"))
    wait_until(lambda: "back" in _names(source, "RouteTable"))
    assert not [f for f in source.snapshot_parts()[1] if f.code == "kube-crd-missing"]


def test_access_denied_is_stale_with_the_server_message_and_recovers(kubeconfig_path: Path, east: FakeApiServer,
                                                                    closing) -> None:
    east.tokens["token-admin"] = "alice"
    east.deny("list", "services")
    source = _source(kubeconfig_path, closing=closing)
    source.load()
    assert source.status.state == "stale"
    assert 'User "alice" cannot list resource "services" in API group "" at the cluster scope' in source.status.reason
    source.start()
    east.allow_all()
    wait_until(lambda: source.status.state == "ok" and "productpage" in _names(source, "Service"))


def test_rejected_credentials_are_stale_until_accepted(kubeconfig_path: Path, east: FakeApiServer, closing) -> None:
    east.tokens.clear()
    source = _source(kubeconfig_path, closing=closing)
    source.load()
    assert source.status.state == "stale" and "not authenticated" in source.status.reason
    assert "Unauthorized" in source.status.reason
    source.start()
    east.tokens["token-admin"] = "admin"
    wait_until(lambda: source.status.state == "ok" and "productpage" in _names(source, "Service"))


def test_watches_request_bookmarks_and_follow_them(kubeconfig_path: Path, east: FakeApiServer, closing) -> None:
    source = _source(kubeconfig_path, closing=closing)
    source.load()
    source.start()
    east.create(service("elsewhere", "other"))  # advances the server's resourceVersion, not the node watch
    server_rv = str(east.rv)
    wait_until(lambda: source._kinds[("v1", "Node")].resource_version == server_rv)
    watches = [q for _, p, q in east.requests if q.get("watch") == ["true"]]
    assert watches and all(q.get("allowWatchBookmarks") == ["true"] for q in watches)


def test_namespace_limits_namespaced_kinds(kubeconfig_path: Path, east: FakeApiServer, closing) -> None:
    east.create(service("outside", "other"))
    source = _source(kubeconfig_path, closing=closing, namespace="bookinfo")
    source.load()
    assert "outside" not in _names(source, "Service") and "productpage" in _names(source, "Service")
    assert _names(source, "Node") == {"east-node-a", "east-node-b"}  # cluster-scoped: still read for locality
    assert any(p == "/api/v1/namespaces/bookinfo/services" for _, p, _ in east.requests)


def test_backoff_grows_with_jitter_and_is_capped(kubeconfig_path: Path, closing) -> None:
    source = _source(kubeconfig_path, closing=closing, backoff_base=1.0, backoff_max=8.0)
    first = [source._backoff(1) for _ in range(50)]
    assert all(0.5 <= d <= 1.0 for d in first) and len(set(first)) > 1
    assert all(4.0 <= source._backoff(30) <= 8.0 for _ in range(20))


def test_stop_ends_watch_threads(kubeconfig_path: Path, closing) -> None:
    source = _source(kubeconfig_path, closing=closing)
    source.load()
    source.start()
    threads = list(source._threads)
    assert threads and all(t.is_alive() for t in threads)
    source.stop()
    assert not any(t.is_alive() for t in threads)


def test_a_relist_keeps_unchanged_objects_as_the_same_resources(kubeconfig_path: Path, east: FakeApiServer,
                                                                 closing) -> None:
    """uid + resourceVersion unchanged: the resource object is reused (the incremental routing view's key)."""
    east.create(route_table("kept", "bookinfo", weight=1))
    east.create(route_table("changed", "bookinfo", weight=1))
    source = _source(kubeconfig_path, closing=closing)
    source.load()

    def tables() -> dict[str, object]:
        return {r.name: r for r in source.snapshot_parts()[0] if r.kind == "RouteTable"}

    before = tables()
    live = east.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "changed")
    live["spec"]["weight"] = 5
    east.update(live)
    source.load()  # a full list again, as after a 410
    after = tables()
    assert after["kept"] is before["kept"]
    assert after["changed"] is not before["changed"] and after["changed"].spec.weight == 5
