"""The replica's admin endpoint (/healthz, /readyz, /metrics) and the serve flags' usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from waiting import wait_until

from meshctl.cli.main import main
from meshctl.controlplane.replica import Replica, ReplicaOptions, default_namespace
from meshctl.sources.kube import KubeSource
from meshctl.sources.workspace import Workspace

from .fakeapi import FakeApiServer
from .serve_process import http_get

FAST = dict(backoff_base=0.05, backoff_max=0.2, crd_recheck_seconds=0.1)


def test_ready_only_after_the_first_full_sync(kubeconfig_path: Path, east: FakeApiServer, closing) -> None:
    east.stop()  # the API server is away when the replica starts
    source = KubeSource("east", kubeconfig=str(kubeconfig_path), **FAST)
    workspace = closing(Workspace([source], coalesce_seconds=0.01).load())
    replica = closing(Replica(workspace, ReplicaOptions(replica_id="r1", listen="127.0.0.1:0",
                                                       admin_listen="127.0.0.1:0")))
    replica.start()
    workspace.start()
    assert replica.admin is not None
    base = replica.admin.url
    assert http_get(f"{base}/healthz") == (200, "ok\n")  # alive, even though not ready
    code, body = http_get(f"{base}/readyz")
    state = json.loads(body)
    assert code == 503 and not state["ready"] and state["sources"] == {"kube:east": "stale"}
    assert state["replica"] == "r1" and state["leader"] is False

    east.start()
    wait_until(lambda: http_get(f"{base}/readyz")[0] == 200, timeout=10)
    state = json.loads(http_get(f"{base}/readyz")[1])
    assert state["xds"] == replica.address and state["synced"]

    east.stop()  # once synced, a replica keeps serving the last known configuration and stays ready
    wait_until(lambda: source.status.state == "stale", timeout=10)
    assert http_get(f"{base}/readyz")[0] == 200
    code, metrics = http_get(f"{base}/metrics")
    assert code == 200 and "meshctl_ready 1.0" in metrics
    assert 'meshctl_xds_connected_clients{stream="sotw",type="gateway"} 0.0' in metrics
    assert "meshctl_xds_snapshot_build_seconds_count" in metrics
    assert http_get(f"{base}/nothing")[0] == 404


@pytest.mark.parametrize("argv, message", [
    (["--demo", "--leader-elect"], "--leader-elect needs a cluster"),
    (["--demo", "--admin-listen", "nowhere"], "--admin-listen must be HOST:PORT"),
    (["--demo", "--lease-duration", "5", "--renew-deadline", "8"], "renew deadline < lease duration"),
])
def test_serve_usage_errors_are_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["xds", "serve", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_in_cluster_outside_a_cluster_is_a_clean_error(capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert main(["xds", "serve", "--in-cluster"]) == 2
    assert "--in-cluster: not running in a cluster" in capsys.readouterr().err


def test_lease_namespace_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POD_NAMESPACE", raising=False)
    assert default_namespace(tmp_path / "absent") == "gloo-mesh"
    (tmp_path / "namespace").write_text("mesh-system\n")
    assert default_namespace(tmp_path / "namespace") == "mesh-system"
    monkeypatch.setenv("POD_NAMESPACE", "from-downward-api")
    assert default_namespace(tmp_path / "namespace") == "from-downward-api"
