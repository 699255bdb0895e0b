"""`meshctl xds dump | status | serve` and `meshctl envoy run`: in-process for dump, real subprocesses otherwise."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from fixtures_e2e import BIG_REGEX, HttpClient, one_route_config
from meshctl_process import MeshctlProcess

from meshctl.cli.main import main
from meshctl.envoy.admin import AdminClient
from meshctl.envoy.ports import free_port
from meshctl.envoy.process import EnvoyProcess


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------------------------------ dump


def test_dump_demo_gateway_json(capsys) -> None:
    code, out, _ = run_cli(capsys, "xds", "dump", "--demo", "--node-locality", "us-east-1/us-east-1a")
    assert code == 0
    data = json.loads(out)
    assert data["node"]["role"] == "gateway" and data["node"]["locality"] == "us-east-1/us-east-1a"
    [listener] = data["listeners"]
    assert listener["address"]["socketAddress"] == {"address": "127.0.0.1", "portValue": 8080}  # discovered http2
    hcm = listener["filterChains"][0]["filters"][0]["typedConfig"]
    assert hcm["rds"]["routeConfigName"] == "gateway_8080" and hcm["stripAnyHostPort"] is True
    assert [f["name"] for f in hcm["httpFilters"]][-1] == "envoy.filters.http.router"
    [routes] = data["routes"]
    vhost = next(v for v in routes["virtualHosts"] if v["name"] == "gloo-mesh/demo-virtualhost")
    names = [r["name"] for r in vhost["routes"]]
    assert names[:3] == ["VirtualHost/gloo-mesh/demo-virtualhost#ratings", "RouteTable/gloo-mesh/reviews-misc-rt#v1-version",
                         "RouteTable/gloo-mesh/reviews-misc-rt#v2-version"]
    assert vhost["routes"][1]["match"] == {"path": "/reviews/v1/version"}
    assert vhost["routes"][1]["directResponse"] == {"status": 200, "body": {"inlineString": "'v1'"}}
    clusters = {c["name"]: c for c in data["clusters"]}
    outlier = clusters["outbound|9080||reviews.global"]["outlierDetection"]
    assert outlier == {"consecutive5xx": 1, "interval": "1s", "baseEjectionTime": "15s", "maxEjectionPercent": 100}
    cla = next(e for e in data["endpoints"] if e["clusterName"] == "outbound|9080||reviews.global")
    priorities = {(lep["locality"]["region"], lep.get("priority", 0)) for lep in cla["endpoints"]}
    assert priorities == {("us-east-1", 0), ("us-east-2", 1)}


def test_dump_sidecar_yaml_and_type_filter(capsys) -> None:
    code, out, _ = run_cli(capsys, "xds", "dump", "--demo", "--node", "sidecar:bookinfo/productpage@cluster-1",
                           "--type", "rds", "-o", "yaml")
    assert code == 0
    data = yaml.safe_load(out)
    assert set(data) == {"node", "routes"}
    assert data["node"]["effectiveLocality"] == "us-east-1/us-east-1a"  # from cluster-1, the node gave none
    vhosts = {v["name"]: v for v in data["routes"][0]["virtualHosts"]}
    reviews = vhosts["bookinfo/reviews@cluster-1"]
    assert "reviews" in reviews["domains"] and "reviews.bookinfo.svc.cluster.local" in reviews["domains"]
    assert reviews["routes"][0]["route"] == {"cluster": "outbound|9080||reviews.global"}  # trafficShift → VD
    assert vhosts["bookinfo/database"]["domains"] == ["database.external"]


def test_dump_usage_errors(capsys) -> None:
    assert run_cli(capsys, "xds", "dump", "--demo", "--node", "router")[0] == 2
    code, _, err = run_cli(capsys, "xds", "dump", "--demo", "--node-locality", "a//b")
    assert code == 2 and "locality" in err
    code, _, err = run_cli(capsys, "xds", "dump", "--demo", "--gateway-port", "nope")
    assert code == 2 and "NS/NAME=PORT" in err
    code, _, err = run_cli(capsys, "xds", "dump")
    assert code == 2 and "no configuration" in err


def test_status_unreachable_server_is_a_clean_error(capsys) -> None:
    code, out, err = run_cli(capsys, "xds", "status", "--server", f"127.0.0.1:{free_port()}", "--timeout", "1")
    assert code == 2 and "cannot reach the xDS server" in err and not out


# ------------------------------------------------------------------------------------------ serve (subprocess)


@pytest.fixture
def meshctl_process() -> Iterator[Callable[..., MeshctlProcess]]:
    started: list[MeshctlProcess] = []

    def start(*argv: str) -> MeshctlProcess:
        process = MeshctlProcess(list(argv))
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()


@pytest.fixture
def envoy_processes() -> Iterator[list[EnvoyProcess]]:
    started: list[EnvoyProcess] = []
    try:
        yield started
    finally:
        for process in started:
            process.stop()


@pytest.mark.envoy
def test_serve_watch_status_and_nack(tmp_path: Path, capsys, meshctl_process, envoy_processes) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(one_route_config("one", "hello", ""))
    port = free_port()
    serve = meshctl_process("xds", "serve", str(tmp_path), "--listen", "127.0.0.1:0", "--gateway-port",
                            f"app/gw={port}", "--watch", "--poll-interval", "0.05")
    address = serve.wait_line(lambda l: l.startswith("xDS server listening on ")).rsplit(" ", 1)[1]
    assert serve.wait_line(lambda l: l.startswith("gateways:")) == \
        f"gateways: app/gw on 127.0.0.1:{port}; sidecars on 127.0.0.1:15001"
    envoy = EnvoyProcess("edge-1", int(address.rsplit(":", 1)[1]), node_cluster="gateway:app/gw",
                         locality=("eu-west-1", "eu-west-1a", ""))
    envoy_processes.append(envoy)
    envoy.start().wait_live(15)
    client = HttpClient(port)
    try:
        assert client.until("/hello", lambda a: a == (200, "one")) == (200, "one")
        serve.wait_line(lambda l: "CONNECT    edge-1 (gateway:app/gw eu-west-1/eu-west-1a)" in l)
        serve.wait_line(lambda l: " ACK        edge-1 RDS version " in l)

        code, out, _ = run_cli(capsys, "xds", "status", "--server", address, "-o", "json")
        assert code == 0
        [edge] = json.loads(out)["clients"]
        assert edge["node_id"] == "edge-1" and {t["state"] for t in edge["per_type"].values()} == {"SYNCED"}

        config.write_text(one_route_config("two", "hello", ""))  # the watcher picks it up
        assert client.until("/hello", lambda a: a == (200, "two")) == (200, "two")
        serve.wait_line(lambda l: l.startswith("configuration changed"))

        config.write_text(one_route_config("three", "hello", BIG_REGEX))
        nack = serve.wait_line(lambda l: " NACK       edge-1 RDS " in l)
        assert "RE2 program size of 205 > max program size of 100" in nack
        deadline = time.monotonic() + 5
        code, out, _ = run_cli(capsys, "xds", "status", "--server", address)
        while "NACKED" not in out and time.monotonic() < deadline:
            time.sleep(0.05)
            code, out, _ = run_cli(capsys, "xds", "status", "--server", address)
        assert code == 1
        header, row = out.splitlines()[:2]
        assert header.split() == ["NODE", "CLUSTER", "LOCALITY", "CDS", "EDS", "LDS", "RDS", "STREAM"]
        # no cluster uses EDS here, so Envoy never subscribed to it: "-"
        assert re.split(r"\s{2,}", row) == ["edge-1", "gateway:app/gw", "eu-west-1/eu-west-1a", "SYNCED", "-",
                                            "SYNCED", "NACKED", "sotw"]
        assert "NACKs:" in out and "RE2 program size" in out
        assert client.get("/hello") == (200, "two")  # still the last accepted configuration
    finally:
        client.close()
    assert serve.stop(signal.SIGINT) == 0
    assert "stopping" in serve.lines


@pytest.mark.envoy
@pytest.mark.parametrize("check", [False, True], ids=["default", "check-unknown-fields"])
def test_envoy_run_foreground_until_interrupted(tmp_path: Path, meshctl_process, check: bool) -> None:
    (tmp_path / "config.yaml").write_text(one_route_config("from-envoy-run", "hello", ""))
    serve = meshctl_process("xds", "serve", str(tmp_path), "--listen", "127.0.0.1:0")
    address = serve.wait_line(lambda l: l.startswith("xDS server listening on ")).rsplit(" ", 1)[1]
    port = free_port()
    run = meshctl_process("envoy", "run", "--xds", address, "--node-id", "cli-envoy", "--listener-port", str(port),
                          "--node-locality", "us-east-1/us-east-1a", *(["--check-unknown-fields"] if check else []))
    started = run.wait_line(lambda l: l.startswith("envoy cli-envoy"))
    admin_url = started.split("admin ", 1)[1].split(";", 1)[0]
    assert run.wait_line(lambda l: l.startswith("live;")) == f"live; listeners: gateway_{port} 127.0.0.1:{port}"
    options = json.loads(AdminClient(admin_url).get("/server_info"))["command_line_options"]
    assert options.get("ignore_unknown_dynamic_fields", False) is not check  # Envoy's walk of each update: opt-in
    client = HttpClient(port)
    try:
        assert client.get("/hello") == (200, "from-envoy-run")
    finally:
        client.close()
    assert run.stop(signal.SIGINT) == 0
    with pytest.raises(OSError):
        AdminClient(admin_url, timeout=0.5).ready()  # Envoy went away with it
    serve.wait_line(lambda l: "DISCONNECT cli-envoy" in l)
