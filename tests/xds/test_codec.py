"""The codec: fast encoding is byte-identical to betterproto2, pack-once caching, request/response wire codecs."""

from __future__ import annotations

import datetime

import pytest
from envoy_data_plane.envoy.config.cluster.v3 import (
    CircuitBreakers,
    CircuitBreakersThresholds,
    Cluster,
    ClusterDiscoveryType,
    ClusterEdsClusterConfig,
    ClusterLbPolicy,
    OutlierDetection,
)
from envoy_data_plane.envoy.config.core.v3 import Address, Locality, Node, SocketAddress
from envoy_data_plane.envoy.config.endpoint.v3 import ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints
from envoy_data_plane.envoy.config.route.v3 import (
    RetryPolicy,
    Route,
    RouteAction,
    RouteConfiguration,
    RouteMatch,
    VirtualHost,
)
from envoy_data_plane.envoy.service.discovery.v3 import (
    DeltaDiscoveryRequest,
    DeltaDiscoveryResponse,
    DiscoveryRequest,
    DiscoveryResponse,
)
from envoy_data_plane.envoy.type.v3 import Int64Range, Percent
from envoy_data_plane.google.protobuf import Any, Struct
from envoy_data_plane.google.rpc import Status
from hypothesis import given, settings
from hypothesis import strategies as st

from meshctl.envoy.bootstrap import XdsTls, build_bootstrap
from meshctl.xds import codec
from meshctl.xds.codec import CLUSTER_TYPE, ROUTE_TYPE


def _cluster() -> Cluster:
    return Cluster(
        name="backend",
        type=ClusterDiscoveryType.EDS,
        eds_cluster_config=ClusterEdsClusterConfig(service_name="backend-eds"),
        connect_timeout=datetime.timedelta(seconds=1, microseconds=250_000),
        per_connection_buffer_limit_bytes=0,  # a wrapper holding zero is still present on the wire
        lb_policy=ClusterLbPolicy.LEAST_REQUEST,
        outlier_detection=OutlierDetection(consecutive_5xx=1, interval=datetime.timedelta(milliseconds=200),
                                           max_ejection_percent=100),
        circuit_breakers=CircuitBreakers(thresholds=[CircuitBreakersThresholds(max_retries=50)]),
    )


def _routes(count: int) -> RouteConfiguration:
    routes = [
        Route(name=f"r{i}", match=RouteMatch(prefix=f"/p/{i}"),
              route=RouteAction(cluster="backend", timeout=datetime.timedelta(seconds=3),
                                retry_policy=RetryPolicy(retry_on="5xx", num_retries=2,
                                                         retriable_status_codes=[502, 503, 504])))
        for i in range(count)
    ]
    return RouteConfiguration(name="rc", virtual_hosts=[VirtualHost(name="vh", domains=["*", "ünïcode.example"],
                                                                    routes=routes)])


def _sample_messages(make_snapshot, offline_mesh) -> list:
    snapshot = make_snapshot(offline_mesh)
    everything = [m for named in snapshot.resources.values() for m in named.values()]
    return everything + [
        _cluster(),
        _routes(25),
        ClusterLoadAssignment(cluster_name="c", endpoints=[LocalityLbEndpoints(
            locality=Locality(region="r", zone="z"), priority=1, load_balancing_weight=7,
            lb_endpoints=[LbEndpoint(endpoint=Endpoint(address=Address(
                socket_address=SocketAddress(address="127.0.0.1", port_value=8080))))])]),
        build_bootstrap("n", "c", ("r", "z", "s"), "127.0.0.1", 18000, 9901, node_metadata={"k": [1, "two", None]},
                        tls=XdsTls(b"ca", b"cert", b"key", "localhost"), delta=True),
        Struct.from_dict({"a": 1.5, "b": {"c": [True, None, "x"]}}),
        Int64Range(start=-5, end=2**40),
        Percent(value=12.5),
    ]


def test_fast_encoding_is_byte_identical_to_betterproto(make_snapshot, offline_mesh):
    for message in _sample_messages(make_snapshot, offline_mesh):
        assert codec.encode(message) == bytes(message), type(message).__name__
        assert type(message).parse(codec.encode(message)) == message


def test_unknown_fields_survive_encoding():
    wire = bytes(Percent(value=3.0)) + b"\xa0\x06\x01"  # field 100, varint 1: unknown to Percent
    parsed = Percent.parse(wire)
    assert codec.encode(parsed) == bytes(parsed) == wire


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=5),
    numbers=st.lists(st.integers(min_value=-(2**63), max_value=2**63 - 1), min_size=2, max_size=2),
    weight=st.integers(min_value=0, max_value=2**32 - 1),
    ratio=st.floats(allow_nan=False, allow_infinity=False),
)
def test_fast_encoding_matches_for_generated_values(names, numbers, weight, ratio):
    routes = RouteConfiguration(name=names[0], virtual_hosts=[VirtualHost(
        name=name, domains=names, routes=[Route(match=RouteMatch(prefix="/" + name))]) for name in names])
    messages = [
        routes,
        Int64Range(start=numbers[0], end=numbers[1]),
        Percent(value=ratio),
        ClusterLoadAssignment(cluster_name=names[0], endpoints=[LocalityLbEndpoints(load_balancing_weight=weight)]),
    ]
    for message in messages:
        assert codec.encode(message) == bytes(message)


def test_to_any_matches_any_pack():
    cluster = _cluster()
    assert codec.encode(codec.to_any(cluster)) == bytes(Any.pack(cluster))
    assert codec.any_bytes(CLUSTER_TYPE, codec.encode(cluster)) == bytes(Any.pack(cluster))


def test_packer_packs_once_and_reuses():
    packer = codec.ResourcePacker()
    routes = _routes(5)
    first = packer.pack(routes, "rc")
    assert packer.pack(routes, "rc") is first
    assert packer.packed_count == 1 and first.type_url == ROUTE_TYPE
    assert Any.parse(first.any).unpack() == routes

    # A new but equal object is packed again unless the caller says it is the same (identity).
    rebuilt = _routes(5)
    assert packer.pack(rebuilt, "rc").version == first.version
    assert packer.packed_count == 2
    by_identity = packer.pack(_routes(5), "rc", identity="model-hash-1")
    assert packer.pack(_routes(6), "rc", identity="model-hash-1") is by_identity
    assert packer.pack(_routes(6), "rc", identity="model-hash-2").version != by_identity.version

    assert len(packer) == 4
    assert packer.sweep() == 0  # everything was used since the last sweep
    packer.pack(routes, "rc")
    assert packer.sweep() == 3  # only the entry used since then survives
    assert len(packer) == 1 and packer.pack(routes, "rc") is first


def test_sotw_request_decoding_matches_the_proto():
    node = Node(id="edge-1", cluster="edge", locality=Locality(region="r", zone="z", sub_zone="s"),
                metadata=Struct.from_dict({"team": "payments"}), user_agent_name="envoy")
    request = DiscoveryRequest(version_info="v1", node=node, resource_names=["a", "b"], type_url=ROUTE_TYPE,
                               response_nonce="n-7", error_detail=Status(code=3, message="bad regex"))
    decoded = codec.decode_sotw_request(bytes(request))
    assert (decoded.version_info, decoded.resource_names, decoded.type_url, decoded.response_nonce) == (
        "v1", ["a", "b"], ROUTE_TYPE, "n-7")
    assert decoded.is_nack and decoded.error_message == "bad regex" and decoded.error_code == 3
    assert decoded.node is not None
    assert (decoded.node.id, decoded.node.cluster, decoded.node.locality) == ("edge-1", "edge", ("r", "z", "s"))
    assert decoded.node.metadata == {"team": "payments"} and decoded.node.user_agent == "envoy"

    ack = codec.decode_sotw_request(bytes(DiscoveryRequest(type_url=ROUTE_TYPE, response_nonce="n-8")))
    assert not ack.is_nack and ack.node is None


def test_delta_request_decoding_matches_the_proto():
    request = DeltaDiscoveryRequest(
        node=Node(id="d"), type_url=CLUSTER_TYPE, resource_names_subscribe=["x", "y"],
        resource_names_unsubscribe=["z"], initial_resource_versions={"x": "1", "y": "2"}, response_nonce="n",
    )
    decoded = codec.decode_delta_request(bytes(request))
    assert decoded.subscribe == ["x", "y"] and decoded.unsubscribe == ["z"]
    assert decoded.initial_resource_versions == {"x": "1", "y": "2"}
    assert decoded.node is not None and decoded.node.id == "d" and not decoded.is_nack


def test_response_encoders_produce_valid_discovery_responses():
    packer = codec.ResourcePacker()
    packed = [packer.pack(_routes(2), "rc"), packer.pack(_routes(3), "rc2")]
    blob = codec.encode_resources_blob(packed)
    response = DiscoveryResponse.parse(codec.encode_sotw_response("v9", ROUTE_TYPE, "n1", blob, "meshctl/x"))
    assert (response.version_info, response.type_url, response.nonce) == ("v9", ROUTE_TYPE, "n1")
    assert response.control_plane.identifier == "meshctl/x"
    assert [a.unpack() for a in response.resources] == [_routes(2), _routes(3)]

    delta = DeltaDiscoveryResponse.parse(codec.encode_delta_response("v9", ROUTE_TYPE, "n2", packed[:1], ["gone"]))
    assert delta.system_version_info == "v9" and delta.removed_resources == ["gone"]
    [resource] = delta.resources
    assert (resource.name, resource.version) == ("rc", packed[0].version)
    assert resource.resource.unpack() == _routes(2)


@pytest.mark.parametrize("bad", [b"\x0a\x05ab", b"\x0b"])
def test_malformed_requests_raise(bad):
    with pytest.raises((ValueError, IndexError)):
        codec.decode_sotw_request(bad)
