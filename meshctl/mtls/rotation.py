"""When a workload certificate is due for renewal."""

from __future__ import annotations

from datetime import datetime


def needs_rotation(not_before: datetime, not_after: datetime, now: datetime, renew_at: float = 0.5) -> bool:
    """True once `renew_at` of the certificate's lifetime has passed (half, by default, as Istio does): the new
    certificate reaches the proxy long before the old one expires, even if a push is delayed."""
    if not 0.0 < renew_at <= 1.0:
        raise ValueError("renew_at is a fraction of the lifetime, in (0, 1]")
    lifetime = (not_after - not_before).total_seconds()
    return now >= not_after or (now - not_before).total_seconds() >= renew_at * lifetime
