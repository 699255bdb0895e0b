"""Demo apps over real HTTP: every kind answers, and ok/fail/hang/refuse behave on real sockets."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from waiting import wait_until

from meshctl.demo.apps import (
    AppControl,
    AppControlError,
    AppsSpec,
    InstanceSpec,
    RunningApps,
    SpecError,
    Upstream,
    launch_apps,
)
from meshctl.demo.supervisor import StartFailed, Supervisor

pytestmark = pytest.mark.timeout(60)


def get(port: int, path: str = "/", host: str | None = None,
        timeout: float = 5.0) -> tuple[int, dict[str, Any], http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host} if host else {})
        response = conn.getresponse()
        return response.status, json.loads(response.read()), response
    finally:
        conn.close()



@pytest.fixture
def control(backends: RunningApps) -> Iterator[AppControl]:
    ctl = backends.control()
    try:
        yield ctl
    finally:
        ctl.set_modes({}, "ok")  # the module's apps process is shared: leave it healthy


# ----- every kind answers ----------------------------------------------------------------------
@pytest.mark.parametrize(("instance_id", "stars"), [
    ("reviews-v1@cluster-1", None), ("reviews-v2@cluster-1", "black"),
    ("reviews-v3@cluster-2", "red")])
def test_reviews_versions_answer_with_their_stars_and_identity(
        backends: RunningApps, instance_id: str, stars: str | None) -> None:
    status, body, response = get(backends.ports[instance_id], "/reviews/7", host="reviews.global")
    assert status == 200
    assert response.getheader("Content-Length") is not None
    assert body["stars"] == stars
    assert body["instance"] == instance_id
    assert body["service"] == "reviews" and body["namespace"] == "bookinfo"
    assert body["version"] == instance_id.split("@")[0].split("-")[1]
    assert body["cluster"] == instance_id.split("@")[1]
    assert body["path"] == "/reviews/7" and body["id"] == 7
    assert body["host"] == "reviews.global"


def test_ratings_database_and_generic_answer(backends: RunningApps) -> None:
    status, ratings, _ = get(backends.ports["ratings-v1@cluster-1"], "/ratings/1")
    assert status == 200
    assert ratings["id"] == 1 and ratings["ratings"] == {"Reviewer1": 5, "Reviewer2": 4}
    assert ratings["locality"] == {"region": "us-east-1", "zone": "us-east-1a"}

    status, database, _ = get(backends.ports["database@dallas"], "/query/3")
    assert status == 200
    assert database["database"]["datacenter"] == "dallas"
    assert database["database"]["rows"][0]["id"] == 3

    status, echo, _ = get(backends.ports["echo@cluster-1"], "/any/path?x=1", host="echo.local")
    assert status == 200
    assert (echo["service"], echo["path"], echo["host"]) == ("echo", "/any/path?x=1", "echo.local")
    assert echo["locality"]["zone"] == "us-east-1b"


def test_keep_alive_serves_several_requests_on_one_connection(backends: RunningApps) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", backends.ports["echo@cluster-1"], timeout=5)
    try:
        conn.request("POST", "/first", body=b"payload")
        first = conn.getresponse()
        assert first.status == 200 and json.loads(first.read())["method"] == "POST"
        sock = conn.sock
        conn.request("HEAD", "/second")
        second = conn.getresponse()
        assert second.status == 200 and second.read() == b""
        assert int(second.getheader("Content-Length", "0")) > 0
        conn.request("GET", "/third")
        third = conn.getresponse()
        assert json.loads(third.read())["path"] == "/third"
        assert conn.sock is sock  # no reconnect happened
    finally:
        conn.close()


# ----- modes -----------------------------------------------------------------------------------
def test_fail_mode_answers_5xx_naming_the_instance_then_recovers(
        backends: RunningApps, control: AppControl) -> None:
    port = backends.ports["reviews-v1@cluster-1"]
    control.set_mode("reviews-v1@cluster-1", "fail")
    status, body, _ = get(port)
    assert status == 503 and body["instance"] == "reviews-v1@cluster-1"
    control.set_mode("reviews-v1@cluster-1", "fail", status=500)
    assert get(port)[0] == 500
    control.set_mode("reviews-v1@cluster-1", "ok")
    assert get(port)[0] == 200
    counts = control.instance("reviews-v1@cluster-1")["requests"]
    assert counts["failed"] >= 2 and counts["ok"] >= 1


def test_hang_mode_times_out_the_client_and_recover_releases_the_request(
        backends: RunningApps, control: AppControl) -> None:
    instance_id = "reviews-v2@cluster-1"
    port = backends.ports[instance_id]
    control.set_mode(instance_id, "hang")
    with pytest.raises(TimeoutError):
        get(port, timeout=0.5)

    hung = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        hung.sendall(b"GET /hung HTTP/1.1\r\nHost: reviews\r\n\r\n")
        hung.settimeout(0.5)
        with pytest.raises(TimeoutError):
            hung.recv(1024)
        assert wait_until(lambda: control.instance(instance_id)["hanging"] >= 1)
        control.set_mode(instance_id, "ok")
        hung.settimeout(5)
        assert hung.recv(1024) == b""  # released: closed without an answer
    finally:
        hung.close()
    assert wait_until(lambda: control.instance(instance_id)["hanging"] == 0)
    assert get(port)[0] == 200


def test_refuse_mode_refuses_connections_closes_keep_alive_and_recovers_same_port(
        backends: RunningApps, control: AppControl) -> None:
    instance_id = "reviews-v3@cluster-2"
    port = backends.ports[instance_id]
    kept = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        kept.request("GET", "/before")
        assert kept.getresponse().read()
        control.set_mode(instance_id, "refuse")
        assert kept.sock is not None
        kept.sock.settimeout(2)
        assert kept.sock.recv(1) == b""  # the idle keep-alive connection was closed by the server
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            kept.request("GET", "/after")
            kept.getresponse().read()
        assert control.instance(instance_id)["port"] == port
    finally:
        kept.close()
    control.set_mode(instance_id, "ok")
    status, body, _ = get(port)
    assert status == 200 and body["stars"] == "red"


def test_set_modes_selects_by_service_and_cluster(
        backends: RunningApps, control: AppControl) -> None:
    ids = control.set_modes({"service": "reviews", "cluster": "cluster-1"}, "fail")
    assert sorted(ids) == ["reviews-v1@cluster-1", "reviews-v2@cluster-1"]
    assert get(backends.ports["reviews-v1@cluster-1"])[0] == 503
    assert get(backends.ports["reviews-v2@cluster-1"])[0] == 503
    assert get(backends.ports["reviews-v3@cluster-2"])[0] == 200
    modes = {i["id"]: i["mode"] for i in control.instances()}
    assert modes["reviews-v1@cluster-1"] == "fail" and modes["reviews-v3@cluster-2"] == "ok"
    assert control.set_modes({"version": ["v2", "v3"], "service": "reviews"}, "ok") == [
        "reviews-v2@cluster-1", "reviews-v3@cluster-2"]
    assert get(backends.ports["reviews-v2@cluster-1"])[0] == 200


def test_control_rejects_bad_requests_clearly(control: AppControl) -> None:
    with pytest.raises(AppControlError, match="404"):
        control.set_mode("nope@nowhere", "fail")
    with pytest.raises(AppControlError, match="mode must be one of"):
        control.set_mode("reviews-v1@cluster-1", "explode")
    with pytest.raises(AppControlError, match="unknown select keys"):
        control.set_modes({"colour": "red"}, "fail")
    assert control.healthz()["ok"] is True


# ----- productpage and its upstreams -----------------------------------------------------------
@pytest.fixture
def productpage(supervisor: Supervisor, backends: RunningApps) -> RunningApps:
    """A productpage calling reviews-v3 directly (no Envoy) with a virtual Host, plus a database."""
    reviews = Upstream(url=backends.url("reviews-v3@cluster-2", "/reviews/0"), host="reviews.global",
                       timeout_s=0.5)
    database = Upstream(url=backends.url("database@dallas", "/books/0"), timeout_s=0.5)
    spec = AppsSpec(instances=(InstanceSpec(
        id="productpage-v1@cluster-1", service="productpage", namespace="bookinfo",
        cluster="cluster-1", region="us-east-1", zone="us-east-1a", kind="productpage",
        upstreams={"reviews": reviews, "database": database}),))
    return launch_apps(supervisor, spec, name="productpage")


def test_productpage_reports_what_reviews_and_database_answered(productpage: RunningApps) -> None:
    status, body, _ = get(productpage.ports["productpage-v1@cluster-1"], "/productpage")
    assert status == 200
    assert body["service"] == "productpage" and body["upstream_ok"] is True
    reviews = body["upstreams"]["reviews"]
    assert reviews["status"] == 200 and reviews["error"] is None
    assert reviews["body"]["stars"] == "red" and reviews["body"]["host"] == "reviews.global"
    assert body["upstreams"]["database"]["body"]["database"]["datacenter"] == "dallas"


@pytest.mark.parametrize(("mode", "expected_status", "expected_error"), [
    ("fail", 503, None), ("hang", None, "timed out"), ("refuse", None, "connection refused")])
def test_productpage_reports_upstream_failure_clearly(
        productpage: RunningApps, control: AppControl, mode: str,
        expected_status: int | None, expected_error: str | None) -> None:
    control.set_mode("reviews-v3@cluster-2", mode)
    status, body, _ = get(productpage.ports["productpage-v1@cluster-1"], "/productpage")
    assert status == 200  # like bookinfo, the page renders and says what went wrong
    reviews = body["upstreams"]["reviews"]
    assert body["upstream_ok"] is False and reviews["ok"] is False
    assert reviews["status"] == expected_status
    if expected_error is None:
        assert reviews["body"]["instance"] == "reviews-v3@cluster-2"
    else:
        assert expected_error in reviews["error"]
    assert body["upstreams"]["database"]["ok"] is True


# ----- process lifecycle -----------------------------------------------------------------------
def test_sigterm_stops_the_process_even_with_a_hung_request(supervisor: Supervisor) -> None:
    spec = AppsSpec(instances=(InstanceSpec(id="slow@c", service="slow", kind="generic"),))
    apps = launch_apps(supervisor, spec, name="sigterm")
    apps.control().set_mode("slow@c", "hang")
    hung = socket.create_connection(("127.0.0.1", apps.ports["slow@c"]), timeout=5)
    try:
        hung.sendall(b"GET / HTTP/1.1\r\nHost: slow\r\n\r\n")
        assert wait_until(lambda: apps.control().instance("slow@c")["hanging"] == 1)
        os.kill(apps.process.pid, signal.SIGTERM)
        assert wait_until(lambda: apps.process.returncode is not None, timeout=10)
        assert apps.process.returncode == 0
        assert hung.recv(1024) == b""
    finally:
        hung.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", apps.ports["slow@c"]), timeout=2).close()


def test_port_in_use_fails_start_with_a_clear_message(supervisor: Supervisor) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        spec = AppsSpec(instances=(InstanceSpec(id="clash@c", service="clash", port=port),))
        with pytest.raises(StartFailed, match=f"clash@c: cannot listen on 127.0.0.1:{port}"):
            launch_apps(supervisor, spec, name="clash")
    assert supervisor.status() == []


def test_spec_round_trips_and_rejects_mistakes() -> None:
    spec = AppsSpec.from_json({"control_port": 0, "instances": [
        {"id": "a", "service": "s", "kind": "productpage",
         "upstreams": {"reviews": {"url": "http://127.0.0.1:1/r", "host": "reviews.global"}}}]})
    assert AppsSpec.from_json(spec.to_json()) == spec
    assert spec.instances[0].upstreams["reviews"].host == "reviews.global"
    with pytest.raises(SpecError, match="unique"):
        AppsSpec.from_json({"instances": [{"id": "a", "service": "s"}, {"id": "a", "service": "t"}]})
    with pytest.raises(SpecError, match="kind"):
        AppsSpec.from_json({"instances": [{"id": "a", "service": "s", "kind": "mystery"}]})
    with pytest.raises(SpecError, match="upstream URL"):
        AppsSpec.from_json({"instances": [{"id": "a", "service": "s", "upstreams": {"x": "ftp://h"}}]})


def test_spec_file_problems_name_file_line_and_field(tmp_path) -> None:
    """The spec file is typed by the model's schema (meshctl.yamlfile) before the process uses it."""
    path = tmp_path / "spec.json"
    path.write_text('{\n  "control_port": "x",\n  "instances": [\n    {"id": "a", "service": "s", "port": "80"}\n  ]\n}\n')
    with pytest.raises(SpecError) as caught:
        AppsSpec.load(path)
    text = str(caught.value)
    assert f"{path}:2:" in text and "control_port: expected an integer" in text
    assert f"{path}:4:" in text and "instances[0].port: expected an integer" in text
    path.write_text('{"instances": [{"id": "a", "service": "s", "kind": "reviews"}]}')
    assert AppsSpec.load(path).instances[0].kind == "reviews"
