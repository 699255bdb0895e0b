"""Current workload certificates per SPIFFE identity: issued on first use, re-issued at half their lifetime."""

from __future__ import annotations

import datetime as dt
import threading

from .ca import _CLOCK_SKEW, CertificateAuthority, IssuedCertificate
from .identity import SpiffeId
from .rotation import needs_rotation


class WorkloadCertificates:
    """The certificate each identity holds now. Thread-safe; `current` rotates lazily, so whoever asks after the
    renewal point (the xDS builder on its next push) gets the new certificate."""

    def __init__(self, ca: CertificateAuthority, lifetime: dt.timedelta) -> None:
        self.ca = ca
        self.lifetime = lifetime
        self._held: dict[SpiffeId, IssuedCertificate] = {}
        self._lock = threading.Lock()

    def current(self, identity: SpiffeId, now: dt.datetime | None = None) -> IssuedCertificate:
        now = now or dt.datetime.now(dt.timezone.utc)
        with self._lock:
            held = self._held.get(identity)
            if held is None or needs_rotation(_issued_at(held), held.not_after, now):
                held = self._held[identity] = self.ca.issue(identity, self.lifetime, now=now)
            return held

    def held(self) -> dict[SpiffeId, IssuedCertificate]:
        """What has been issued so far (for status displays), without rotating anything."""
        with self._lock:
            return dict(self._held)

    def next_rotation(self) -> dt.datetime | None:
        """When the first held certificate reaches its renewal point (half its lifetime)."""
        with self._lock:
            held = list(self._held.values())
        return min((_issued_at(c) + (c.not_after - _issued_at(c)) / 2 for c in held), default=None)


def _issued_at(cert: IssuedCertificate) -> dt.datetime:
    """When it was issued: not_before is back-dated for clock skew, which must not count as lifetime (a
    short-lived demo certificate would otherwise be due for renewal the moment it is issued)."""
    return min(cert.not_before + _CLOCK_SKEW, cert.not_after)
