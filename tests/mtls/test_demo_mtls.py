"""The demo's meshed proxies talk mutual TLS: gateway → productpage's sidecar with SDS-delivered SPIFFE
certificates, a client without a certificate refused, rotation visible in `meshctl demo status`."""

from __future__ import annotations

import http.client
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshctl.cli.main import main
from meshctl.demo.env_mtls import MTLS_FILE
from meshctl.demo.environment import DemoEnvironment, DemoInfo, DemoOptions
from tests.failover.conftest import get

pytestmark = pytest.mark.envoy

LIFETIME_S = 6.0  # renewed every ~3 s


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoInfo]:
    env = DemoEnvironment(Path(tmp_path_factory.mktemp("mtls-demo")), DemoOptions(cert_lifetime_s=LIFETIME_S))
    try:
        yield env.up()
    finally:
        env.down()


def status(demo: DemoInfo, capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["demo", "status", "-o", "json", "--state-dir", str(demo.state_dir)]) == 0
    return json.loads(capsys.readouterr().out)


def test_gateway_reaches_productpage_through_its_sidecar_over_mtls(demo: DemoInfo) -> None:
    entry = demo.urls["gateway-productpage"]
    answer = get(entry["url"], entry["host"])
    assert answer.status == 200, answer.body
    assert answer.body.get("service") == "productpage"


def test_a_client_without_a_certificate_is_refused(demo: DemoInfo) -> None:
    inbound = json.loads((demo.state_dir / MTLS_FILE).read_text())["workloads"][0]["inbound_port"]
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", inbound, timeout=3, context=context)
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
        try:
            conn.request("GET", "/productpage")
            conn.getresponse().read()
        finally:
            conn.close()


def test_status_shows_identities_and_expiry_and_certificates_rotate(demo: DemoInfo,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    first = {c["envoy"]: c for c in status(demo, capsys)["mtls"]}
    assert first["envoy-gateway"]["identity"] == "spiffe://meshctl.demo/ns/istio-system/sa/istio-ingressgateway"
    assert first["envoy-productpage"]["identity"] == "spiffe://meshctl.demo/ns/bookinfo/sa/productpage"
    assert all(c["expires"] for c in first.values())
    deadline = time.monotonic() + 20
    rotated = first
    while time.monotonic() < deadline:
        rotated = {c["envoy"]: c for c in status(demo, capsys)["mtls"]}
        if all(rotated[n]["serial"] != first[n]["serial"] for n in first):
            break
        time.sleep(0.5)
    assert all(rotated[n]["serial"] != first[n]["serial"] for n in first), (first, rotated)
    entry = demo.urls["gateway-productpage"]
    assert get(entry["url"], entry["host"]).status == 200  # traffic keeps flowing on the new certificates
    assert main(["demo", "status", "--state-dir", str(demo.state_dir)]) == 0
    text = capsys.readouterr().out
    assert "mTLS envoy-productpage" in text and "spiffe://meshctl.demo/ns/bookinfo/sa/productpage" in text


def test_failing_productpage_fails_the_app_behind_its_sidecar(demo: DemoInfo) -> None:
    from meshctl.demo.failover_control import controller_for_demo

    controller = controller_for_demo(demo.state_dir)
    entry = demo.urls["gateway-productpage"]
    try:
        controller.trigger("service:bookinfo/productpage", "fail")
        assert get(entry["url"], entry["host"]).status >= 500
    finally:
        controller.restore("service:bookinfo/productpage")
    deadline = time.monotonic() + 10
    while get(entry["url"], entry["host"]).status != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert get(entry["url"], entry["host"]).status == 200
