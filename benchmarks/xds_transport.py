"""xDS transport figures: change→served latency, 10,000-route packing and ACK, 200 simulated clients + 3 real Envoys.

Run: .venv/bin/python benchmarks/xds_transport.py [--quick]
Everything runs on 127.0.0.1 with free ports; every process started here is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

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
from envoy_data_plane.google.protobuf import Any

from meshctl.envoy.ports import free_port
from meshctl.envoy.process import EnvoyFleet, EnvoyProcess
from meshctl.xds import codec
from meshctl.xds.cache import NodeInfo, XdsSnapshot
from meshctl.xds.runner import BackgroundXdsServer

ADS = ConfigSource(ads=AggregatedConfigSource(), resource_api_version=ApiVersion.V3)
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# ---------------------------------------------------------------------------------------- resources


def route_config(body: str, extra_routes: int) -> RouteConfiguration:
    routes = [Route(name="direct", match=RouteMatch(path="/direct"),
                    direct_response=DirectResponseAction(status=200, body=DataSource(inline_string=body)))]
    routes += [Route(name=f"r{i}", match=RouteMatch(prefix=f"/svc/{i}/"), route=RouteAction(cluster="backend",
                     timeout=datetime.timedelta(seconds=5))) for i in range(extra_routes)]
    routes.append(Route(name="last", match=RouteMatch(path="/last"),
                        direct_response=DirectResponseAction(status=200, body=DataSource(inline_string=f"last-{body}"))))
    return RouteConfiguration(name="routes", virtual_hosts=[VirtualHost(name="all", domains=["*"], routes=routes)])


class Mesh:
    """Builder state: one listener per Envoy port set, a route config, one EDS cluster."""

    def __init__(self, listener_port: int, extra_routes: int = 20):
        self.listener_port = listener_port
        self.body = "v0"
        self.extra_routes = extra_routes
        hcm = HttpConnectionManager(stat_prefix="in", rds=Rds(config_source=ADS, route_config_name="routes"),
                                    http_filters=[HttpFilter(name="router", typed_config=codec.to_any(Router()))])
        self.hcm_any = codec.to_any(hcm)
        self.cluster = Cluster(name="backend", type=ClusterDiscoveryType.EDS,
                               eds_cluster_config=ClusterEdsClusterConfig(eds_config=ADS),
                               connect_timeout=datetime.timedelta(seconds=1))
        self.endpoints = ClusterLoadAssignment(cluster_name="backend", endpoints=[LocalityLbEndpoints(lb_endpoints=[
            LbEndpoint(endpoint=Endpoint(address=Address(socket_address=SocketAddress(address="127.0.0.1",
                                                                                       port_value=9))))])])
        self._routes: tuple[tuple[str, int], RouteConfiguration] | None = None
        self.ports_by_cluster: dict[str, int] = {}  # node cluster → its listener port

    def routes(self) -> RouteConfiguration:
        key = (self.body, self.extra_routes)
        if self._routes is None or self._routes[0] != key:  # reuse the object: the packer keys on it
            self._routes = (key, route_config(self.body, self.extra_routes))
        return self._routes[1]

    def listener(self, port: int) -> Listener:
        return Listener(name="in", address=Address(socket_address=SocketAddress(address="127.0.0.1", port_value=port)),
                        filter_chains=[FilterChain(filters=[Filter(name="hcm", typed_config=self.hcm_any)])])

    def __call__(self, node: NodeInfo) -> XdsSnapshot:
        port = self.ports_by_cluster.get(node.cluster, self.listener_port)
        return XdsSnapshot.from_messages(self.body, [self.cluster], [self.endpoints], [self.listener(port)], [self.routes()])


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with _NO_PROXY.open(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""
    except OSError:
        return 0, ""


def wait_body(port: int, path: str, body: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if get(port, path) == (200, body):
            return True
        time.sleep(0.0005)
    return False


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def line(label: str, value: str) -> None:
    print(f"  {label:<52} {value}")


# ---------------------------------------------------------------------------------------- figures


def bench_codec(quick: bool) -> None:
    print("codec: serialization without pydantic re-validation")
    rc = route_config("x", 1000)
    started = time.perf_counter()
    slow = bytes(rc)
    slow_s = time.perf_counter() - started
    started = time.perf_counter()
    fast = codec.encode(rc)
    fast_s = time.perf_counter() - started
    assert slow == fast
    line("1,000-route RouteConfiguration bytes()", f"{slow_s * 1000:8.1f} ms")
    line("1,000-route RouteConfiguration codec.encode()", f"{fast_s * 1000:8.1f} ms  ({slow_s / fast_s:.0f}x)")
    count = 500 if quick else 2000
    clusters = [Cluster(name=f"c{i}", connect_timeout=datetime.timedelta(seconds=1)) for i in range(count)]
    started = time.perf_counter()
    for cluster in clusters:
        Any.pack(cluster)
    pack_s = time.perf_counter() - started
    started = time.perf_counter()
    for cluster in clusters:
        codec.to_any(cluster)
    to_any_s = time.perf_counter() - started
    line(f"{count} x Any.pack(Cluster)", f"{pack_s * 1000:8.1f} ms")
    line(f"{count} x codec.to_any(Cluster)", f"{to_any_s * 1000:8.1f} ms  ({pack_s / to_any_s:.0f}x)")


def bench_change_to_served(changes: int) -> None:
    print(f"change -> served through one real Envoy ({changes} changes, 24-route config)")
    mesh = Mesh(free_port())
    with BackgroundXdsServer(mesh) as xds, EnvoyProcess("bench-1", xds.bound_port) as envoy:
        envoy.wait_live(10)
        xds.wait_synced(10)
        assert wait_body(mesh.listener_port, "/direct", "v0")
        served: list[float] = []
        acked: list[float] = []
        for index in range(1, changes + 1):
            mesh.body = f"v{index}"
            started = time.perf_counter()
            xds.refresh()
            ok = wait_body(mesh.listener_port, "/direct", mesh.body)
            served.append((time.perf_counter() - started) * 1000)
            xds.wait_synced(10)
            acked.append((time.perf_counter() - started) * 1000)
            assert ok, f"change {index} not served"
        line("refresh() -> new body served   p50 / p99", f"{statistics.median(served):6.2f} / {pct(served, 0.99):6.2f} ms")
        line("refresh() -> RDS ACK seen      p50 / p99", f"{statistics.median(acked):6.2f} / {pct(acked, 0.99):6.2f} ms")


def bench_big_route_config(routes: int) -> None:
    print(f"{routes:,}-route RouteConfiguration")
    started = time.perf_counter()
    rc = route_config("big", routes)
    line("build through constructors", f"{(time.perf_counter() - started) * 1000:8.1f} ms")
    started = time.perf_counter()
    payload = codec.encode(rc)
    line(f"codec.encode ({len(payload) / 1024:.0f} KiB)", f"{(time.perf_counter() - started) * 1000:8.1f} ms")
    mesh = Mesh(free_port(), extra_routes=routes)
    with BackgroundXdsServer(mesh) as xds, EnvoyProcess("bench-big", xds.bound_port) as envoy:
        envoy.wait_live(30)
        xds.wait_synced(30)
        assert wait_body(mesh.listener_port, "/last", "last-v0", 10)
        mesh.body = "v1"
        started = time.perf_counter()
        mesh.routes()
        built = time.perf_counter()
        xds.refresh().result(60)
        packed = time.perf_counter()
        xds.wait_synced(60)
        acked = time.perf_counter()
        assert wait_body(mesh.listener_port, "/last", "last-v1", 10)
        served = time.perf_counter()
        latency = [c.per_type[codec.ROUTE_TYPE].last_push_latency_ms for c in xds.status()][0]
        line("change: rebuild routes (constructors)", f"{(built - started) * 1000:8.1f} ms")
        line("change: refresh (pack + hash + push)", f"{(packed - built) * 1000:8.1f} ms")
        line("change: push -> Envoy ACK (server-measured)", f"{latency:8.1f} ms")
        line("change: refresh() -> all ACKed", f"{(acked - built) * 1000:8.1f} ms")
        line("change: refresh() -> last route served", f"{(served - built) * 1000:8.1f} ms")


async def _simulated_clients(address: str, count: int, lifetime: float) -> None:
    """`count` ADS clients that subscribe like Envoy and ACK every response."""
    import grpc
    from envoy_data_plane.envoy.config.core.v3 import Locality, Node
    from envoy_data_plane.envoy.service.discovery.v3 import DiscoveryRequest, DiscoveryResponse

    from meshctl.xds.server import SOTW_METHOD

    names = {codec.ENDPOINT_TYPE: ["backend"], codec.ROUTE_TYPE: ["routes"]}

    async def one(channel: grpc.aio.Channel, index: int) -> None:
        call = channel.stream_stream(SOTW_METHOD, request_serializer=codec.encode,
                                     response_deserializer=codec.identity_bytes)()
        node = Node(id=f"sim-{index}", cluster="sim", locality=Locality(region="r", zone="z"))
        await call.write(DiscoveryRequest(node=node, type_url=codec.CLUSTER_TYPE))
        for type_url in (codec.ENDPOINT_TYPE, codec.LISTENER_TYPE, codec.ROUTE_TYPE):
            await call.write(DiscoveryRequest(type_url=type_url, resource_names=names.get(type_url, [])))
        async for raw in call:
            response = DiscoveryResponse.parse(raw)
            await call.write(DiscoveryRequest(type_url=response.type_url, version_info=response.version_info,
                                              response_nonce=response.nonce,
                                              resource_names=names.get(response.type_url, [])))

    channels = [grpc.aio.insecure_channel(address) for _ in range(max(1, count // 25))]
    tasks = [asyncio.create_task(one(channels[i % len(channels)], i)) for i in range(count)]
    try:
        await asyncio.wait(tasks, timeout=lifetime)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in channels:
            await channel.close()


def bench_many_clients(simulated: int, envoys: int, changes: int) -> None:
    print(f"{simulated} simulated ADS clients (separate process) + {envoys} real Envoys, {changes} changes")
    mesh = Mesh(free_port())
    ports = [free_port() for _ in range(envoys)]
    # Each real Envoy is its own node cluster (own group, own listener port); the simulated ones share one.
    mesh.ports_by_cluster = {f"edge-{i}": port for i, port in enumerate(ports)}

    with BackgroundXdsServer(mesh) as xds:
        fleet = EnvoyFleet(EnvoyProcess(f"edge-{i}", xds.bound_port, node_cluster=f"edge-{i}") for i in range(envoys))
        clients = subprocess.Popen(
            [sys.executable, __file__, "--simulate", xds.address, str(simulated)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            started = time.perf_counter()
            with fleet:
                for process in fleet:
                    process.wait_live(30)
                xds.wait_synced(60, count=simulated + envoys)
                line(f"initial sync of {simulated + envoys} clients", f"{(time.perf_counter() - started) * 1000:8.1f} ms")
                all_acked: list[float] = []
                served: list[float] = []
                for index in range(1, changes + 1):
                    mesh.body = f"v{index}"
                    began = time.perf_counter()
                    xds.refresh()
                    for port in ports:
                        assert wait_body(port, "/direct", mesh.body, 10)
                    served.append((time.perf_counter() - began) * 1000)
                    xds.wait_synced(60, count=simulated + envoys)
                    all_acked.append((time.perf_counter() - began) * 1000)
                statuses = xds.status()
                assert len(statuses) == simulated + envoys
                line("refresh() -> served by all real Envoys  p50 / max",
                     f"{statistics.median(served):6.1f} / {max(served):6.1f} ms")
                line(f"refresh() -> ACKed by all {simulated + envoys} clients  p50 / max",
                     f"{statistics.median(all_acked):6.1f} / {max(all_acked):6.1f} ms")
        finally:
            clients.terminate()
            try:
                clients.wait(10)
            except subprocess.TimeoutExpired:
                clients.kill()
                clients.wait(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a fast run")
    parser.add_argument("--simulate", nargs=2, metavar=("ADDRESS", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.simulate:
        asyncio.run(_simulated_clients(args.simulate[0], int(args.simulate[1]), lifetime=300))
        return
    print(f"xDS transport benchmark (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    bench_codec(args.quick)
    bench_change_to_served(20 if args.quick else 50)
    bench_big_route_config(2000 if args.quick else 10_000)
    bench_many_clients(50 if args.quick else 200, 3, 3 if args.quick else 5)


if __name__ == "__main__":
    main()
