"""Envoy process control, bootstrap contents, validate mode and the admin client, with the real envoy binary."""

from __future__ import annotations

import os
import signal

import pytest
from envoy_data_plane.envoy.config.bootstrap.v3 import Bootstrap, BootstrapStaticResources
from envoy_data_plane.envoy.config.core.v3 import Address, ApiConfigSourceApiType, Node, SocketAddress
from envoy_data_plane.envoy.config.listener.v3 import Filter, FilterChain, Listener
from envoy_data_plane.envoy.config.route.v3 import (
    DirectResponseAction,
    Route,
    RouteConfiguration,
    RouteMatch,
    VirtualHost,
)
from envoy_data_plane.envoy.extensions.filters.http.router.v3 import Router
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3 import (
    HttpConnectionManager,
    HttpFilter,
)
from envoy_data_plane.envoy.extensions.transport_sockets.tls.v3 import UpstreamTlsContext
from envoy_data_plane.envoy.extensions.upstreams.http.v3 import HttpProtocolOptions
from envoy_data_plane.envoy.type.matcher.v3 import RegexMatcher
from envoy_data_plane.google.protobuf import Any

from meshctl.envoy.bootstrap import XDS_CLUSTER, XdsTls, make_bootstrap
from meshctl.envoy.ports import free_port, free_ports
from meshctl.envoy.process import EnvoyError, EnvoyFleet, EnvoyProcess, envoy_binary, validate_config

pytestmark = pytest.mark.envoy


@pytest.fixture
def processes():
    """Collects EnvoyProcess objects a test creates and stops them all, also on failure."""
    created: list[EnvoyProcess] = []
    yield created
    for process in created:
        process.stop()


def _static_bootstrap(regex: str) -> bytes:
    """A bootstrap with a static listener whose route uses `regex` (for validate mode)."""
    routes = RouteConfiguration(name="r", virtual_hosts=[VirtualHost(name="v", domains=["*"], routes=[
        Route(match=RouteMatch(safe_regex=RegexMatcher(regex=regex)), direct_response=DirectResponseAction(status=200)),
    ])])
    hcm = HttpConnectionManager(stat_prefix="s", route_config=routes,
                                http_filters=[HttpFilter(name="router", typed_config=Any.pack(Router()))])
    listener = Listener(name="l", address=Address(socket_address=SocketAddress(address="127.0.0.1", port_value=free_port())),
                        filter_chains=[FilterChain(filters=[Filter(name="hcm", typed_config=Any.pack(hcm))])])
    return bytes(Bootstrap(node=Node(id="v", cluster="c"), static_resources=BootstrapStaticResources(listeners=[listener])))


def test_bootstrap_carries_node_admin_ads_and_http2_xds_cluster():
    bootstrap = Bootstrap.parse(make_bootstrap("edge-1", "edge", ("eu", "eu-1", "a"), "127.0.0.1", 18000, 9901))
    assert (bootstrap.node.id, bootstrap.node.cluster) == ("edge-1", "edge")
    assert (bootstrap.node.locality.region, bootstrap.node.locality.zone, bootstrap.node.locality.sub_zone) == ("eu", "eu-1", "a")
    assert bootstrap.admin.address.socket_address.port_value == 9901
    ads = bootstrap.dynamic_resources.ads_config
    assert ads.api_type == ApiConfigSourceApiType.GRPC and ads.set_node_on_first_message_only
    assert ads.grpc_services[0].envoy_grpc.cluster_name == XDS_CLUSTER
    assert bootstrap.dynamic_resources.cds_config.ads is not None and bootstrap.dynamic_resources.lds_config.ads is not None
    [cluster] = bootstrap.static_resources.clusters
    endpoint = cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address
    assert (cluster.name, endpoint.address, endpoint.port_value) == (XDS_CLUSTER, "127.0.0.1", 18000)
    options = cluster.typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
    assert isinstance(options.unpack(), HttpProtocolOptions)
    assert options.unpack().explicit_http_config.http2_protocol_options is not None
    assert cluster.transport_socket is None


def test_bootstrap_delta_and_mutual_tls_options():
    tls = XdsTls(ca_cert=b"CA PEM", cert_chain=b"CERT PEM", private_key=b"KEY PEM", sni="xds.local")
    bootstrap = Bootstrap.parse(make_bootstrap("n", "c", None, "localhost", 18000, 9901, tls=tls, delta=True))
    assert bootstrap.dynamic_resources.ads_config.api_type == ApiConfigSourceApiType.DELTA_GRPC
    assert bootstrap.node.locality is None
    cluster = bootstrap.static_resources.clusters[0]
    context = cluster.transport_socket.typed_config.unpack()
    assert isinstance(context, UpstreamTlsContext) and context.sni == "xds.local"
    assert context.common_tls_context.alpn_protocols == ["h2"]
    assert context.common_tls_context.validation_context.trusted_ca.inline_bytes == b"CA PEM"
    assert context.common_tls_context.tls_certificates[0].certificate_chain.inline_bytes == b"CERT PEM"
    with pytest.raises(ValueError):
        make_bootstrap("n", "", None, "127.0.0.1", 1, 2)


def test_validate_mode_accepts_good_and_rejects_bad_config():
    assert validate_config(make_bootstrap("n", "c", None, "127.0.0.1", 18000, free_port())).ok
    good = validate_config(_static_bootstrap("^/a+$"))
    assert good.ok, good.output
    bad = validate_config(_static_bootstrap("(?<=a)b"))
    assert not bad.ok and "invalid perl operator" in bad.output


def test_envoy_starts_answers_admin_and_stops(processes):
    assert os.access(envoy_binary(), os.X_OK)
    envoy = EnvoyProcess("solo", xds_port=free_port(), locality=("r", "z", ""))
    processes.append(envoy)
    envoy.start().wait_ready(10)
    assert envoy.running and envoy.pid and envoy.returncode is None
    assert envoy.admin_url == f"http://127.0.0.1:{envoy.admin_port}"

    # No control plane is listening: admin answers but Envoy never becomes LIVE.
    status, state = envoy.admin.ready()
    assert status == 503 and state in ("PRE_INITIALIZING", "INITIALIZING")
    with pytest.raises(EnvoyError):
        envoy.wait_live(0.3)
    info = envoy.admin.server_info()
    assert info["node"]["id"] == "solo" and info["command_line_options"]["concurrency"] == 1
    assert envoy.admin.stats()["cluster.xds_cluster.upstream_cx_total"] >= 1
    assert any(c["name"] == XDS_CLUSTER for c in envoy.admin.clusters_json()["cluster_statuses"])
    dump = envoy.admin.config_dump()
    assert any(c.get("bootstrap", {}).get("node", {}).get("id") == "solo" for c in dump["configs"])
    assert envoy.admin.post("/healthcheck/fail").strip() == "OK"

    pid = envoy.pid
    assert envoy.stop() == 0
    assert not envoy.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert "caught ENVOY_SIGTERM" in envoy.stderr_tail()


def test_killed_envoy_reports_signal_and_restarts(processes):
    envoy = EnvoyProcess("crashy", xds_port=free_port())
    processes.append(envoy)
    envoy.start().wait_ready(10)
    first_pid = envoy.pid
    assert envoy.kill() == -signal.SIGKILL
    envoy.restart(10)
    assert envoy.running and envoy.pid != first_pid


def test_envoy_that_cannot_start_raises_with_its_log(processes):
    admin_port = free_port()
    bootstrap = Bootstrap.parse(make_bootstrap("lonely", "c", None, "127.0.0.1", free_port(), admin_port))
    bootstrap.node.cluster = ""  # xDS needs node id and cluster: Envoy exits at start-up
    envoy = EnvoyProcess("lonely", bootstrap=bytes(bootstrap), admin_port=admin_port)
    processes.append(envoy)
    with pytest.raises(EnvoyError, match="exited with 1"):
        envoy.start().wait_ready(10)
    assert "node" in envoy.stderr_tail().lower()


def test_fleet_runs_several_envoys_at_once():
    xds_port = free_port()
    fleet = EnvoyFleet(EnvoyProcess(f"fleet-{i}", xds_port) for i in range(3))
    with fleet:
        assert len({p.admin_port for p in fleet}) == 3
        assert all(p.running and p.admin.server_info()["node"]["id"] == f"fleet-{i}" for i, p in enumerate(fleet))
    assert not any(p.running for p in fleet)


def test_free_ports_are_distinct_and_bindable():
    import socket

    ports = free_ports(5)
    assert len(set(ports)) == 5
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
