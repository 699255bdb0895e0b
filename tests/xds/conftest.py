"""Fixtures for xDS tests: a real HTTP upstream, hand-built Envoy resources, an xDS server, Envoy processes, certs."""

from __future__ import annotations

import dataclasses
import datetime
import http.server
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from envoy_data_plane.envoy.config.cluster.v3 import Cluster, ClusterDiscoveryType, ClusterEdsClusterConfig
from envoy_data_plane.envoy.config.core.v3 import (
    Address,
    AggregatedConfigSource,
    ApiVersion,
    ConfigSource,
    DataSource,
    SocketAddress,
)
from envoy_data_plane.envoy.config.endpoint.v3 import ClusterLoadAssignment, Endpoint, LbEndpoint, LocalityLbEndpoints
from envoy_data_plane.envoy.config.listener.v3 import Filter, FilterChain, Listener
from envoy_data_plane.envoy.config.route.v3 import (
    DirectResponseAction,
    Route,
    RouteAction,
    RouteConfiguration,
    RouteMatch,
    VirtualHost,
)
from envoy_data_plane.envoy.extensions.filters.http.router.v3 import Router
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3 import (
    HttpConnectionManager,
    HttpFilter,
    Rds,
)
from envoy_data_plane.envoy.type.matcher.v3 import RegexMatcher

from meshctl.envoy.ports import free_port
from meshctl.envoy.process import EnvoyProcess
from meshctl.xds import codec
from meshctl.xds.cache import NodeInfo, XdsSnapshot
from meshctl.xds.runner import BackgroundXdsServer
from meshctl.xds.server import ServerTls

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ------------------------------------------------------------------------------------------ upstream


@dataclasses.dataclass
class Upstream:
    port: int
    hits: list[str]


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    """A real HTTP server on 127.0.0.1 answering 200 'upstream <path>'."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        disable_nagle_algorithm = True  # else ~40 ms per proxied request
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            hits.append(self.path)
            body = f"upstream {self.path}".encode()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="test-upstream", daemon=True)
    thread.start()
    try:
        yield Upstream(server.server_address[1], hits)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, str]:
    """(status, body) of GET http://127.0.0.1:port/path; error statuses are returned."""
    try:
        with _NO_PROXY.open(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _get_until(port: int, path: str, expected: tuple[int, str], timeout: float = 5.0) -> tuple[int, str]:
    """Poll until the answer is `expected` (listeners start asynchronously); returns the last answer."""
    deadline = time.monotonic() + timeout
    answer: tuple[int, str] = (0, "")
    while time.monotonic() < deadline:
        try:
            answer = _http_get(port, path)
        except OSError as error:
            answer = (0, str(error))
        if answer == expected:
            return answer
        time.sleep(0.02)
    return answer


@pytest.fixture
def http_get() -> Callable[..., tuple[int, str]]:
    """GET through a port on 127.0.0.1 (no proxy): (status, body)."""
    return _http_get


@pytest.fixture
def get_until() -> Callable[..., tuple[int, str]]:
    """Poll a GET until it returns the expected (status, body); returns the last answer."""
    return _get_until


# ------------------------------------------------------------------------------------------ resources


ADS = ConfigSource(ads=AggregatedConfigSource(), resource_api_version=ApiVersion.V3)


@dataclasses.dataclass
class MeshConfig:
    """What the test wants Envoy to serve; the server's builder turns it into a XdsSnapshot."""

    listener_port: int
    upstream_port: int
    direct_body: str = "hello"
    regex: str | None = None  # adds a safe_regex route (use a bad one to provoke a NACK)
    connect_timeout_ms: int = 1000
    route_count: int = 0  # extra prefix routes, for size tests


def build_snapshot(config: MeshConfig, version: str = "test") -> XdsSnapshot:
    """Listener (HCM + RDS) → RouteConfiguration (direct response, prefix route) → EDS cluster → endpoint."""
    hcm = HttpConnectionManager(
        stat_prefix="ingress",
        rds=Rds(config_source=ADS, route_config_name="local_routes"),
        http_filters=[HttpFilter(name="envoy.filters.http.router", typed_config=codec.to_any(Router()))],
    )
    listener = Listener(
        name="ingress",
        address=Address(socket_address=SocketAddress(address="127.0.0.1", port_value=config.listener_port)),
        filter_chains=[FilterChain(filters=[Filter(name="envoy.filters.network.http_connection_manager",
                                                   typed_config=codec.to_any(hcm))])],
    )
    routes = [
        Route(name="direct", match=RouteMatch(path="/direct"),
              direct_response=DirectResponseAction(status=200, body=DataSource(inline_string=config.direct_body))),
    ]
    if config.regex is not None:
        routes.append(Route(name="regex", match=RouteMatch(safe_regex=RegexMatcher(regex=config.regex)),
                            direct_response=DirectResponseAction(status=204)))
    routes += [Route(name=f"extra-{i}", match=RouteMatch(prefix=f"/extra/{i}/"), route=RouteAction(cluster="backend"))
               for i in range(config.route_count)]
    routes.append(Route(name="to-backend", match=RouteMatch(prefix="/"), route=RouteAction(cluster="backend")))
    route_config = RouteConfiguration(
        name="local_routes", virtual_hosts=[VirtualHost(name="all", domains=["*"], routes=routes)]
    )
    cluster = Cluster(
        name="backend",
        type=ClusterDiscoveryType.EDS,
        eds_cluster_config=ClusterEdsClusterConfig(eds_config=ADS),
        connect_timeout=datetime.timedelta(milliseconds=config.connect_timeout_ms),
    )
    endpoints = ClusterLoadAssignment(
        cluster_name="backend",
        endpoints=[LocalityLbEndpoints(lb_endpoints=[LbEndpoint(endpoint=Endpoint(address=Address(
            socket_address=SocketAddress(address="127.0.0.1", port_value=config.upstream_port))))])],
    )
    return XdsSnapshot.from_messages(version, [cluster], [endpoints], [listener], [route_config])


class MutableBuilder:
    """A snapshot builder whose config tests change between refreshes; counts its calls."""

    def __init__(self, config: MeshConfig):
        self.config = config
        self.calls = 0
        self.nodes: list[NodeInfo] = []

    def __call__(self, node: NodeInfo) -> XdsSnapshot:
        self.calls += 1
        self.nodes.append(node)
        return build_snapshot(self.config)


@pytest.fixture
def make_snapshot() -> Callable[..., XdsSnapshot]:
    """build_snapshot(MeshConfig, version) for tests that build snapshots themselves."""
    return build_snapshot


@pytest.fixture
def offline_mesh() -> MeshConfig:
    """A MeshConfig for tests that never send traffic (ports are placeholders)."""
    return MeshConfig(listener_port=10080, upstream_port=10081)


@pytest.fixture
def mesh(upstream: Upstream) -> MeshConfig:
    return MeshConfig(listener_port=free_port(), upstream_port=upstream.port)


@pytest.fixture
def builder(mesh: MeshConfig) -> MutableBuilder:
    return MutableBuilder(mesh)


@dataclasses.dataclass
class EventLog:
    events: list = dataclasses.field(default_factory=list)

    def __call__(self, event: object) -> None:
        self.events.append(event)

    def of(self, kind: str, type_url: str | None = None) -> list:
        return [e for e in list(self.events) if e.kind == kind and (type_url is None or e.type_url == type_url)]


@pytest.fixture
def xds(builder: MutableBuilder) -> Iterator[BackgroundXdsServer]:
    """A running xDS server (own thread) on a free port, serving `builder`."""
    server = BackgroundXdsServer(builder, "127.0.0.1:0").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def events(xds: BackgroundXdsServer) -> EventLog:
    log = EventLog()
    xds.add_listener(log)
    return log


@pytest.fixture
def envoys() -> Iterator[Callable[..., EnvoyProcess]]:
    """Factory for started Envoy processes; every one is stopped at teardown."""
    started: list[EnvoyProcess] = []

    def start(node_id: str, xds_port: int, **kwargs: object) -> EnvoyProcess:
        process = EnvoyProcess(node_id, xds_port, **kwargs)  # type: ignore[arg-type]
        started.append(process)
        return process.start()

    try:
        yield start
    finally:
        for process in started:
            process.send_term()
        for process in started:
            process.stop()


# ------------------------------------------------------------------------------------------ TLS


@dataclasses.dataclass(frozen=True)
class TlsMaterial:
    ca_cert: bytes
    server_cert: bytes
    server_key: bytes
    client_cert: bytes
    client_key: bytes
    other_ca_cert: bytes  # a CA that signed nothing we use

    def server_tls(self, mutual: bool) -> ServerTls:
        return ServerTls(self.server_cert, self.server_key, self.ca_cert if mutual else None)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def _make_ca(directory: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={name}", cwd=directory)


def _make_leaf(directory: Path, name: str, ca: str, extensions: str) -> None:
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=directory)
    (directory / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=directory)


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    """A test CA with a server certificate (localhost, 127.0.0.1) and a client certificate, via openssl."""
    directory = tmp_path_factory.mktemp("pki")
    _make_ca(directory, "meshctl-test-ca")
    _make_ca(directory, "other-ca")
    _make_leaf(directory, "server", "meshctl-test-ca",
               "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    _make_leaf(directory, "client", "meshctl-test-ca", "extendedKeyUsage=clientAuth\n")
    read = lambda name: (directory / name).read_bytes()  # noqa: E731
    return TlsMaterial(read("meshctl-test-ca.crt"), read("server.crt"), read("server.key"),
                       read("client.crt"), read("client.key"), read("other-ca.crt"))
