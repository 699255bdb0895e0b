"""WorkloadCertificates: one certificate per identity until half its lifetime has passed, then a new one."""

from __future__ import annotations

import datetime as dt

from cryptography import x509

from meshctl.mtls import CertificateAuthority, spiffe_id
from meshctl.mtls.issuer import WorkloadCertificates

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def test_rotation_at_half_the_requested_lifetime_not_counting_the_backdating() -> None:
    certs = WorkloadCertificates(CertificateAuthority("mesh.test", now=T0), dt.timedelta(seconds=10))
    who = spiffe_id("mesh.test", "app", "web")
    first = certs.current(who, now=T0)
    assert certs.current(who, now=T0 + dt.timedelta(seconds=4)) == first
    assert certs.next_rotation() == T0 + dt.timedelta(seconds=5)
    second = certs.current(who, now=T0 + dt.timedelta(seconds=5))
    assert second.serial != first.serial
    assert certs.held() == {who: second}
    san = second.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [who.uri]
