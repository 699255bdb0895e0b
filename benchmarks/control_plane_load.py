"""Control plane under load: 1,000 simulated ADS clients over 2 replicas (`meshctl xds serve` processes) get one
change; time until all ACK (target <= 2 s) and each replica's RSS. Then 1,000 connect/disconnect cycles against
one replica: streams, connected clients and RSS before/after.

Run: .venv/bin/python benchmarks/control_plane_load.py [--clients 1000] [--cycles 1000]
Baseline (same run): the same change with one client per replica. Everything on 127.0.0.1, free ports, every
process stopped at the end, every wait bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import grpc
from envoy_data_plane.envoy.config.core.v3 import Locality, Node
from envoy_data_plane.envoy.service.discovery.v3 import DiscoveryRequest, DiscoveryResponse

from meshctl.envoy.ports import free_ports
from meshctl.model.snapshot import demo_files, load_snapshot
from meshctl.xds import codec
from meshctl.xds.cache import NodeInfo
from meshctl.xds.server import SOTW_METHOD
from meshctl.xds.translate import TranslateOptions, Translator

REPO = Path(__file__).resolve().parents[1]
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
TARGET_SECONDS = 2.0
ZONES = ("us-east-1a", "us-east-1b", "us-west-2a", "us-west-2b")  # 4 node groups, as a fleet has


def line(label: str, value: str) -> None:
    print(f"  {label:<58} {value}", flush=True)


def rss_mb(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return float("nan")


class Replica:
    """One `meshctl xds serve DIR --watch` process with an admin endpoint."""

    def __init__(self, config_dir: Path, name: str, xds_port: int, admin_port: int) -> None:
        self.name = name
        self.address = f"127.0.0.1:{xds_port}"
        self.admin = f"http://127.0.0.1:{admin_port}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "meshctl.cli.main", "xds", "serve", str(config_dir), "--watch", "--poll-interval",
             "0.05", "--listen", self.address, "--admin-listen", f"127.0.0.1:{admin_port}", "--replica-id", name,
             "--quiet-pushes"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with _NO_PROXY.open(f"{self.admin}/readyz", timeout=2) as response:
                    if json.loads(response.read()).get("ready"):
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.proc.stderr.read().decode()[-2000:]}")  # type: ignore
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready")

    def metric(self, prefix: str) -> float:
        with _NO_PROXY.open(f"{self.admin}/metrics", timeout=10) as response:
            body = response.read().decode()
        return sum(float(row.rsplit(" ", 1)[1]) for row in body.splitlines() if row.startswith(prefix))

    @property
    def rss(self) -> float:
        return rss_mb(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Clients:
    """Simulated Envoys: subscribe like Envoy (CDS, EDS names, LDS, RDS names) and ACK every response."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.acked: dict[str, dict[str, tuple[str, float]]] = {}  # node → type → (version, when ACKed)
        self.tasks: list[asyncio.Task[None]] = []
        self.channels: list[grpc.aio.Channel] = []
        self.channels_by_address: dict[str, list[grpc.aio.Channel]] = {}
        self.streams_on: dict[int, int] = {}

    async def connect(self, addresses: list[str], count: int, prefix: str) -> None:
        per_channel = 25  # streams share HTTP/2 connections, as many Envoys behind one NAT would not; bounded fds
        for index in range(count):
            address = addresses[index % len(addresses)]
            pool = self.channels_by_address.setdefault(address, [])
            if not pool or self.streams_on[id(pool[-1])] >= per_channel:
                channel = grpc.aio.insecure_channel(address)
                pool.append(channel)
                self.channels.append(channel)
                self.streams_on[id(channel)] = 0
            channel = pool[-1]
            self.streams_on[id(channel)] += 1
            self.tasks.append(asyncio.create_task(self._one(channel, f"{prefix}-{index}", ZONES[index % len(ZONES)])))

    async def _one(self, channel: grpc.aio.Channel, node_id: str, zone: str) -> None:
        call = channel.stream_stream(SOTW_METHOD, request_serializer=codec.encode,
                                     response_deserializer=codec.identity_bytes)()
        node = Node(id=node_id, cluster="gateway", locality=Locality(region=zone[:-1], zone=zone))
        state = self.acked.setdefault(node_id, {})
        await call.write(DiscoveryRequest(node=node, type_url=codec.CLUSTER_TYPE))
        for type_url in (codec.ENDPOINT_TYPE, codec.LISTENER_TYPE, codec.ROUTE_TYPE):
            await call.write(DiscoveryRequest(type_url=type_url, resource_names=self.names.get(type_url, [])))
        async for raw in call:
            response = DiscoveryResponse.parse(raw)
            await call.write(DiscoveryRequest(type_url=response.type_url, version_info=response.version_info,
                                              response_nonce=response.nonce,
                                              resource_names=self.names.get(response.type_url, [])))
            state[response.type_url] = (response.version_info, time.monotonic())

    async def wait(self, predicate, timeout: float) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("clients did not get there in time")
            await asyncio.sleep(0.005)

    def synced(self, count: int) -> bool:
        return sum(1 for s in self.acked.values() if len(s) == 4) >= count

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for channel in self.channels:
            await channel.close()


def change(config_dir: Path, body: str) -> float:
    """Rewrite the v1 version body (an RDS change); returns when it was written."""
    path = config_dir / "gateway.yaml"
    text = path.read_text()
    start = text.index("body: \"'v1") + len("body: ")
    end = text.index("\n", start)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text[:start] + f"\"'{body}'\"" + text[end:])
    written = time.monotonic()
    os.replace(tmp, path)
    return written


async def time_change(clients: Clients, config_dir: Path, body: str, nodes: list[str]) -> float:
    """Seconds from the file write until every given node ACKed a new RDS version."""
    before = {n: clients.acked[n][codec.ROUTE_TYPE][0] for n in nodes}
    written = change(config_dir, body)

    def all_acked() -> bool:
        return all(clients.acked[n][codec.ROUTE_TYPE][0] != before[n] for n in nodes)

    await clients.wait(all_acked, 60)
    return max(clients.acked[n][codec.ROUTE_TYPE][1] for n in nodes) - written


async def load_run(count: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="meshctl-cp-bench-"))
    replicas: list[Replica] = []
    try:
        config_dir = work / "config"
        config_dir.mkdir()
        for f in demo_files():
            shutil.copy(f, config_dir / f.name)
        translator = Translator(load_snapshot([str(config_dir)]), TranslateOptions())
        resources = translator.node_resources(NodeInfo("probe", "gateway", ("us-east-1", "us-east-1a", ""))).by_type()
        names = {codec.ENDPOINT_TYPE: sorted(resources[codec.ENDPOINT_TYPE]),
                 codec.ROUTE_TYPE: sorted(resources[codec.ROUTE_TYPE])}
        ports = free_ports(4)
        replicas = [Replica(config_dir, "replica-a", ports[0], ports[1]),
                    Replica(config_dir, "replica-b", ports[2], ports[3])]
        for replica in replicas:
            replica.ready()
        addresses = [r.address for r in replicas]
        rss_idle = [r.rss for r in replicas]
        clients = Clients(names)
        try:
            # baseline: one client per replica
            await clients.connect(addresses, 2, "base")
            await clients.wait(lambda: clients.synced(2), 60)
            baseline = await time_change(clients, config_dir, "v1 baseline", ["base-0", "base-1"])

            started = time.monotonic()
            await clients.connect(addresses, count, "sim")
            await clients.wait(lambda: clients.synced(count + 2), 120)
            initial = time.monotonic() - started
            rss_loaded = [r.rss for r in replicas]
            nodes = [f"sim-{i}" for i in range(count)]
            timings = [await time_change(clients, config_dir, f"v1 change {i}", nodes) for i in range(3)]
            rss_after = [r.rss for r in replicas]
            connected = [r.metric("meshctl_xds_connected_clients") for r in replicas]
            nacks = [r.metric("meshctl_xds_nacks_total") for r in replicas]
        finally:
            await clients.close()
        print(f"{count} simulated ADS clients over 2 replicas (4 localities, SotW, CDS/EDS/LDS/RDS)")
        line("initial sync of all clients", f"{initial:7.2f} s")
        line("baseline: one change, 1 client per replica, until both ACK", f"{baseline * 1000:7.1f} ms")
        line(f"one change until all {count} ACK (3 runs)",
             " / ".join(f"{t * 1000:.0f}" for t in timings) + f" ms   (target <= {TARGET_SECONDS * 1000:.0f} ms: "
             f"{'met' if max(timings) <= TARGET_SECONDS else 'NOT met'})")
        line("ratio to the baseline (median)", f"{sorted(timings)[1] / baseline:7.1f} x")
        line("clients per replica (metrics)", " / ".join(f"{c:.0f}" for c in connected))
        line("NACKs (metrics)", " / ".join(f"{n:.0f}" for n in nacks))
        for replica, idle, loaded, after in zip(replicas, rss_idle, rss_loaded, rss_after, strict=True):
            line(f"{replica.name} RSS idle / {count // 2} clients / after changes",
                 f"{idle:6.1f} / {loaded:6.1f} / {after:6.1f} MB")
    finally:
        for replica in replicas:
            replica.stop()
        shutil.rmtree(work, ignore_errors=True)


async def cycles_run(cycles: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="meshctl-cp-cycles-"))
    replica = None
    try:
        for f in demo_files():
            shutil.copy(f, work / f.name)
        ports = free_ports(2)
        replica = Replica(work, "replica-c", ports[0], ports[1])
        replica.ready()

        async def run(start: int, count: int) -> None:
            async with grpc.aio.insecure_channel(replica.address) as channel:  # type: ignore[union-attr]
                for index in range(start, start + count):
                    call = channel.stream_stream(SOTW_METHOD, request_serializer=codec.encode,
                                                 response_deserializer=codec.identity_bytes)()
                    zone = ZONES[index % len(ZONES)]
                    node = Node(id=f"cycle-{index}", cluster="gateway", locality=Locality(region=zone[:-1], zone=zone))
                    await call.write(DiscoveryRequest(node=node, type_url=codec.CLUSTER_TYPE))
                    await asyncio.wait_for(call.read(), 10)
                    call.cancel()

        await run(0, 100)  # warm-up: first builds, grpc's lazy state
        time.sleep(0.5)
        before = replica.rss
        started = time.monotonic()
        await run(100, cycles)
        elapsed = time.monotonic() - started
        deadline = time.monotonic() + 10
        while replica.metric("meshctl_xds_connected_clients") and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        after = replica.rss
        print(f"{cycles} ADS connect/disconnect cycles against one replica")
        line("cycles per second", f"{cycles / elapsed:7.0f}")
        line("clients still connected afterwards (metrics)", f"{replica.metric('meshctl_xds_connected_clients'):7.0f}")
        line("replica RSS before / after", f"{before:6.1f} / {after:6.1f} MB ({after - before:+.1f} MB)")
    finally:
        if replica is not None:
            replica.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=1000)
    args = parser.parse_args()
    if not 1 <= args.clients <= 5000 or not 1 <= args.cycles <= 20000:
        parser.error("--clients 1..5000, --cycles 1..20000 (the run must stay bounded)")
    print(f"control-plane load benchmark (python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.2f})")
    asyncio.run(both(args.clients, args.cycles))  # one loop: grpc.aio binds its poller to the first loop


async def both(clients: int, cycles: int) -> None:
    await load_run(clients)
    await cycles_run(cycles)


if __name__ == "__main__":
    main()
