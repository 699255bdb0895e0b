"""Mutual TLS between meshed proxies on real Envoy: certificates and the trust bundle over SDS (ADS), a gateway
reaching a sidecar's inbound listener with mTLS, clients without a (mesh) certificate refused, rotation re-pushed."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import ssl
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshctl.envoy.bootstrap import make_bootstrap
from meshctl.envoy.ports import free_port
from meshctl.envoy.process import EnvoyProcess
from meshctl.mtls import CertificateAuthority, spiffe_id
from meshctl.sources.files import FileSource
from meshctl.sources.workspace import Workspace
from meshctl.xds.mesh_tls import MeshedWorkload, MeshTls, RotationPusher
from meshctl.xds.service import XdsService
from meshctl.xds.translate import LISTENER_PORT_KEY
from tests.xds.conftest import Upstream, upstream  # noqa: F401 (fixture)

pytestmark = pytest.mark.envoy

TRUST_DOMAIN = "mesh.test"
GATEWAY_ROLE = "gateway"
SIDECAR_ROLE = "sidecar:app/web@c1"
CONFIG = """
apiVersion: networking.gloo.solo.io/v2
kind: VirtualGateway
metadata: {name: gw, namespace: ops}
spec:
  workloads: [{selector: {labels: {istio: ingressgateway}}}]
  listeners: [{port: {number: 8080}, http: {}}]
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: root, namespace: ops}
spec:
  hosts: ["*"]
  virtualGateways: [{name: gw, namespace: ops}]
  http:
  - name: web
    forwardTo: {destinations: [{ref: {name: web, namespace: app, cluster: c1}, port: {number: 80}}]}
---
apiVersion: meshctl.io/v1alpha1
kind: Cluster
metadata: {name: c1}
spec:
  locality: {region: r1, zone: z1}
  services:
  - name: web
    namespace: app
    labels: {app: web}
    ports: [{name: http, port: 80}]
    endpoints: [{address: 127.0.0.1, port: INBOUND, labels: {app: web}}]
"""


class Mesh:
    def __init__(self, directory: Path, app_port: int, lifetime: dt.timedelta) -> None:
        self.inbound = free_port()
        (directory / "mesh.yaml").write_text(CONFIG.replace("INBOUND", str(self.inbound)))
        self.workspace = Workspace([FileSource([directory], name="mtls-test")]).load()
        self.service = XdsService(self.workspace, listen="127.0.0.1:0")
        self.gateway_id = spiffe_id(TRUST_DOMAIN, "ops", "gateway")
        self.web_id = spiffe_id(TRUST_DOMAIN, "app", "web")
        self.tls = MeshTls.create(TRUST_DOMAIN, lifetime, {GATEWAY_ROLE: self.gateway_id, SIDECAR_ROLE: self.web_id},
                                  [MeshedWorkload(SIDECAR_ROLE, self.web_id, self.inbound, app_port)])
        self.service.mesh_tls = self.tls
        self.service.start()
        self.envoys: list[EnvoyProcess] = []

    def envoy(self, node_id: str, role: str) -> tuple[EnvoyProcess, int]:
        listener, admin = free_port(), free_port()
        bootstrap = make_bootstrap(node_id, role, ("r1", "z1", ""), "127.0.0.1", self.service.bound_port, admin,
                                   node_metadata={LISTENER_PORT_KEY: listener})
        process = EnvoyProcess(node_id, bootstrap=bootstrap, admin_port=admin)
        self.envoys.append(process)
        process.start().wait_live(20)
        return process, listener

    def stop(self) -> None:
        for e in self.envoys:
            e.stop()
        self.service.stop()


@pytest.fixture
def mesh(upstream: Upstream, tmp_path: Path) -> Iterator[Mesh]:  # noqa: F811 (fixture)
    m = Mesh(tmp_path, upstream.port, dt.timedelta(seconds=8))
    try:
        yield m
    finally:
        m.stop()


def get(port: int, path: str, context: ssl.SSLContext | None = None) -> tuple[int, str]:
    conn: http.client.HTTPConnection
    if context is None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    else:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=3, context=context)
    try:
        conn.request("GET", path, headers={"Host": "web.test"})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def until(ask, done, limit_s: float = 20.0):  # type: ignore[no-untyped-def]
    """Ask (bounded in time and count) until `done(answer)`; the last answer or exception."""
    deadline, last = time.monotonic() + limit_s, None
    for _ in range(400):
        try:
            last = ask()
        except (OSError, http.client.HTTPException) as error:
            last = error
        if done(last) or time.monotonic() > deadline:
            return last
        time.sleep(0.05)
    return last


def client_context(ca_pem: str, cert_pem: str | None = None, key_pem: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca_pem)
    context.check_hostname = False  # SPIFFE identities are URI SANs, not host names
    if cert_pem and key_pem:
        with tempfile.TemporaryDirectory() as d:
            (Path(d) / "c.pem").write_text(cert_pem)
            (Path(d) / "k.pem").write_text(key_pem)
            context.load_cert_chain(str(Path(d) / "c.pem"), str(Path(d) / "k.pem"))
    return context


def sidecar_serial(sidecar: EnvoyProcess) -> str | None:
    certs = json.loads(sidecar.admin.get("/certs")).get("certificates", [])
    chains = [c for entry in certs for c in entry.get("cert_chain", [])]
    return chains[0]["serial_number"] if chains else None


def test_gateway_reaches_the_sidecar_over_mtls_and_uncertified_clients_are_refused(mesh: Mesh) -> None:
    _gateway, gateway_port = mesh.envoy("gateway-1", GATEWAY_ROLE)
    sidecar, _ = mesh.envoy("web-sidecar", SIDECAR_ROLE)
    answer = until(lambda: get(gateway_port, "/hello"), lambda a: a == (200, "upstream /hello"))
    assert answer == (200, "upstream /hello")
    # the sidecar presents the mesh identity it got over SDS
    san = json.loads(sidecar.admin.get("/certs"))["certificates"][0]["cert_chain"][0]["subject_alt_names"]
    assert {"uri": mesh.web_id.uri} in san

    bundle = mesh.tls.certificates.ca.trust_bundle_pem
    # a certified mesh client is accepted ...
    client = mesh.tls.certificates.ca.issue(spiffe_id(TRUST_DOMAIN, "app", "client"), dt.timedelta(minutes=5))
    accepted = get(mesh.inbound, "/direct", client_context(bundle, client.certificate_pem, client.private_key_pem))
    assert accepted == (200, "upstream /direct")
    # ... one without a certificate, with a certificate of another CA, or in plain text is not
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
        get(mesh.inbound, "/no-cert", client_context(bundle))
    stranger_ca = CertificateAuthority(TRUST_DOMAIN)
    stranger = stranger_ca.issue(spiffe_id(TRUST_DOMAIN, "app", "client"), dt.timedelta(minutes=5))
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
        get(mesh.inbound, "/stranger", client_context(bundle, stranger.certificate_pem, stranger.private_key_pem))
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        get(mesh.inbound, "/plain")


def test_certificates_rotate_through_sds_and_traffic_keeps_flowing(mesh: Mesh) -> None:
    _gateway, gateway_port = mesh.envoy("gateway-1", GATEWAY_ROLE)
    sidecar, _ = mesh.envoy("web-sidecar", SIDECAR_ROLE)
    assert until(lambda: get(gateway_port, "/a"), lambda a: a == (200, "upstream /a")) == (200, "upstream /a")
    first = until(lambda: sidecar_serial(sidecar), lambda s: s is not None)
    assert first is not None
    pusher = RotationPusher(mesh.tls, mesh.service.refresh, poll_s=0.2).start()
    try:
        # lifetime 8 s: renewed after about 4 s, pushed through SDS
        second = until(lambda: sidecar_serial(sidecar), lambda s: s not in (None, first), limit_s=20)
        assert second not in (None, first)
        held = mesh.tls.certificates.held()[mesh.web_id]
        assert int(second, 16) == held.serial
        assert until(lambda: get(gateway_port, "/b"), lambda a: a == (200, "upstream /b")) == (200, "upstream /b")
    finally:
        pusher.stop()
