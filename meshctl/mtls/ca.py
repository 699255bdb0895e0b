"""meshctl's certificate authority: a self-signed root that issues short-lived SPIFFE workload certificates.

All X.509 work is done by `cryptography`; nothing here encodes or signs by hand. Keys are ECDSA P-256 (what Envoy
and Istio use by default). A workload certificate carries its SPIFFE id as its only URI SAN and is good for both
ends of a mutual-TLS connection (serverAuth and clientAuth).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .identity import SpiffeId

_CLOCK_SKEW = dt.timedelta(minutes=1)  # not_before a little in the past: a peer whose clock runs behind still accepts


@dataclass(frozen=True)
class IssuedCertificate:
    identity: SpiffeId
    certificate_pem: str
    private_key_pem: str
    not_before: dt.datetime
    not_after: dt.datetime
    serial: int

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.certificate_pem.encode())


class CertificateAuthority:
    """One trust domain's root. `issue` is safe to call from several threads (no mutable state)."""

    def __init__(self, trust_domain: str, *, lifetime: dt.timedelta = dt.timedelta(days=365),
                 now: dt.datetime | None = None) -> None:
        self.trust_domain = trust_domain
        self._key = ec.generate_private_key(ec.SECP256R1())
        begin = (now or _utcnow()) - _CLOCK_SKEW
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "meshctl"),
                          x509.NameAttribute(NameOID.COMMON_NAME, f"meshctl root CA ({trust_domain})")])
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(begin).not_valid_after(begin + lifetime)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )

    @property
    def trust_bundle_pem(self) -> str:
        """What every proxy trusts: the root certificate."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def issue(self, identity: SpiffeId, lifetime: dt.timedelta, *, now: dt.datetime | None = None) -> IssuedCertificate:
        if identity.trust_domain != self.trust_domain:
            raise ValueError(f"{identity} is not in this CA's trust domain {self.trust_domain!r}")
        if lifetime <= dt.timedelta(0):
            raise ValueError("a certificate lifetime must be positive")
        key = ec.generate_private_key(ec.SECP256R1())
        begin = (now or _utcnow()) - _CLOCK_SKEW
        end = min(begin + _CLOCK_SKEW + lifetime, self.certificate.not_valid_after_utc)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))  # SPIFFE: the identity is the URI SAN, not the subject
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(begin).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity.uri)]), critical=True)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        return IssuedCertificate(identity, cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem,
                                 cert.not_valid_before_utc, cert.not_valid_after_utc, cert.serial_number)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
