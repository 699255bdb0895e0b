"""Two control-plane replicas against one API server: one leader, status written once per change, takeover."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Callable

import pytest
from waiting import wait_until

from meshctl.controlplane.leader import LeaseTiming
from meshctl.controlplane.replica import Replica, ReplicaOptions
from meshctl.sources.kube import KubeSource
from meshctl.sources.workspace import Workspace

from .fakeapi import FakeApiServer
from .objects import GLOO_ENTERPRISE, load_demo_routing, route_table

TIMING = LeaseTiming(lease_duration=1.0, renew_deadline=0.6, retry_period=0.1)
FAST = dict(backoff_base=0.05, backoff_max=0.2, crd_recheck_seconds=0.1)
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _replica(kubeconfig_path: Path, replica_id: str, closing: Callable, admin: bool = False) -> Replica:
    source = KubeSource("east", kubeconfig=str(kubeconfig_path), **FAST)
    workspace = Workspace([source], coalesce_seconds=0.01).load()
    closing(workspace)
    options = ReplicaOptions(replica_id=replica_id, leader_elect=True, lease_namespace="gloo-mesh", timing=TIMING,
                             listen="127.0.0.1:0", admin_listen="127.0.0.1:0" if admin else None)
    replica = Replica(workspace, options)
    closing(replica)
    replica.start()
    workspace.start()
    return replica


def _status_writes(east: FakeApiServer, name: str | None = None) -> list[str]:
    return [path for method, path, _ in list(east.requests)
            if method in ("PATCH", "PUT") and path.endswith("/status") and (name is None or f"/{name}/" in path)]


def _status(east: FakeApiServer, namespace: str, name: str) -> dict:
    obj = east.get(GLOO_ENTERPRISE, "RouteTable", namespace, name)
    return (obj or {}).get("status") or {}


def _settled(east: FakeApiServer, quiet: float = 0.6, timeout: float = 10.0) -> int:
    """Wait until no status write happened for `quiet` seconds; returns the number of writes so far."""
    deadline = time.monotonic() + timeout
    count, since = len(_status_writes(east)), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = len(_status_writes(east))
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return count
    raise AssertionError("status writes did not settle")


@pytest.fixture
def mesh(east: FakeApiServer) -> FakeApiServer:
    load_demo_routing(east)
    east.create(route_table("extra", "bookinfo"))
    return east


def test_two_replicas_one_leader_status_once_per_change(kubeconfig_path: Path, mesh: FakeApiServer,
                                                        closing) -> None:
    a = _replica(kubeconfig_path, "replica-a", closing, admin=True)
    b = _replica(kubeconfig_path, "replica-b", closing)
    wait_until(lambda: a.is_leader() or b.is_leader(), timeout=5)
    assert [a.is_leader(), b.is_leader()].count(True) == 1
    wait_until(lambda: _status(mesh, "gloo-mesh", "demo-routetable").get("state") == "ACCEPTED", timeout=10)
    _settled(mesh)
    routing = [o for objs in mesh.objects.values() for o in objs.values() if o["kind"] in
               ("RouteTable", "VirtualHost", "VirtualGateway", "VirtualDestination", "TrafficPolicy",
                "ExternalService", "ExternalEndpoint")]
    writes = _status_writes(mesh)
    # each routing resource's status was written exactly once, by the leader
    assert sorted(writes) == sorted(set(writes)) and len(writes) == len(routing)
    extra = _status(mesh, "bookinfo", "extra")
    assert extra["state"] == "WARNING" and "unreached-route-table" in extra["message"]
    assert extra["observedGeneration"] == 1 and "kube:" not in extra["message"]  # no file in a status
    es = mesh.get("networking.gloo.solo.io/v2", "ExternalService", "bookinfo", "database")
    assert es["status"]["common"]["state"] == {"approval": "ACCEPTED", "message": "", "observedGeneration": 1}

    # nothing changes → nothing is written, however many snapshots follow (the status writes themselves
    # came back as watch events and rebuilt the snapshot)
    assert a.workspace.version > 1
    time.sleep(1.0)
    assert len(_status_writes(mesh)) == len(writes)

    # the admin endpoint tells which replica leads and counts the writes
    assert a.admin is not None
    with _NO_PROXY.open(f"{a.admin.url}/readyz", timeout=5) as response:
        ready = json.loads(response.read())
    assert ready["ready"] and ready["replica"] == "replica-a" and ready["leader"] == a.is_leader()
    with _NO_PROXY.open(f"{a.admin.url}/metrics", timeout=5) as response:
        metrics = response.read().decode()
    leader_line = f'meshctl_leader{{replica="replica-a"}} {1.0 if a.is_leader() else 0.0}'
    assert leader_line in metrics
    written = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                  if line.startswith('meshctl_status_writes_total{result="written"}'))
    assert written == (len(writes) if a.is_leader() else 0)
    assert 'meshctl_kube_watch_events_total{event="MODIFIED",kind="RouteTable"}' in metrics


def test_invalid_then_fixed_and_observed_generation(kubeconfig_path: Path, mesh: FakeApiServer, closing) -> None:
    a = _replica(kubeconfig_path, "replica-a", closing)
    wait_until(lambda: _status(mesh, "bookinfo", "extra").get("state") == "WARNING", timeout=10)
    before = _settled(mesh)

    broken = mesh.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "extra")
    broken["spec"]["routes"][0]["matchers"][0]["uri"] = {"regex": "(unclosed"}
    mesh.update(broken)
    wait_until(lambda: _status(mesh, "bookinfo", "extra").get("state") == "INVALID", timeout=10)
    status = _status(mesh, "bookinfo", "extra")
    assert "bad-regex" in status["message"] and "spec.routes[0].matchers[0].uri.regex" in status["message"]
    assert status["observedGeneration"] == 2
    assert _settled(mesh) == before + 1  # one change, one write

    fixed = mesh.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "extra")
    fixed["spec"]["routes"][0]["matchers"][0]["uri"] = {"prefix": "/"}
    mesh.update(fixed)
    # reached from the gateway now: no warning left either
    gateway_rt = mesh.get(GLOO_ENTERPRISE, "RouteTable", "gloo-mesh", "demo-routetable")
    gateway_rt["spec"]["routes"].append({"name": "to-extra", "matchers": [{"uri": {"prefix": "/extra"}}],
                                         "delegateAction": {"refs": [{"name": "extra", "namespace": "bookinfo"}]}})
    mesh.update(gateway_rt)
    wait_until(lambda: _status(mesh, "bookinfo", "extra").get("state") == "ACCEPTED", timeout=10)
    status = _status(mesh, "bookinfo", "extra")
    assert status == {"state": "ACCEPTED", "message": "", "observedGeneration": 3}
    assert mesh.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "extra")["metadata"]["generation"] == 3
    assert a.is_leader()


def test_leader_killed_the_other_takes_over_and_writes(kubeconfig_path: Path, mesh: FakeApiServer,
                                                        closing) -> None:
    a = _replica(kubeconfig_path, "replica-a", closing)
    wait_until(a.is_leader, timeout=5)
    b = _replica(kubeconfig_path, "replica-b", closing)
    wait_until(lambda: _status(mesh, "bookinfo", "extra").get("state") == "WARNING", timeout=10)
    _settled(mesh)
    assert not b.is_leader()

    assert a.elector is not None
    a.stop(release=False)  # killed: no hand-over, the Lease must expire
    last_renewal = a.elector._renewed_at
    wait_until(b.is_leader, timeout=5)
    assert time.monotonic() - last_renewal < 2 * TIMING.lease_duration  # one duration, plus retry and slack

    broken = mesh.get(GLOO_ENTERPRISE, "RouteTable", "bookinfo", "extra")
    broken["spec"]["routes"][0]["matchers"][0]["uri"] = {"regex": "(unclosed"}
    mesh.update(broken)
    wait_until(lambda: _status(mesh, "bookinfo", "extra").get("state") == "INVALID", timeout=10)
    assert b.writer is not None and b.writer.writes >= 1
