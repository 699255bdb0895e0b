"""Snapshots: consistency rules, pack-once preparation with content versions, and the per-group cache."""

from __future__ import annotations

import dataclasses

import pytest

from meshctl.xds.cache import InconsistentSnapshot, NodeInfo, SnapshotCache, XdsSnapshot, prepare
from meshctl.xds.codec import (
    CLUSTER_TYPE,
    ENDPOINT_TYPE,
    LISTENER_TYPE,
    PUSH_ORDER,
    ROUTE_TYPE,
    STREAM_ORDER,
    ResourcePacker,
)


def _without(snapshot: XdsSnapshot, type_url: str) -> XdsSnapshot:
    resources = {t: dict(named) for t, named in snapshot.resources.items()}
    resources[type_url] = {}
    return XdsSnapshot(snapshot.version, resources)


def test_consistent_snapshot_has_no_problems(make_snapshot, offline_mesh):
    snapshot = make_snapshot(offline_mesh)
    assert snapshot.consistent() and snapshot.inconsistencies() == []


def test_missing_endpoints_and_routes_make_a_snapshot_inconsistent(make_snapshot, offline_mesh):
    snapshot = make_snapshot(offline_mesh)
    no_endpoints = _without(snapshot, ENDPOINT_TYPE)
    assert not no_endpoints.consistent()
    assert no_endpoints.inconsistencies() == [
        "cluster 'backend' uses EDS 'backend', which has no ClusterLoadAssignment"]
    no_routes = _without(snapshot, ROUTE_TYPE)
    assert no_routes.inconsistencies() == [
        "listener 'ingress' uses RDS 'local_routes', which has no RouteConfiguration"]
    with pytest.raises(InconsistentSnapshot):
        prepare(no_routes, ResourcePacker())


def test_eds_service_name_and_resource_keys_are_checked(make_snapshot, offline_mesh):
    snapshot = make_snapshot(offline_mesh)
    cluster = snapshot.resources[CLUSTER_TYPE]["backend"]
    renamed = dataclasses.replace(cluster)
    renamed.eds_cluster_config = dataclasses.replace(cluster.eds_cluster_config, service_name="other")
    resources = {t: dict(named) for t, named in snapshot.resources.items()}
    resources[CLUSTER_TYPE] = {"backend": renamed, "alias": cluster}
    problems = XdsSnapshot("x", resources).inconsistencies()
    assert "cluster 'backend' uses EDS 'other', which has no ClusterLoadAssignment" in problems
    assert "CDS resource keyed 'alias' is named 'backend'" in problems


def test_prepared_versions_follow_content(make_snapshot, offline_mesh):
    packer = ResourcePacker()
    first = prepare(make_snapshot(offline_mesh), packer, "boot-")
    assert set(first.types) == set(STREAM_ORDER)  # the core types and (empty) scopes
    assert all(first.version_of(t).startswith("boot-") for t in PUSH_ORDER)
    same = prepare(make_snapshot(offline_mesh), packer, "boot-")
    assert {t: same.version_of(t) for t in PUSH_ORDER} == {t: first.version_of(t) for t in PUSH_ORDER}

    changed = prepare(make_snapshot(dataclasses.replace(offline_mesh, direct_body="new")), packer, "boot-")
    assert [t for t in PUSH_ORDER if changed.version_of(t) != first.version_of(t)] == [ROUTE_TYPE]
    assert changed.resource_versions(ROUTE_TYPE)["local_routes"] != first.resource_versions(ROUTE_TYPE)["local_routes"]
    assert changed.eds_service_of == {"backend": "backend"}


def test_types_absent_from_a_snapshot_are_served_empty():
    prepared = prepare(XdsSnapshot("empty", {}), ResourcePacker())
    assert set(prepared.types) == set(STREAM_ORDER)
    assert all(not prepared.types[t].resources for t in STREAM_ORDER)
    assert prepared.types[LISTENER_TYPE].resources_blob(None) == b""


def test_cache_builds_once_per_group_and_refresh_reports_changes(make_snapshot, offline_mesh):
    calls = []
    config = {"mesh": offline_mesh}

    def builder(node: NodeInfo) -> XdsSnapshot:
        calls.append(node.id)
        return make_snapshot(config["mesh"])

    cache = SnapshotCache(builder, version_prefix="b-")
    east_a, east_b = NodeInfo("a", "edge", ("r", "east", "")), NodeInfo("b", "edge", ("r", "east", ""))
    west = NodeInfo("c", "edge", ("r", "west", ""))
    keys = {cache.attach(n) for n in (east_a, east_b, west)}
    assert len(keys) == 2
    assert cache.prepared_for(east_a) is cache.prepared_for(east_b)
    cache.prepared_for(west)
    assert calls == ["a", "c"]

    assert cache.refresh().changed == set()  # same content: nothing to push
    endpoints_before = cache.prepared_for(east_a).version_of(ENDPOINT_TYPE)
    routes_before = cache.prepared_for(east_a).version_of(ROUTE_TYPE)
    config["mesh"] = dataclasses.replace(offline_mesh, upstream_port=20000)
    result = cache.refresh()
    assert result.changed == keys and result.errors == {}
    assert calls == ["a", "c", "a", "c", "a", "c"]
    for node in (east_a, west):
        assert cache.prepared_for(node).version_of(ENDPOINT_TYPE) not in (None, endpoints_before)
        assert cache.prepared_for(node).version_of(ROUTE_TYPE) == routes_before

    cache.detach(east_a)
    assert len(cache.groups) == 2
    cache.detach(east_b)
    cache.detach(west)
    assert cache.groups == [] and cache.get(cache.group_of(west)) is None


def test_cache_keeps_last_good_snapshot_when_builder_fails(make_snapshot, offline_mesh):
    state = {"fail": False}

    def builder(node: NodeInfo) -> XdsSnapshot:
        if state["fail"]:
            raise ValueError("bad model")
        return make_snapshot(offline_mesh)

    cache = SnapshotCache(builder)
    node = NodeInfo("a")
    cache.attach(node)
    good = cache.prepared_for(node)
    state["fail"] = True
    result = cache.refresh()
    assert result.changed == set() and "ValueError: bad model" in result.errors[cache.group_of(node)]
    assert cache.prepared_for(node) is good


def test_first_build_failure_yields_no_snapshot_until_fixed(make_snapshot, offline_mesh):
    state = {"snapshot": _without(make_snapshot(offline_mesh), ENDPOINT_TYPE)}
    cache = SnapshotCache(lambda node: state["snapshot"])
    node = NodeInfo("a")
    cache.attach(node)
    assert cache.prepared_for(node) is None
    assert "InconsistentSnapshot" in cache.errors[cache.group_of(node)]
    state["snapshot"] = make_snapshot(offline_mesh)
    assert cache.refresh().changed == {cache.group_of(node)}
    assert cache.prepared_for(node) is not None


def test_identities_let_rebuilt_messages_reuse_packing(make_snapshot, offline_mesh):
    packer = ResourcePacker()

    def snapshot_with_identities() -> XdsSnapshot:
        snapshot = make_snapshot(offline_mesh)
        identities = {(t, name): ("model", 1) for t, named in snapshot.resources.items() for name in named}
        return XdsSnapshot(snapshot.version, snapshot.resources, identities)

    prepare(snapshot_with_identities(), packer)
    packed = packer.packed_count
    prepare(snapshot_with_identities(), packer)
    assert packer.packed_count == packed and packer.reused_count >= 4


def test_a_departed_group_takes_its_packings_with_it() -> None:
    """Nodes that only connect and disconnect (no full rebuild, so no sweep) must not grow the pack cache."""
    from envoy_data_plane.envoy.config.cluster.v3 import Cluster

    from meshctl.xds.cache import NodeInfo, SnapshotCache, XdsSnapshot

    def build(node: NodeInfo) -> XdsSnapshot:  # a fresh message per build, as the translator makes listeners
        return XdsSnapshot.from_messages("v", clusters=[Cluster(name=f"c-{node.locality[1]}")])

    cache = SnapshotCache(build)
    stays = NodeInfo("stays", "edge", ("r", "z0", ""))
    cache.attach(stays)
    cache.prepared_for(stays)
    for index in range(50):
        node = NodeInfo(f"n{index}", "edge", ("r", f"z{index + 1}", ""))
        cache.attach(node)
        assert cache.prepared_for(node) is not None
        cache.detach(node)
    assert len(cache.packer._entries) == 1  # only the group still connected
    assert cache.get(cache.group_of(stays)) is not None
