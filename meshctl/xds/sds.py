"""SDS resources and TLS transport sockets for mutual TLS between meshed proxies.

Each proxy gets two Secrets over ADS: `default` (its workload certificate and key) and `ROOTCA` (the trust
bundle), the names Istio uses. Transport sockets refer to them by SDS name, so a rotation re-pushes only the
Secret; peers are checked by their SPIFFE URI SAN."""

from __future__ import annotations

from envoy_data_plane.envoy.config.core.v3 import DataSource, TransportSocket
from envoy_data_plane.envoy.extensions.transport_sockets.tls.v3 import (
    CertificateValidationContext,
    CommonTlsContext,
    CommonTlsContextCombinedCertificateValidationContext,
    DownstreamTlsContext,
    SdsSecretConfig,
    Secret,
    SubjectAltNameMatcher,
    SubjectAltNameMatcherSanType,
    TlsCertificate,
    UpstreamTlsContext,
)
from envoy_data_plane.envoy.type.matcher.v3 import StringMatcher

from ..mtls.ca import IssuedCertificate
from .translate_clusters import ads_config_source
from .translate_proto import msg
from .translate_routes import _any

SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
CERTIFICATE_SECRET = "default"
TRUST_BUNDLE_SECRET = "ROOTCA"
TLS_SOCKET = "envoy.transport_sockets.tls"


def secrets(certificate: IssuedCertificate, trust_bundle_pem: str) -> list[Secret]:
    """The proxy's certificate (chain + key) and the trust bundle, as SDS Secrets."""
    return [
        msg(Secret, name=CERTIFICATE_SECRET, tls_certificate=msg(
            TlsCertificate,
            certificate_chain=msg(DataSource, inline_string=certificate.certificate_pem),
            private_key=msg(DataSource, inline_string=certificate.private_key_pem))),
        msg(Secret, name=TRUST_BUNDLE_SECRET, validation_context=msg(
            CertificateValidationContext, trusted_ca=msg(DataSource, inline_string=trust_bundle_pem))),
    ]


def _sds(name: str) -> SdsSecretConfig:
    return msg(SdsSecretConfig, name=name, sds_config=ads_config_source())


def _common(peer_match: list[StringMatcher]) -> CommonTlsContext:
    validation = msg(CertificateValidationContext, match_typed_subject_alt_names=[
        msg(SubjectAltNameMatcher, san_type=SubjectAltNameMatcherSanType.URI, matcher=m) for m in peer_match])
    return msg(CommonTlsContext,
               tls_certificate_sds_secret_configs=[_sds(CERTIFICATE_SECRET)],
               combined_validation_context=msg(CommonTlsContextCombinedCertificateValidationContext,
                                               default_validation_context=validation,
                                               validation_context_sds_secret_config=_sds(TRUST_BUNDLE_SECRET)))


def upstream_mtls(peer_uris: list[str]) -> TransportSocket:
    """A client side that presents this proxy's certificate and accepts only the given SPIFFE ids."""
    context = msg(UpstreamTlsContext, common_tls_context=_common([msg(StringMatcher, exact=u) for u in peer_uris]))
    return msg(TransportSocket, name=TLS_SOCKET, typed_config=_any(context))


def downstream_mtls(trust_domain: str) -> TransportSocket:
    """A server side that requires a client certificate from the trust domain (any workload of the mesh)."""
    context = msg(DownstreamTlsContext, require_client_certificate=True,
                  common_tls_context=_common([msg(StringMatcher, prefix=f"spiffe://{trust_domain}/")]))
    return msg(TransportSocket, name=TLS_SOCKET, typed_config=_any(context))
