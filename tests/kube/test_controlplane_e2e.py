"""Two `meshctl xds serve` replicas (real processes) and a real Envoy bootstrapped with both: the replica it
is connected to is killed, Envoy keeps serving, moves to the other without a push or a NACK, and a later change
in the cluster still reaches it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator

import pytest
from waiting import wait_until

from meshctl.cli.main import main
from meshctl.controlplane.replicas import ReplicaEndpoint, collect_status
from meshctl.envoy.bootstrap import make_bootstrap
from meshctl.envoy.ports import free_ports
from meshctl.envoy.process import EnvoyProcess

from .fakeapi import FakeApiServer
from .objects import GLOO_ENTERPRISE, load_demo_routing
from .serve_process import ServeProcess, http_get

HOST = "www.example.com"


@pytest.fixture
def replicas() -> Iterator[list[ServeProcess]]:
    started: list[ServeProcess] = []
    yield started
    for process in started:
        process.stop()


@pytest.fixture
def envoys() -> Iterator[list[EnvoyProcess]]:
    started: list[EnvoyProcess] = []
    yield started
    for envoy in started:
        envoy.stop()


def _start_replica(kubeconfig_path: Path, replica_id: str, listener_port: int, ports: list[int]) -> ServeProcess:
    xds, admin = f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}"
    process = ServeProcess(["--context", "east", "--kubeconfig", str(kubeconfig_path), "--leader-elect",
                            "--lease-namespace", "gloo-mesh", "--replica-id", replica_id, "--lease-duration", "2",
                            "--renew-deadline", "1.2", "--retry-period", "0.2", "--listen", xds,
                            "--admin-listen", admin, "--listener-port", str(listener_port), "--quiet-pushes"],
                           admin=admin)
    process.xds = xds  # type: ignore[attr-defined]
    return process


def _pushes_and_nacks(process: ServeProcess) -> tuple[float, float]:
    samples = process.metrics()
    pushes = sum(v for k, v in samples.items() if k.startswith("meshctl_xds_pushes_total"))
    nacks = sum(v for k, v in samples.items() if k.startswith("meshctl_xds_nacks_total"))
    return pushes, nacks


@pytest.mark.envoy
def test_envoy_fails_over_between_replicas_and_still_gets_changes(
        kubeconfig_path: Path, east: FakeApiServer, replicas: list[ServeProcess], envoys: list[EnvoyProcess],
        capsys: pytest.CaptureFixture[str]) -> None:
    load_demo_routing(east)
    listener_port, admin_port, *ports = free_ports(6)  # distinct: each is bound by a different process
    a = _start_replica(kubeconfig_path, "replica-a", listener_port, ports[:2])
    replicas.append(a)
    b = _start_replica(kubeconfig_path, "replica-b", listener_port, ports[2:])
    replicas.append(b)
    for replica in (a, b):
        state = replica.wait_ready()
        assert state["sources"] == {"kube:east": "ok"}
    wait_until(lambda: [a.readyz().get("leader"), b.readyz().get("leader")].count(True) == 1, timeout=10)

    (host_a, port_a), (host_b, port_b) = (r.xds.rsplit(":", 1) for r in (a, b))  # type: ignore[attr-defined]
    bootstrap = make_bootstrap("edge-1", "gateway", None, host_a, int(port_a), admin_port,
                               more_xds=[(host_b, int(port_b))], retry_backoff=(0.1, 0.5))
    envoy = EnvoyProcess("edge-1", bootstrap=bootstrap, admin_port=admin_port)
    envoys.append(envoy)
    envoy.start().wait_live(20)
    url = f"http://127.0.0.1:{listener_port}/reviews/v1/version"
    wait_until(lambda: http_get(url, host=HOST) == (200, "'v1'"), timeout=10)

    # one row per Envoy, with the replica it is connected to
    endpoints = [ReplicaEndpoint("replica-a", a.xds), ReplicaEndpoint("replica-b", b.xds)]  # type: ignore[attr-defined]
    rows = wait_until(lambda: collect_status(endpoints)[0], timeout=10)
    [(connected, client)] = rows
    assert client.node_id == "edge-1"
    code = main(["xds", "status", "--server", f"{a.xds},{b.xds}"])  # type: ignore[attr-defined]
    out = capsys.readouterr().out
    assert code == 0
    header, row = out.splitlines()[:2]
    assert header.split()[:2] == ["REPLICA", "NODE"]
    address = {"replica-a": a.xds, "replica-b": b.xds}[connected]  # type: ignore[attr-defined]
    assert re.split(r"\s{2,}", row)[:2] == [address, "edge-1"]

    # ... or found through the xDS Service's endpoints, named by pod
    east.create({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "meshctl-xds", "namespace": "gloo-mesh"},
                 "subsets": [{"addresses": [{"ip": "127.0.0.1", "targetRef": {"kind": "Pod", "name": name}}],
                              "ports": [{"name": "grpc-xds", "port": int(r.xds.rsplit(":", 1)[1])},  # type: ignore
                                        {"name": "http-admin", "port": 1}]}
                             for name, r in (("replica-a", a), ("replica-b", b))]})
    code = main(["xds", "status", "--context", "east", "--kubeconfig", str(kubeconfig_path)])
    out = capsys.readouterr().out
    assert code == 0 and re.split(r"\s{2,}", out.splitlines()[1])[:2] == [connected, "edge-1"]

    victim, survivor = (a, b) if connected == "replica-a" else (b, a)
    survivor_name = "replica-b" if connected == "replica-a" else "replica-a"
    assert _pushes_and_nacks(survivor) == (0, 0)  # it never served this Envoy yet
    victim.kill()

    # Envoy keeps serving what it has while it reconnects
    assert http_get(url, host=HOST) == (200, "'v1'")
    survivor_endpoint = [e for e in endpoints if e.name == survivor_name]
    moved = wait_until(lambda: [c for _, c in collect_status(survivor_endpoint)[0]
                                if c.node_id == "edge-1" and c.synced], timeout=20)
    assert moved
    # same content, same versions: the new replica had nothing to push and nothing was rejected
    assert _pushes_and_nacks(survivor) == (0, 0)

    # a later change in the cluster reaches the Envoy through the survivor
    table = east.get(GLOO_ENTERPRISE, "RouteTable", "gloo-mesh", "reviews-misc-rt")
    assert table is not None
    for route in table["spec"]["routes"]:
        if route.get("name") == "v1-version":
            route["directResponseAction"]["body"] = "'v1 after failover'"
    east.update(table)
    wait_until(lambda: http_get(url, host=HOST) == (200, "'v1 after failover'"), timeout=20)
    pushes, nacks = _pushes_and_nacks(survivor)
    assert pushes >= 1 and nacks == 0

    # the survivor leads (it took the Lease if the victim held it) and wrote the changed table's status
    wait_until(lambda: survivor.readyz().get("leader"), timeout=10)
    changed = east.get(GLOO_ENTERPRISE, "RouteTable", "gloo-mesh", "reviews-misc-rt")
    wait_until(lambda: (east.get(GLOO_ENTERPRISE, "RouteTable", "gloo-mesh", "reviews-misc-rt") or {})
               .get("status", {}).get("observedGeneration") == changed["metadata"]["generation"], timeout=10)

    # status over both replicas: the dead one is reported, the Envoy shown once, on the survivor
    code = main(["xds", "status", "--server", f"{a.xds},{b.xds}", "--timeout", "1"])  # type: ignore[attr-defined]
    captured = capsys.readouterr()
    assert code == 0 and "not reachable" in captured.err
    survivor_address = {"replica-a": a.xds, "replica-b": b.xds}[survivor_name]  # type: ignore[attr-defined]
    assert re.split(r"\s{2,}", captured.out.splitlines()[1])[:2] == [survivor_address, "edge-1"]
