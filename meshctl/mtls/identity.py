"""SPIFFE workload identities as the mesh names them: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>."""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 1123 labels for namespaces and service accounts (Kubernetes), and SPIFFE's trust-domain characters
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_TRUST_DOMAIN = re.compile(r"^[a-z0-9._-]+$")


@dataclass(frozen=True)
class SpiffeId:
    trust_domain: str
    namespace: str
    service_account: str

    @property
    def uri(self) -> str:
        return f"spiffe://{self.trust_domain}/ns/{self.namespace}/sa/{self.service_account}"

    def __str__(self) -> str:
        return self.uri

    @classmethod
    def parse(cls, uri: str) -> "SpiffeId":
        match = re.fullmatch(r"spiffe://([^/]+)/ns/([^/]+)/sa/([^/]+)", uri)
        if match is None:
            raise ValueError(f"not a workload SPIFFE id (spiffe://DOMAIN/ns/NS/sa/NAME): {uri!r}")
        return spiffe_id(*match.groups())


def spiffe_id(trust_domain: str, namespace: str, service_account: str) -> SpiffeId:
    """A checked identity: a name that is not a Kubernetes name would make a URI SAN nobody can match."""
    if not _TRUST_DOMAIN.match(trust_domain):
        raise ValueError(f"trust domain {trust_domain!r}: lower-case letters, digits, '.', '-' and '_' only")
    for what, value in (("namespace", namespace), ("service account", service_account)):
        if not _NAME.match(value) or len(value) > 253:
            raise ValueError(f"{what} {value!r} is not a Kubernetes name (RFC 1123 label)")
    return SpiffeId(trust_domain, namespace, service_account)
