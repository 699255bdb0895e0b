"""meshctl's CA: workload certificates verify against the trust bundle (and only against it), carry the SPIFFE id,
expire when they say, and work in a real mutual-TLS handshake on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from meshctl.mtls import CertificateAuthority, needs_rotation, spiffe_id
from meshctl.mtls.identity import SpiffeId

NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority("cluster.local", now=NOW)


def verify(ca: CertificateAuthority, cert: x509.Certificate, at: dt.datetime) -> list[str]:
    verifier = PolicyBuilder().store(Store([ca.certificate])).time(at).build_client_verifier()
    verified = verifier.verify(cert, [])
    return [n.value for n in verified.subjects or [] if isinstance(n, x509.UniformResourceIdentifier)]


def test_issued_certificate_verifies_and_names_the_workload(ca: CertificateAuthority) -> None:
    identity = spiffe_id("cluster.local", "bookinfo", "productpage")
    issued = ca.issue(identity, dt.timedelta(minutes=10), now=NOW)
    assert verify(ca, issued.certificate, NOW) == ["spiffe://cluster.local/ns/bookinfo/sa/productpage"]
    assert issued.not_after - NOW == dt.timedelta(minutes=10)
    assert issued.not_before < NOW  # a little clock skew is tolerated
    with pytest.raises(VerificationError):
        verify(ca, issued.certificate, NOW + dt.timedelta(minutes=11))  # expired


def test_another_ca_is_not_trusted(ca: CertificateAuthority) -> None:
    other = CertificateAuthority("cluster.local", now=NOW)
    issued = other.issue(spiffe_id("cluster.local", "bookinfo", "ratings"), dt.timedelta(hours=1), now=NOW)
    with pytest.raises(VerificationError):
        verify(ca, issued.certificate, NOW)


def test_identities_outside_the_trust_domain_are_refused(ca: CertificateAuthority) -> None:
    with pytest.raises(ValueError, match="trust domain"):
        ca.issue(spiffe_id("other.domain", "bookinfo", "ratings"), dt.timedelta(hours=1))
    with pytest.raises(ValueError, match="not a Kubernetes name"):
        spiffe_id("cluster.local", "Bookinfo", "ratings")
    with pytest.raises(ValueError, match="positive"):
        ca.issue(spiffe_id("cluster.local", "a", "b"), dt.timedelta(0))
    assert SpiffeId.parse("spiffe://cluster.local/ns/a/sa/b") == spiffe_id("cluster.local", "a", "b")
    with pytest.raises(ValueError):
        SpiffeId.parse("spiffe://cluster.local/a/b")


@pytest.mark.parametrize(("minutes", "expected"), [(0, False), (4, False), (5, True), (9, True), (11, True)])
def test_rotation_at_half_the_lifetime(minutes: int, expected: bool) -> None:
    start = NOW
    assert needs_rotation(start, start + dt.timedelta(minutes=10), start + dt.timedelta(minutes=minutes)) is expected


def _write(tmp: Path, name: str, text: str) -> str:
    path = tmp / name
    path.write_text(text)
    return str(path)


def test_mutual_tls_handshake_accepts_a_workload_and_refuses_a_client_without_certificate(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    ca = CertificateAuthority("cluster.local", now=now)
    server_cert = ca.issue(spiffe_id("cluster.local", "bookinfo", "reviews"), dt.timedelta(minutes=5), now=now)
    client_cert = ca.issue(spiffe_id("cluster.local", "bookinfo", "productpage"), dt.timedelta(minutes=5), now=now)
    bundle = _write(tmp_path, "ca.pem", ca.trust_bundle_pem)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(_write(tmp_path, "s.pem", server_cert.certificate_pem),
                               _write(tmp_path, "s.key", server_cert.private_key_pem))
    server_ctx.load_verify_locations(bundle)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    peers: list[object] = []

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]

    def serve(count: int) -> None:
        for _ in range(count):
            conn, _ = listener.accept()
            try:
                with server_ctx.wrap_socket(conn, server_side=True) as tls:
                    peers.append(tls.getpeercert())
                    tls.sendall(b"ok")
            except (ssl.SSLError, OSError) as exc:
                peers.append(exc)

    thread = threading.Thread(target=serve, args=(2,), daemon=True)
    thread.start()
    try:
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_ctx.check_hostname = False  # SPIFFE: the peer is checked by its URI SAN, not a host name
        client_ctx.load_verify_locations(bundle)
        client_ctx.load_cert_chain(_write(tmp_path, "c.pem", client_cert.certificate_pem),
                                   _write(tmp_path, "c.key", client_cert.private_key_pem))
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                client_ctx.wrap_socket(raw) as tls:
            assert tls.recv(2) == b"ok"
            san = dict(tls.getpeercert()["subjectAltName"])
            assert san["URI"] == "spiffe://cluster.local/ns/bookinfo/sa/reviews"

        anonymous = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        anonymous.check_hostname = False
        anonymous.load_verify_locations(bundle)
        with pytest.raises((ssl.SSLError, ConnectionError)):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
                    anonymous.wrap_socket(raw) as tls:
                tls.recv(2)  # TLS 1.3: the refusal arrives with the first read
    finally:
        thread.join(timeout=10)
        listener.close()
    assert dict(peers[0]["subjectAltName"])["URI"] == "spiffe://cluster.local/ns/bookinfo/sa/productpage"
    assert isinstance(peers[1], ssl.SSLError)
