"""End-to-end xDS figures, from a YAML edit to Envoy: change→served latency, a 10,000-route configuration, and
200 simulated ADS clients + 3 real Envoys acknowledging one change.

Run: .venv/bin/python benchmarks/xds_e2e.py [--quick] [--only latency|big|fanout]
Targets: change→served p50 <= 20 ms, p99 <= 100 ms over 50 changes; 10,000 routes ACKed <= 1 s; 203 clients
ACK one change <= 1 s. Everything runs on 127.0.0.1 with free ports; every process started here is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "xds"))

import yaml  # noqa: E402
from fixtures_e2e import HttpClient, apply_edit  # noqa: E402

from meshctl.envoy.bootstrap import make_bootstrap  # noqa: E402
from meshctl.envoy.ports import free_port  # noqa: E402
from meshctl.envoy.process import EnvoyProcess  # noqa: E402
from meshctl.mesh.index import MeshIndex  # noqa: E402
from meshctl.model.snapshot import load_snapshot  # noqa: E402
from meshctl.routing.view import build_routing_view  # noqa: E402
from meshctl.sources.base import Source  # noqa: E402
from meshctl.sources.files import FileSource  # noqa: E402
from meshctl.sources.workspace import Workspace  # noqa: E402
from meshctl.xds import codec  # noqa: E402
from meshctl.xds.cache import NodeInfo, prepare  # noqa: E402
from meshctl.xds.service import XdsService  # noqa: E402
from meshctl.xds.translate import TranslateOptions, Translator  # noqa: E402

GUIDE_STEP = REPO / "docs" / "examples" / "004-advanced-routing" / "07-route-specificity"
API = "networking.enterprise.mesh.gloo.solo.io/v1beta1"


def line(label: str, value: str) -> None:
    print(f"  {label:<58} {value}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> str:
    return (f"p50 {statistics.median(values):6.1f}  p90 {pct(values, 90):6.1f}  p99 {pct(values, 99):6.1f}  "
            f"max {max(values):6.1f} ms")


def bench_vhost(body: str) -> str:
    return yaml.safe_dump({"apiVersion": API, "kind": "VirtualHost", "metadata": {"name": "bench", "namespace": "gloo-mesh"},
                           "spec": {"domains": ["bench.test"], "routes": [
                               {"name": "bench", "matchers": [{"uri": {"prefix": "/bench"}}],
                                "directResponseAction": {"status": 200, "body": body}}]}})


class Recorder:
    """Timestamps of server events (push and ACK of route configurations) and workspace rebuilds."""

    def __init__(self) -> None:
        self.rebuilt: list[float] = []
        self.pushed: list[float] = []
        self.acked: list[float] = []

    def event(self, e: Any) -> None:
        if e.type_url == codec.ROUTE_TYPE:
            if e.kind == "push":
                self.pushed.append(time.perf_counter())
            elif e.kind == "ack":
                self.acked.append(time.perf_counter())

    def first_after(self, values: list[float], t: float) -> float | None:
        return next((v for v in values if v >= t), None)

    def push_and_ack(self, after: float, timeout: float) -> tuple[float, float] | None:
        """The first route-configuration push at or after `after` and Envoy's ACK of it, waiting up to `timeout`
        seconds for them to be recorded (Envoy may serve the new routes before the server reads its ACK)."""
        deadline = time.perf_counter() + timeout
        while True:
            pushed = self.first_after(self.pushed, after)
            acked = self.first_after(self.acked, pushed) if pushed is not None else None
            if pushed is not None and acked is not None:
                return pushed, acked
            if time.perf_counter() >= deadline:
                return None
            time.sleep(0.001)


class EditTimes:
    """ms from each edit to: the new snapshot, Envoy's ACK of the route configuration, Envoy's own push -> ACK, and
    the new answer served (the edit benchmarks' columns)."""

    def __init__(self) -> None:
        self.snapshot: list[float] = []
        self.ack: list[float] = []
        self.own: list[float] = []
        self.served: list[float] = []

    def record(self, rec: Recorder, began: float, finished: float, timed: tuple[float, float] | None) -> None:
        """One edit begun at `began` and served at `finished`; `timed`: its push and ACK, if recorded."""
        loaded = rec.first_after(rec.rebuilt, began) or finished
        self.snapshot.append((loaded - began) * 1000)
        self.served.append((finished - began) * 1000)
        if timed is not None:
            self.ack.append((timed[1] - began) * 1000)
            self.own.append((timed[1] - timed[0]) * 1000)

    @staticmethod
    def median(values: list[float], width: int) -> str:
        return f"{statistics.median(values):{width}.1f}" if values else "-".rjust(width)


@dataclasses.dataclass
class Pipeline:
    """A directory served to one real Envoy (see `pipeline`)."""

    source: Source
    workspace: Workspace
    service: XdsService
    recorder: Recorder  # push, ACK and workspace-rebuild times
    envoy: EnvoyProcess
    port: int  # the Envoy's listener for `listener`


@contextmanager
def pipeline(work: Path, listener: str, *, node_id: str, coalesce: float, poll: float = 0.25,
             live_timeout: float = 15.0, source: Source | None = None, scoped_routes: int | None = None,
             **envoy_options: Any) -> Iterator[Pipeline]:
    """The YAML in `work` served as `meshctl xds serve` does: a file source (polling every `poll` s once started)
    and a workspace coalescing for `coalesce` s, an XdsService whose events a Recorder times, and one real gateway
    Envoy whose `listener` (VirtualGateway ns/name) is on a free port. Everything is stopped afterwards, on failure
    too, and `work` is removed. `source`: serve this source instead of the directory (its caller stops it).
    `scoped_routes`: TranslateOptions.scoped_routes (scoped RDS for route configurations of that many routes)."""
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        port = free_port()
        if source is None:
            source = FileSource([work], interval=poll)
        workspace = Workspace([source], coalesce_seconds=coalesce).load()
        stack.callback(workspace.stop)
        recorder = Recorder()
        workspace.subscribe(lambda _: recorder.rebuilt.append(time.perf_counter()))  # first: as the snapshot lands
        service = XdsService(workspace, TranslateOptions(listener_ports={listener: port}, scoped_routes=scoped_routes),
                             listen="127.0.0.1:0").start()
        stack.callback(service.stop)
        service.add_listener(recorder.event)
        envoy = EnvoyProcess(node_id, service.bound_port, node_cluster="gateway", **envoy_options)
        stack.callback(envoy.stop)  # also when it fails to come up: the process may be running
        envoy.start().wait_live(live_timeout)
        yield Pipeline(source, workspace, service, recorder, envoy, port)


# ---------------------------------------------------------------------------------------- change → served


def bench_change_to_served(changes: int, poll: float) -> None:
    print(f"change -> served: {changes} edits of a YAML file, one Envoy, 004 guide step 07 + one bench route")
    work = Path(tempfile.mkdtemp(prefix="meshctl-bench-"))
    for f in GUIDE_STEP.glob("*.yaml"):
        shutil.copy(f, work / f.name)
    (work / "bench.yaml").write_text(bench_vhost("v0"))
    with pipeline(work, "gloo-mesh/demo-gateway", node_id="bench-1", coalesce=0.001, poll=poll) as served_by:
        workspace, source, rec, port = served_by.workspace, served_by.source, served_by.recorder, served_by.port
        client = HttpClient(port)
        client.until("/bench", lambda a: a == (200, "v0"), host="bench.test", timeout=10)
        for mode in ("watcher", "direct"):
            if mode == "watcher":
                workspace.start()
            else:
                workspace.stop()
            served, to_rebuilt, to_ack = [], [], []
            for i in range(1, changes + 1):
                body = f"{mode}-{i}"
                time.sleep(0.02)  # let the previous change settle (and the watcher's mtime tick)
                began = time.perf_counter()
                (work / "bench.yaml").write_text(bench_vhost(body))
                if mode == "direct":  # an editor that saves and tells the workspace (TUI / apply)
                    apply_edit(workspace, source)
                deadline = began + 10
                while time.perf_counter() < deadline:
                    if client.get("/bench", host="bench.test") == (200, body):
                        break
                else:
                    raise RuntimeError(f"change {i} not served within 10 s")
                done = time.perf_counter()
                served.append((done - began) * 1000)
                rebuilt = rec.first_after(rec.rebuilt, began)
                acked = rec.first_after(rec.acked, began)
                if rebuilt:
                    to_rebuilt.append((rebuilt - began) * 1000)
                if acked:
                    to_ack.append((acked - began) * 1000)
            label = f"poll every {poll * 1000:.0f} ms" if mode == "watcher" else "save + notify, no polling"
            print(f"  [{mode}: {label}]")
            line("edit -> workspace rebuilt (new snapshot)", summary(to_rebuilt))
            line("edit -> Envoy ACKed the route configuration", summary(to_ack))
            line("edit -> new answer served through Envoy", summary(served))
        client.close()


# ---------------------------------------------------------------------------------------- 10,000 routes


def big_config(routes: int, tag: str) -> str:
    """A VirtualHost delegating 100 prefixes to RouteTables of routes/100 routes each (direct responses and
    routes to three services), plus discovery."""
    tables = max(1, routes // 100)
    per_table = routes // tables
    docs: list[dict[str, Any]] = [
        {"apiVersion": API, "kind": "VirtualGateway", "metadata": {"name": "big", "namespace": "big"},
         "spec": {"connectionHandlers": [{"http": {"routeConfig": [{"virtualHostSelector": {"namespaces": ["big"]}}]}}]}},
        {"apiVersion": API, "kind": "VirtualHost", "metadata": {"name": "big", "namespace": "big"},
         "spec": {"domains": ["*"], "routes": [
             {"name": f"team{t}", "matchers": [{"uri": {"prefix": f"/team{t}"}}],
              "delegateAction": {"refs": [{"name": f"team{t}", "namespace": "big"}]}} for t in range(tables)]}},
    ]
    for t in range(tables):
        table_routes = []
        for r in range(per_table):
            route: dict[str, Any] = {"name": f"r{r}", "matchers": [{"uri": {"prefix": f"/svc{r}/"}}]}
            if r % 2:
                route["directResponseAction"] = {"status": 200, "body": f"{tag} t{t} r{r}"}
            else:
                route["routeAction"] = {"destinations": [{"kubeService": {"name": f"app{r % 3}", "namespace": "big"}}]}
                route["options"] = {"requestTimeout": "5s", "retries": {"attempts": 2}}
            table_routes.append(route)
        docs.append({"apiVersion": API, "kind": "RouteTable", "metadata": {"name": f"team{t}", "namespace": "big"},
                     "spec": {"routes": table_routes}})
    docs.append({"apiVersion": "meshctl.io/v1alpha1", "kind": "Cluster", "metadata": {"name": "c1"},
                 "spec": {"locality": {"region": "r1", "zone": "z1"}, "services": [
                     {"name": f"app{i}", "namespace": "big", "ports": [{"name": "http", "port": 80}],
                      "endpoints": [{"address": "127.0.0.1", "port": 9}]} for i in range(3)]}})
    return yaml.safe_dump_all(docs, sort_keys=False)


def bench_big(routes: int) -> None:
    print(f"{routes:,}-route configuration (100 RouteTables under one VirtualHost), one Envoy")
    work = Path(tempfile.mkdtemp(prefix="meshctl-bench-big-"))
    config = work / "big.yaml"
    config.write_text(big_config(200, "warm"))
    with pipeline(work, "big/big", node_id="big-1", coalesce=0.001) as served_by:
        workspace, source, service, port = served_by.workspace, served_by.source, served_by.service, served_by.port
        service.wait_synced(15)
        client = HttpClient(port)

        text = big_config(routes, "v1")
        began = time.perf_counter()
        config.write_text(text)
        apply_edit(workspace, source, 60)  # the new snapshot notifies the service, which rebuilds and pushes
        loaded = time.perf_counter()
        service.refresh_and_wait(60)  # a refresh queued after that one: returns once Envoy ACKed it
        acked = time.perf_counter()
        last = f"/team{routes // 100 - 1}/svc99/"
        client.until(last, lambda a: a[1].startswith("v1 "), timeout=10)
        served = time.perf_counter()
        line("YAML edit -> workspace has the new snapshot (meshctl.model load)", f"{(loaded - began) * 1000:8.1f} ms")
        line("new snapshot -> Envoy ACKed (view, translate, pack, push)", f"{(acked - loaded) * 1000:8.1f} ms")
        line("YAML edit -> Envoy ACKed", f"{(acked - began) * 1000:8.1f} ms")
        line("YAML edit -> last route served", f"{(served - began) * 1000:8.1f} ms")

        # where the time goes (same work again, stage by stage, in this process)
        t0 = time.perf_counter()
        snapshot = load_snapshot([config])
        t1 = time.perf_counter()
        view = build_routing_view(snapshot)
        t2 = time.perf_counter()
        index = MeshIndex(snapshot)
        t3 = time.perf_counter()
        node = NodeInfo("stage", "gateway")
        resources = Translator(snapshot, view=view, index=index).node_resources(node)
        t4 = time.perf_counter()
        prepare(resources.snapshot("stage"), codec.ResourcePacker())
        t5 = time.perf_counter()
        line("  stage: load YAML (meshctl.model)", f"{(t1 - t0) * 1000:8.1f} ms")
        line("  stage: routing view (meshctl.routing)", f"{(t2 - t1) * 1000:8.1f} ms")
        line("  stage: mesh index", f"{(t3 - t2) * 1000:8.1f} ms")
        line("  stage: translate to Envoy messages", f"{(t4 - t3) * 1000:8.1f} ms")
        line("  stage: pack (encode once)", f"{(t5 - t4) * 1000:8.1f} ms")
        rds = [c.per_type[codec.ROUTE_TYPE].last_push_latency_ms for c in service.status()]
        line("  stage: push -> Envoy ACK of the route configuration", f"{rds[0]:8.1f} ms")
        size = sum(len(codec.encode(r)) for r in resources.routes)
        line("  route configuration size", f"{size / 1024:8.0f} KiB")

        # one route changed inside the big configuration
        began = time.perf_counter()
        config.write_text(text.replace("v1 t0 r1\n", "v2 t0 r1\n", 1))
        apply_edit(workspace, source, 60)
        loaded = time.perf_counter()
        client.until("/team0/svc1/", lambda a: a[1] == "v2 t0 r1", timeout=10)
        done = time.perf_counter()
        line("one route edited in the big config -> served", f"{(done - began) * 1000:8.1f} ms "
             f"(after the snapshot: {(done - loaded) * 1000:.1f} ms)")
        client.close()


# ---------------------------------------------------------------------------------------- fan-out


async def _simulated_clients(address: str, count: int, lifetime: float) -> None:
    """`count` SotW ADS clients (gateway nodes in four localities) that ACK every response."""
    import grpc
    from envoy_data_plane.envoy.config.core.v3 import Locality, Node
    from envoy_data_plane.envoy.service.discovery.v3 import DiscoveryRequest

    from meshctl.xds.server import SOTW_METHOD

    def fields(raw: bytes) -> tuple[str, str, str]:
        version = type_url = nonce = ""
        for number, _, value in codec.iter_fields(raw):
            if number == 1:
                version = value.decode()
            elif number == 4:
                type_url = value.decode()
            elif number == 5:
                nonce = value.decode()
        return version, type_url, nonce

    wildcard = {codec.ENDPOINT_TYPE: ["*"], codec.ROUTE_TYPE: ["*"]}

    async def one(channel: Any, index: int) -> None:
        call = channel.stream_stream(SOTW_METHOD, request_serializer=codec.encode,
                                     response_deserializer=codec.identity_bytes)()
        node = Node(id=f"sim-{index}", cluster="gateway", locality=Locality(region=f"r{index % 4}", zone="z"))
        await call.write(DiscoveryRequest(node=node, type_url=codec.CLUSTER_TYPE))
        for type_url in (codec.ENDPOINT_TYPE, codec.LISTENER_TYPE, codec.ROUTE_TYPE):
            await call.write(DiscoveryRequest(type_url=type_url, resource_names=wildcard.get(type_url, [])))
        async for raw in call:
            version, type_url, nonce = fields(raw)
            await call.write(DiscoveryRequest(type_url=type_url, version_info=version, response_nonce=nonce,
                                              resource_names=wildcard.get(type_url, [])))

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


def bench_fanout(simulated: int, envoys: int, changes: int) -> None:
    print(f"{simulated} simulated ADS clients (separate process) + {envoys} real Envoys; {changes} YAML edits")
    work = Path(tempfile.mkdtemp(prefix="meshctl-bench-fan-"))
    processes: list[EnvoyProcess] = []
    clients = None
    service = None
    try:
        for f in GUIDE_STEP.glob("*.yaml"):
            shutil.copy(f, work / f.name)
        (work / "bench.yaml").write_text(bench_vhost("v0"))
        source = FileSource([work])
        workspace = Workspace([source], coalesce_seconds=0.001).load()
        service = XdsService(workspace, listen="127.0.0.1:0").start()
        ports = [free_port() for _ in range(envoys)]
        for i, port in enumerate(ports):  # each real Envoy asks for its own listener port (node metadata)
            admin = free_port()
            bootstrap = make_bootstrap(f"edge-{i}", "gateway", ("us-east-1", "us-east-1a", ""), "127.0.0.1",
                                       service.bound_port, admin, node_metadata={"listener_port": port})
            processes.append(EnvoyProcess(f"edge-{i}", bootstrap=bootstrap, admin_port=admin).start())
        clients = subprocess.Popen([sys.executable, __file__, "--simulate", service.address, str(simulated)],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started = time.perf_counter()
        for p in processes:
            p.wait_live(30)
        service.wait_synced(60, count=simulated + envoys)
        line(f"initial sync of {simulated + envoys} clients", f"{(time.perf_counter() - started) * 1000:8.1f} ms")
        http = [HttpClient(port) for port in ports]
        all_acked, all_served = [], []
        for i in range(1, changes + 1):
            body = f"fan-{i}"
            time.sleep(0.05)
            began = time.perf_counter()
            (work / "bench.yaml").write_text(bench_vhost(body))
            apply_edit(workspace, source)
            for client in http:
                client.until("/bench", lambda a, body=body: a == (200, body), host="bench.test", timeout=10)
            all_served.append((time.perf_counter() - began) * 1000)
            service.wait_synced(30, count=simulated + envoys)
            all_acked.append((time.perf_counter() - began) * 1000)
        assert len(service.status()) == simulated + envoys
        line(f"YAML edit -> new answer served by all {envoys} real Envoys", summary(all_served))
        line(f"YAML edit -> ACKed by all {simulated + envoys} clients", summary(all_acked))
        for client in http:
            client.close()
    finally:
        if clients is not None:
            clients.terminate()
            try:
                clients.wait(10)
            except subprocess.TimeoutExpired:
                clients.kill()
                clients.wait(5)
        for p in processes:
            p.send_term()
        for p in processes:
            p.stop()
        if service is not None:
            service.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes for a fast run")
    parser.add_argument("--only", choices=("latency", "big", "fanout"))
    parser.add_argument("--poll", type=float, default=0.005, help="file watcher interval in seconds (default 0.005)")
    parser.add_argument("--simulate", nargs=2, metavar=("ADDRESS", "COUNT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.simulate:
        asyncio.run(_simulated_clients(args.simulate[0], int(args.simulate[1]), lifetime=300))
        return
    print(f"xDS end-to-end benchmark (python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.1f})")
    if args.only in (None, "latency"):
        bench_change_to_served(20 if args.quick else 50, args.poll)
    if args.only in (None, "big"):
        bench_big(2000 if args.quick else 10_000)
    if args.only in (None, "fanout"):
        bench_fanout(50 if args.quick else 200, 3, 3 if args.quick else 5)


if __name__ == "__main__":
    main()
