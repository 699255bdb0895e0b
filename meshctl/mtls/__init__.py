"""Mutual TLS for the mesh: meshctl's own certificate authority and SPIFFE workload identities."""

from .ca import CertificateAuthority, IssuedCertificate
from .identity import SpiffeId, spiffe_id
from .rotation import needs_rotation

__all__ = ["CertificateAuthority", "IssuedCertificate", "SpiffeId", "needs_rotation", "spiffe_id"]
