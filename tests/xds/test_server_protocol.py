"""ADS protocol behaviour of XdsServer against a Python gRPC client: ACK/NACK, nonces, order, delta, lifecycle."""

from __future__ import annotations

import asyncio
import threading

import grpc
import pytest
from envoy_data_plane.envoy.config.core.v3 import Locality, Node
from envoy_data_plane.envoy.service.discovery.v3 import (
    DeltaDiscoveryRequest,
    DeltaDiscoveryResponse,
    DiscoveryRequest,
    DiscoveryResponse,
)
from envoy_data_plane.envoy.service.status.v3 import ClientStatusRequest, ClientStatusResponse
from envoy_data_plane.google.rpc import Status

from meshctl.xds import codec
from meshctl.xds.cache import XdsSnapshot, resource_name
from meshctl.xds.codec import CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, PUSH_ORDER, ROUTE_TYPE
from meshctl.xds.server import DELTA_METHOD, SOTW_METHOD, XdsServer
from meshctl.xds.status import STREAM_METHOD


class AdsClient:
    """A minimal ADS client (SotW or delta) over grpc.aio."""

    def __init__(self, channel: grpc.aio.Channel, delta: bool = False):
        response_type = DeltaDiscoveryResponse if delta else DiscoveryResponse
        method = channel.stream_stream(
            DELTA_METHOD if delta else SOTW_METHOD,
            request_serializer=codec.encode,
            response_deserializer=response_type.parse,
        )
        self.call = method()

    async def send(self, request: object) -> None:
        await self.call.write(request)

    async def recv(self, timeout: float = 5.0) -> object:
        response = await asyncio.wait_for(self.call.read(), timeout)
        assert response is not grpc.aio.EOF, "stream ended"
        return response

    def cancel(self) -> None:
        self.call.cancel()


def node(node_id: str, zone: str = "z1") -> Node:
    return Node(id=node_id, cluster="edge", locality=Locality(region="r1", zone=zone))


def ack(response: DiscoveryResponse, names: list[str] | None = None) -> DiscoveryRequest:
    return DiscoveryRequest(type_url=response.type_url, version_info=response.version_info,
                            response_nonce=response.nonce, resource_names=names or [])


def nack(response: DiscoveryResponse, message: str, names: list[str] | None = None) -> DiscoveryRequest:
    return DiscoveryRequest(type_url=response.type_url, version_info="", response_nonce=response.nonce,
                            resource_names=names or [], error_detail=Status(code=3, message=message))


def names_of(response: DiscoveryResponse) -> list[str]:
    return sorted(resource_name(any_message.unpack()) for any_message in response.resources)


@pytest.fixture
async def server(builder):
    xds = XdsServer(builder, "127.0.0.1:0")
    await xds.start()
    try:
        yield xds
    finally:
        await xds.stop()


@pytest.fixture
async def channel(server):
    async with grpc.aio.insecure_channel(server.address) as chan:
        yield chan


def _client(server: XdsServer, node_id: str):
    [client] = [c for c in server.status() if c.node_id == node_id]
    return client


async def _subscribe_all(client: AdsClient, node_id: str) -> dict[str, DiscoveryResponse]:
    """Subscribe to the four types the way Envoy does and ACK each answer."""
    responses = {}
    await client.send(DiscoveryRequest(node=node(node_id), type_url=CLUSTER_TYPE))
    await client.send(DiscoveryRequest(type_url=LISTENER_TYPE))
    await client.send(DiscoveryRequest(type_url=ENDPOINT_TYPE, resource_names=["backend"]))
    await client.send(DiscoveryRequest(type_url=ROUTE_TYPE, resource_names=["local_routes"]))
    for _ in range(4):
        response = await client.recv()
        responses[response.type_url] = response
    for type_url in PUSH_ORDER:
        names = ["backend"] if type_url == ENDPOINT_TYPE else ["local_routes"] if type_url == ROUTE_TYPE else []
        await client.send(ack(responses[type_url], names))
    return responses


async def test_sotw_sync_ack_nack_stale_nonce_and_no_resend(server, channel, mesh):
    client = AdsClient(channel)
    first = await _subscribe_all(client, "n1")
    await server.wait_synced(5, node_ids=["n1"])
    cds = first[CLUSTER_TYPE]
    assert names_of(cds) == ["backend"] and names_of(first[ROUTE_TYPE]) == ["local_routes"]
    assert cds.version_info.startswith(server.boot_id + "-")
    assert cds.control_plane.identifier == server.control_plane_id
    assert len({r.nonce for r in first.values()}) == 4

    # A new cluster version arrives (followed by endpoints, for warming); the client rejects it.
    mesh.connect_timeout_ms = 4321
    await asyncio.wrap_future(server.refresh())
    cds_v2 = await client.recv()
    eds_again = await client.recv()
    assert cds_v2.type_url == CLUSTER_TYPE and cds_v2.version_info != cds.version_info
    assert eds_again.type_url == ENDPOINT_TYPE and eds_again.version_info == first[ENDPOINT_TYPE].version_info
    await client.send(ack(eds_again, ["backend"]))
    await client.send(nack(cds_v2, "cluster rejected: boom"))
    await server.wait_for(lambda: _client(server, "n1").per_type[CLUSTER_TYPE].state == "NACKED", 5)
    clusters = _client(server, "n1").per_type[CLUSTER_TYPE]
    assert clusters.nack_reason == "cluster rejected: boom"
    assert clusters.acked_version == cds.version_info and clusters.nacked_version == cds_v2.version_info

    # Stale nonces are ignored: answers to the first cluster response now change nothing.
    await client.send(ack(cds))
    await client.send(nack(cds, "stale complaint"))
    # Only a new route version is pushed, never the rejected cluster version again.
    mesh.direct_body = "v3"
    await asyncio.wrap_future(server.refresh())
    rds = await client.recv()
    assert rds.type_url == ROUTE_TYPE
    await client.send(ack(rds, ["local_routes"]))
    await server.wait_for(lambda: _client(server, "n1").per_type[ROUTE_TYPE].state == "SYNCED", 5)
    status = _client(server, "n1")
    assert status.per_type[CLUSTER_TYPE].state == "NACKED"
    assert status.per_type[CLUSTER_TYPE].nack_reason == "cluster rejected: boom"
    assert status.per_type[ROUTE_TYPE].nack_reason is None

    # A fixed cluster version is sent and accepted.
    mesh.connect_timeout_ms = 1500
    await asyncio.wrap_future(server.refresh())
    cds_v3 = await client.recv()
    assert cds_v3.type_url == CLUSTER_TYPE and cds_v3.version_info not in (cds.version_info, cds_v2.version_info)
    eds_again = await client.recv()
    await client.send(ack(cds_v3))
    await client.send(ack(eds_again, ["backend"]))
    await server.wait_synced(5, node_ids=["n1"])
    client.cancel()


async def test_changes_are_pushed_in_make_before_break_order(server, channel, mesh):
    client = AdsClient(channel)
    await _subscribe_all(client, "n1")
    await server.wait_synced(5)
    mesh.listener_port += 1
    mesh.upstream_port += 1
    mesh.connect_timeout_ms = 777
    mesh.direct_body = "all change"
    await asyncio.wrap_future(server.refresh())
    order = [(await client.recv()).type_url for _ in range(4)]
    assert order == list(PUSH_ORDER)
    client.cancel()


async def test_subscription_change_is_answered_with_the_named_resources(server, channel):
    client = AdsClient(channel)
    await client.send(DiscoveryRequest(node=node("n1"), type_url=ENDPOINT_TYPE, resource_names=["backend"]))
    eds = await client.recv()
    assert names_of(eds) == ["backend"]
    await client.send(ack(eds, ["backend", "unknown"]))  # names changed: answered with what exists
    again = await client.recv()
    assert names_of(again) == ["backend"] and again.nonce != eds.nonce
    await client.send(ack(again, []))  # unsubscribing everything yields an empty answer
    empty = await client.recv()
    assert empty.resources == []
    client.cancel()


async def test_delta_protocol(server, channel, mesh, builder):
    client = AdsClient(channel, delta=True)
    await client.send(DeltaDiscoveryRequest(node=node("d1"), type_url=CLUSTER_TYPE))
    cds = await client.recv()
    assert [r.name for r in cds.resources] == ["backend"] and cds.removed_resources == []
    cluster_version = cds.resources[0].version
    await client.send(DeltaDiscoveryRequest(type_url=CLUSTER_TYPE, response_nonce=cds.nonce))
    await client.send(DeltaDiscoveryRequest(type_url=ENDPOINT_TYPE, resource_names_subscribe=["backend"]))
    eds = await client.recv()
    assert [r.name for r in eds.resources] == ["backend"]
    await client.send(DeltaDiscoveryRequest(type_url=ENDPOINT_TYPE, response_nonce=eds.nonce))
    await server.wait_for(lambda: all(t.state == "SYNCED" for t in _client(server, "d1").per_type.values()), 5)

    # Removing the cluster (and its endpoints) is announced as removed_resources.
    original_build = builder.__call__

    def without_cluster(node_info):
        snapshot = original_build(node_info)
        resources = {t: dict(named) for t, named in snapshot.resources.items()}
        resources[CLUSTER_TYPE] = {}
        resources[ENDPOINT_TYPE] = {}
        return XdsSnapshot("no-cluster", resources)

    server.cache.builder = without_cluster
    await asyncio.wrap_future(server.refresh())
    removal = await client.recv()
    assert removal.type_url == CLUSTER_TYPE and removal.removed_resources == ["backend"] and removal.resources == []
    eds_removal = await client.recv()
    assert eds_removal.type_url == ENDPOINT_TYPE and eds_removal.removed_resources == ["backend"]
    client.cancel()

    # A reconnecting client that already holds the current version is sent nothing for it (not even an
    # empty response): the next message on the stream answers its next subscription.
    server.cache.builder = builder
    again = AdsClient(channel, delta=True)
    await again.send(DeltaDiscoveryRequest(node=node("d2"), type_url=CLUSTER_TYPE,
                                           initial_resource_versions={"backend": cluster_version}))
    await again.send(DeltaDiscoveryRequest(type_url=ENDPOINT_TYPE, resource_names_subscribe=["backend"]))
    response = await again.recv()
    assert response.type_url == ENDPOINT_TYPE and [r.name for r in response.resources] == ["backend"]
    await server.wait_for(lambda: _client(server, "d2").per_type[CLUSTER_TYPE].state == "SYNCED", 5)
    again.cancel()


async def test_first_request_without_node_is_rejected(server, channel):
    client = AdsClient(channel)
    await client.send(DiscoveryRequest(type_url=CLUSTER_TYPE))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await client.recv()
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_groups_share_one_build_and_localities_get_their_own(server, channel, builder):
    clients = [AdsClient(channel) for _ in range(3)]
    for client, (node_id, zone) in zip(clients, [("a", "z1"), ("b", "z1"), ("c", "z2")], strict=True):
        await client.send(DiscoveryRequest(node=node(node_id, zone), type_url=CLUSTER_TYPE))
        await client.recv()
    assert builder.calls == 2
    assert sorted(n.locality[1] for n in builder.nodes) == ["z1", "z2"]
    assert len(server.cache.groups) == 2
    for client in clients:
        client.cancel()


async def test_failing_or_inconsistent_builder_keeps_last_good_snapshot(server, channel, builder, mesh):
    log = []
    server.add_listener(log.append)
    client = AdsClient(channel)
    await _subscribe_all(client, "n1")
    await server.wait_synced(5)
    pushes = len([e for e in log if e.kind == "push"])

    def broken(node_info):
        raise RuntimeError("translation failed")

    server.cache.builder = broken
    await asyncio.wrap_future(server.refresh())

    def dangling(node_info):  # a cluster whose endpoints are missing must never be published
        snapshot = builder(node_info)
        resources = {t: dict(named) for t, named in snapshot.resources.items()}
        resources[ENDPOINT_TYPE] = {}
        return XdsSnapshot("dangling", resources)

    server.cache.builder = dangling
    mesh.connect_timeout_ms = 999
    result = await asyncio.wrap_future(server.refresh())
    assert "has no ClusterLoadAssignment" in next(iter(result.errors.values()))
    errors = [e.message for e in log if e.kind == "error"]
    assert "translation failed" in errors[0] and "has no ClusterLoadAssignment" in errors[1]
    assert len([e for e in log if e.kind == "push"]) == pushes
    assert _client(server, "n1").synced
    client.cancel()


async def test_refresh_from_another_thread(server, channel, mesh):
    client = AdsClient(channel)
    await _subscribe_all(client, "n1")
    mesh.direct_body = "from a thread"
    results = []
    thread = threading.Thread(target=lambda: results.append(server.refresh().result(10)))
    thread.start()
    rds = await client.recv()
    await asyncio.to_thread(thread.join, 10)
    assert rds.type_url == ROUTE_TYPE and results and results[0].changed
    client.cancel()


async def test_csds_stream_reports_clients(server, channel):
    client = AdsClient(channel)
    await _subscribe_all(client, "n1")
    await server.wait_synced(5)
    csds = channel.stream_stream(STREAM_METHOD, request_serializer=codec.encode,
                                 response_deserializer=ClientStatusResponse.parse)()
    await csds.write(ClientStatusRequest())
    response = await asyncio.wait_for(csds.read(), 5)
    assert [c.node.id for c in response.config] == ["n1"]
    assert len(response.config[0].generic_xds_configs) == 4
    csds.cancel()
    client.cancel()


async def test_connect_disconnect_cycles_leave_nothing_behind(server, channel):
    warm = AdsClient(channel)  # first build done once, outside the measured loop
    await warm.send(DiscoveryRequest(node=node("warm"), type_url=CLUSTER_TYPE))
    await warm.recv()
    warm.cancel()
    await server.wait_for(lambda: server.stream_count == 0, 5)
    tasks_before = len(asyncio.all_tasks())

    for index in range(200):
        client = AdsClient(channel)
        await client.send(DiscoveryRequest(node=node(f"cycle-{index}"), type_url=CLUSTER_TYPE))
        response = await client.recv()
        assert response.type_url == CLUSTER_TYPE
        client.cancel()

    await server.wait_for(lambda: server.stream_count == 0, 10)
    for _ in range(50):  # let cancelled handler tasks finish unwinding
        if len(asyncio.all_tasks()) <= tasks_before:
            break
        await asyncio.sleep(0.02)
    assert len(asyncio.all_tasks()) <= tasks_before
    assert server.status() == [] and server.cache.groups == []


async def test_stop_ends_open_streams_with_ok_status(builder):
    xds = XdsServer(builder, "127.0.0.1:0")
    await xds.start()
    async with grpc.aio.insecure_channel(xds.address) as chan:
        client = AdsClient(chan)
        await client.send(DiscoveryRequest(node=node("n1"), type_url=CLUSTER_TYPE))
        await client.recv()
        await xds.stop()
        assert await asyncio.wait_for(client.call.read(), 5) is grpc.aio.EOF
        assert await client.call.code() == grpc.StatusCode.OK
    assert xds.stream_count == 0


async def test_sotw_reconnect_with_the_current_version_is_not_pushed(builder):
    """Versions are content hashes with a fixed prefix: a second server (another replica) agrees on them, and a
    client arriving with the version it holds is sent nothing until the content changes."""
    from meshctl.xds.cache import SnapshotCache

    servers = [XdsServer(SnapshotCache(builder, version_prefix="c-"), "127.0.0.1:0") for _ in range(2)]
    for xds in servers:
        await xds.start()
    try:
        async with grpc.aio.insecure_channel(servers[0].address) as first, \
                grpc.aio.insecure_channel(servers[1].address) as second:
            held = await _subscribe_all(AdsClient(first), "mover")
            moved = AdsClient(second)
            # Envoy's first requests on a new stream carry the versions it accepted
            await moved.send(DiscoveryRequest(node=node("mover"), type_url=CLUSTER_TYPE,
                                              version_info=held[CLUSTER_TYPE].version_info))
            await moved.send(DiscoveryRequest(type_url=LISTENER_TYPE, version_info=held[LISTENER_TYPE].version_info))
            await moved.send(DiscoveryRequest(type_url=ENDPOINT_TYPE, resource_names=["backend"],
                                              version_info=held[ENDPOINT_TYPE].version_info))
            # a version it does not hold (here: none) is answered; it is the first message on the stream
            await moved.send(DiscoveryRequest(type_url=ROUTE_TYPE, resource_names=["local_routes"]))
            response = await moved.recv()
            assert response.type_url == ROUTE_TYPE
            assert response.version_info == held[ROUTE_TYPE].version_info  # same content, same version
            await moved.send(ack(response, ["local_routes"]))
            await servers[1].wait_synced(5, node_ids=["mover"])
            moved.cancel()
    finally:
        for xds in servers:
            await xds.stop()
