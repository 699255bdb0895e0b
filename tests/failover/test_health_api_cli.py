"""eds-unhealthy against any meshctl xDS server: `xds serve --health-listen` + `failover trigger --health-url`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest

from meshctl.envoy.ports import free_ports
from meshctl.envoy.process import EnvoyProcess

pytestmark = pytest.mark.envoy
SIDECAR = "sidecar:bookinfo/productpage@cluster-1"
REVIEWS_GLOBAL = "outbound|9080||reviews.global"


def meshctl(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshctl.cli.main", *argv], capture_output=True, text=True,
                          timeout=60)


def wait_for(predicate, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def host_health(envoy: EnvoyProcess) -> dict[str, str]:
    """address -> eds health status of the reviews.global hosts, as Envoy holds them."""
    data = envoy.admin.clusters_json()
    out = {}
    for cluster in data.get("cluster_statuses", []):
        if cluster["name"] != REVIEWS_GLOBAL:
            continue
        for host in cluster.get("host_statuses", []):
            address = host["address"]["socket_address"]["address"]
            out[address] = host.get("health_status", {}).get("eds_health_status", "HEALTHY")
    return out


@pytest.fixture
def server():
    xds_port, health_port = free_ports(2)
    proc = subprocess.Popen([sys.executable, "-m", "meshctl.cli.main", "xds", "serve", "--demo",
                             "--listen", f"127.0.0.1:{xds_port}", "--health-listen", f"127.0.0.1:{health_port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy())
    url = f"http://127.0.0.1:{health_port}"

    def up() -> bool:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return True
        except OSError:
            return proc.poll() is not None
    try:
        wait_for(up, 30)
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        yield xds_port, url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_eds_unhealthy_reaches_envoy_through_a_plain_xds_server(server):
    xds_port, health_url = server
    envoy = EnvoyProcess("sidecar-1", xds_port, node_cluster=SIDECAR, locality=("us-east-1", "us-east-1a", ""))
    envoy.start()
    try:
        envoy.wait_live(15)
        health = wait_for(lambda: host_health(envoy))
        assert set(health.values()) == {"HEALTHY"} and len(health) == 3
        result = meshctl("failover", "trigger", "service:bookinfo/reviews@cluster-1", "--mode", "eds-unhealthy",
                         "--health-url", health_url, "--demo", "-o", "json")
        assert result.returncode == 0, result.stderr
        marked = {e["address"] for e in json.loads(result.stdout)["endpoints"]}
        assert marked == {"10.1.0.21", "10.1.0.22"}
        health = wait_for(lambda: (h := host_health(envoy)) and h["10.1.0.21"] == "UNHEALTHY" and h)
        assert health == {"10.1.0.21": "UNHEALTHY", "10.1.0.22": "UNHEALTHY", "10.2.0.23": "HEALTHY"}
        result = meshctl("failover", "restore", "service:bookinfo/reviews@cluster-1",
                         "--health-url", health_url, "--demo")
        assert result.returncode == 0, result.stderr
        wait_for(lambda: set(host_health(envoy).values()) == {"HEALTHY"})
        refused = meshctl("--read-only", "failover", "trigger", "service:bookinfo/reviews@cluster-1",
                          "--mode", "eds-unhealthy", "--health-url", health_url, "--demo")
        assert refused.returncode == 2 and "read-only" in refused.stderr
    finally:
        envoy.stop()
