"""The xDS server driving real Envoy processes: sync, pushes, NACKs, restarts, delta, CSDS and (m)TLS."""

from __future__ import annotations

import time

import grpc
import pytest
from envoy_data_plane.envoy.admin.v3 import ClientResourceStatus
from envoy_data_plane.envoy.service.status.v3 import ClientStatusResponse, ConfigStatus

from meshctl.envoy.bootstrap import XdsTls
from meshctl.xds import codec
from meshctl.xds.codec import CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, PUSH_ORDER, ROUTE_TYPE
from meshctl.xds.runner import BackgroundXdsServer
from meshctl.xds.status import FETCH_METHOD, ClientTls, fetch_status

pytestmark = pytest.mark.envoy

BAD_REGEX = "(?<=a)b"  # RE2 has no lookbehind: Envoy rejects the RouteConfiguration


def _status_of(xds: BackgroundXdsServer, node_id: str):
    matches = [c for c in xds.status() if c.node_id == node_id]
    assert len(matches) == 1, f"expected one client {node_id}, got {[c.node_id for c in xds.status()]}"
    return matches[0]


def test_envoy_connects_acks_all_types_and_serves(xds, events, envoys, mesh, upstream, http_get, get_until):
    envoy = envoys("edge-1", xds.bound_port, node_cluster="edge", locality=("eu-west", "eu-west-1a", "rack-7"))
    envoy.wait_live(10)
    xds.wait_synced(10, node_ids=["edge-1"])

    client = _status_of(xds, "edge-1")
    assert client.cluster == "edge" and client.locality == ("eu-west", "eu-west-1a", "rack-7")
    assert set(client.per_type) == set(PUSH_ORDER)
    assert all(t.state == "SYNCED" and t.acked_version == t.sent_version for t in client.per_type.values())
    assert client.per_type[ROUTE_TYPE].resource_names == ("local_routes",)
    # Make-before-break: the first pushes came in CDS, EDS, LDS, RDS order.
    assert [e.type_url for e in events.of("push")][:4] == list(PUSH_ORDER)

    assert get_until(mesh.listener_port, "/direct", (200, "hello")) == (200, "hello")
    assert http_get(mesh.listener_port, "/some/path") == (200, "upstream /some/path")
    assert "/some/path" in upstream.hits
    backend = [c for c in envoy.admin.clusters_json()["cluster_statuses"] if c["name"] == "backend"]
    assert backend and backend[0]["host_statuses"][0]["address"]["socket_address"]["port_value"] == upstream.port


def test_config_change_is_pushed_and_served(xds, events, envoys, mesh, http_get, get_until):
    envoys("edge-1", xds.bound_port).wait_live(10)
    xds.wait_synced(10)
    assert get_until(mesh.listener_port, "/direct", (200, "hello")) == (200, "hello")
    pushes_before = len(events.of("push"))

    mesh.direct_body = "changed"
    xds.refresh_and_wait(10)

    assert get_until(mesh.listener_port, "/direct", (200, "changed")) == (200, "changed")
    new_pushes = events.of("push")[pushes_before:]
    assert [e.type_url for e in new_pushes] == [ROUTE_TYPE]  # only what changed is sent


def test_bad_config_is_nacked_previous_keeps_serving_and_is_not_resent(xds, events, envoys, mesh, http_get, get_until):
    envoy = envoys("edge-1", xds.bound_port)
    envoy.wait_live(10)
    xds.wait_synced(10)
    assert get_until(mesh.listener_port, "/direct", (200, "hello")) == (200, "hello")
    good_route_version = _status_of(xds, "edge-1").per_type[ROUTE_TYPE].acked_version

    mesh.regex, mesh.direct_body = BAD_REGEX, "from-bad-version"
    xds.refresh().result(10)
    xds.wait_for(lambda: bool(events.of("nack", ROUTE_TYPE)), 10)

    routes = _status_of(xds, "edge-1").per_type[ROUTE_TYPE]
    assert routes.state == "NACKED"
    assert "invalid perl operator" in (routes.nack_reason or "")
    assert routes.acked_version == good_route_version and routes.nacked_version == routes.sent_version
    assert http_get(mesh.listener_port, "/direct") == (200, "hello")  # previous config still serving
    assert envoy.admin.stats()["http.ingress.rds.local_routes.update_rejected"] == 1

    # Another type changes; the rejected RouteConfiguration must not be sent again.
    route_pushes = len(events.of("push", ROUTE_TYPE))
    cluster_acks = len(events.of("ack", CLUSTER_TYPE))
    mesh.connect_timeout_ms = 2500
    xds.refresh().result(10)
    xds.wait_for(lambda: len(events.of("ack", CLUSTER_TYPE)) > cluster_acks, 10)
    assert len(events.of("push", ROUTE_TYPE)) == route_pushes
    assert len(events.of("nack")) == 1
    assert _status_of(xds, "edge-1").per_type[ROUTE_TYPE].state == "NACKED"

    # A later good version is sent and accepted.
    mesh.regex = "^/re+gex$"
    xds.refresh_and_wait(10)
    assert get_until(mesh.listener_port, "/direct", (200, "from-bad-version")) == (200, "from-bad-version")
    assert http_get(mesh.listener_port, "/reeegex") == (204, "")
    assert _status_of(xds, "edge-1").per_type[ROUTE_TYPE].state == "SYNCED"


def test_envoy_killed_and_restarted_resyncs(xds, events, envoys, mesh, http_get, get_until):
    envoy = envoys("edge-1", xds.bound_port)
    envoy.wait_live(10)
    xds.wait_synced(10)
    envoy.kill()
    xds.wait_for(lambda: not events.of("connect") or len(events.of("disconnect")) >= 1, 10)
    xds.wait_for(lambda: xds.server.stream_count == 0, 10)

    mesh.direct_body = "while-you-were-down"
    xds.refresh().result(10)
    envoy.restart()
    envoy.wait_live(10)
    xds.wait_synced(10, node_ids=["edge-1"])
    assert get_until(mesh.listener_port, "/direct", (200, "while-you-were-down")) == (200, "while-you-were-down")
    assert len(events.of("connect")) == 2


def test_control_plane_restart_on_same_port_resyncs_envoy(builder, envoys, mesh, http_get, get_until):
    first = BackgroundXdsServer(builder, "127.0.0.1:0").start()
    port = first.bound_port
    try:
        envoy = envoys("edge-1", port)
        envoy.wait_live(10)
        first.wait_synced(10)
        old_versions = {t: s.acked_version for t, s in first.status()[0].per_type.items()}
    finally:
        first.stop()
    assert http_get(mesh.listener_port, "/direct") == (200, "hello")  # Envoy keeps serving without a server

    mesh.direct_body = "from the new control plane"
    second = BackgroundXdsServer(builder, f"127.0.0.1:{port}").start()
    try:
        [client] = second.wait_synced(15, node_ids=["edge-1"])
        assert second.server.boot_id != first.server.boot_id
        assert all(client.per_type[t].acked_version != old_versions[t] for t in PUSH_ORDER)
        expected = (200, "from the new control plane")
        assert get_until(mesh.listener_port, "/direct", expected) == expected
    finally:
        second.stop()


def test_delta_xds_with_real_envoy(xds, events, envoys, mesh, http_get, get_until):
    envoy = envoys("edge-delta", xds.bound_port, delta=True)
    envoy.wait_live(10)
    client = xds.wait_synced(10)[0]
    assert client.stream_kind == "delta"
    assert set(client.per_type) == set(PUSH_ORDER)
    assert get_until(mesh.listener_port, "/direct", (200, "hello")) == (200, "hello")
    assert http_get(mesh.listener_port, "/via-delta") == (200, "upstream /via-delta")

    mesh.direct_body = "delta-changed"
    xds.refresh_and_wait(10)
    assert get_until(mesh.listener_port, "/direct", (200, "delta-changed")) == (200, "delta-changed")

    # An updated cluster re-warms: it needs its endpoints again before Envoy ACKs the CDS update.
    mesh.connect_timeout_ms = 3000
    xds.refresh_and_wait(10)
    assert http_get(mesh.listener_port, "/after-cds-change") == (200, "upstream /after-cds-change")

    mesh.regex = BAD_REGEX
    xds.refresh().result(10)
    xds.wait_for(lambda: bool(events.of("nack", ROUTE_TYPE)), 10)
    routes = _status_of(xds, "edge-delta").per_type[ROUTE_TYPE]
    assert routes.state == "NACKED" and "invalid perl operator" in (routes.nack_reason or "")
    assert http_get(mesh.listener_port, "/direct") == (200, "delta-changed")


def test_csds_reports_envoy_status(xds, envoys, mesh, http_get, get_until):
    for node_id in ("edge-a", "edge-b"):
        envoys(node_id, xds.bound_port, locality=("us", "us-1", "")).wait_live(10)
    xds.wait_synced(10, node_ids=["edge-a", "edge-b"])

    clients = {c.node_id: c for c in fetch_status(xds.address)}
    assert set(clients) == {"edge-a", "edge-b"}
    assert clients["edge-a"].locality == ("us", "us-1", "")
    assert all(t.state == "SYNCED" for c in clients.values() for t in c.per_type.values())
    assert clients["edge-a"].per_type[CLUSTER_TYPE].last_push_latency_ms is not None

    only_b = fetch_status(xds.address, node_id="edge-b")
    assert [c.node_id for c in only_b] == ["edge-b"]

    # Standard CSDS view: one entry per resource, SYNCED/ACKED, with contents when asked for.
    with grpc.insecure_channel(xds.address) as channel:
        fetch = channel.unary_unary(FETCH_METHOD, request_serializer=codec.identity_bytes,
                                    response_deserializer=ClientStatusResponse.parse)
        response = fetch(b"", timeout=5)
    per_client = {c.node.id: c for c in response.config}
    entries = {(g.type_url, g.name): g for g in per_client["edge-a"].generic_xds_configs}
    assert set(entries) == {(CLUSTER_TYPE, "backend"), (ENDPOINT_TYPE, "backend"),
                            (LISTENER_TYPE, "ingress"), (ROUTE_TYPE, "local_routes")}
    route_entry = entries[(ROUTE_TYPE, "local_routes")]
    assert route_entry.config_status == ConfigStatus.SYNCED and route_entry.client_status == ClientResourceStatus.ACKED
    assert route_entry.xds_config.unpack().name == "local_routes"


@pytest.mark.parametrize("mutual", [False, True], ids=["tls", "mtls"])
def test_tls_and_mutual_tls(tls_material, builder, mesh, envoys, mutual, http_get, get_until):
    server = BackgroundXdsServer(builder, "127.0.0.1:0", tls=tls_material.server_tls(mutual)).start()
    try:
        client_tls = XdsTls(
            ca_cert=tls_material.ca_cert,
            cert_chain=tls_material.client_cert if mutual else None,
            private_key=tls_material.client_key if mutual else None,
            sni="localhost",
        )
        envoy = envoys("edge-tls", server.bound_port, tls=client_tls)
        envoy.wait_live(10)
        server.wait_synced(10)
        assert get_until(mesh.listener_port, "/direct", (200, "hello")) == (200, "hello")

        csds_tls = ClientTls(tls_material.ca_cert, tls_material.client_cert if mutual else None,
                             tls_material.client_key if mutual else None, server_name="localhost")
        assert [c.node_id for c in fetch_status(server.address, csds_tls)] == ["edge-tls"]
        with pytest.raises(grpc.RpcError):
            fetch_status(server.address, timeout=2)  # plaintext against a TLS port
        if mutual:
            with pytest.raises(grpc.RpcError):
                fetch_status(server.address, ClientTls(tls_material.ca_cert, server_name="localhost"), timeout=2)

        # An Envoy that trusts another CA refuses the server's certificate and never connects.
        distrustful = envoys("edge-distrust", server.bound_port,
                             tls=XdsTls(ca_cert=tls_material.other_ca_cert, sni="localhost"))
        distrustful.wait_ready(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if distrustful.admin.stats().get("cluster.xds_cluster.ssl.fail_verify_error", 0) >= 1:
                break
            time.sleep(0.05)
        assert distrustful.admin.stats()["cluster.xds_cluster.ssl.fail_verify_error"] >= 1
        assert [c.node_id for c in server.status()] == ["edge-tls"]
    finally:
        server.stop()
