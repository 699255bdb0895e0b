"""Virtual host selection follows Envoy's domain search order."""

from __future__ import annotations

from typing import Callable

import pytest

from meshctl.sandbox.engine import Sandbox

from .conftest import gateway_yaml, vhost_yaml

DIRECT = """  - name: r
    matchers: [{uri: {prefix: /}}]
    directResponseAction: {status: 200, body: %s}
"""


@pytest.fixture
def domains_sandbox(sandbox_from: Callable[..., Sandbox]) -> Sandbox:
    return sandbox_from(
        gateway_yaml(),
        vhost_yaml("exact", ["www.example.com", "api.example.com:8080"], DIRECT % "exact"),
        vhost_yaml("suffix-short", ["*.com"], DIRECT % "suffix-short"),
        vhost_yaml("suffix-long", ["*.example.com"], DIRECT % "suffix-long"),
        vhost_yaml("prefix", ["shop.*"], DIRECT % "prefix"),
        vhost_yaml("any", ["*"], DIRECT % "any"),
    )


@pytest.mark.parametrize("authority, vhost, kind", [
    ("www.example.com", "gloo-mesh/exact", "exact"),
    ("WWW.Example.COM:8080", "gloo-mesh/exact", "exact"),  # case-insensitive, port stripped
    # a domain written with its port never matches: the listener strips the port first (strip_any_host_port),
    # as the xDS differential test shows with real Envoy; the longest suffix wildcard takes it instead
    ("api.example.com:8080", "gloo-mesh/suffix-long", "suffix"),
    ("img.example.com", "gloo-mesh/suffix-long", "suffix"),  # the longest suffix wins
    ("example.com", "gloo-mesh/suffix-short", "suffix"),  # '*.example.com' needs a non-empty label
    ("shop.example.org", "gloo-mesh/prefix", "prefix"),  # suffix wildcards are tried before prefix ones
    ("shop.", "gloo-mesh/any", "any"),  # a wildcard never matches an empty string
    ("localhost", "gloo-mesh/any", "any"),
])
def test_domain_search_order(domains_sandbox: Sandbox, authority: str, vhost: str, kind: str) -> None:
    result = domains_sandbox.evaluate(_req(authority))
    assert result.virtual_host is not None
    assert (result.virtual_host.name, result.host.kind if result.host else None) == (vhost, kind)
    assert result.body == vhost.split("/")[1]


def test_no_domain_claims_the_host(sandbox_from: Callable[..., Sandbox]) -> None:
    sb = sandbox_from(gateway_yaml(), vhost_yaml("only", ["www.example.com"], DIRECT % "x"))
    result = sb.evaluate(_req("other.example.com"))
    assert not result.matched and result.virtual_host is None and result.status == 404
    assert "claims host 'other.example.com'" in result.reason and "www.example.com" in result.reason


def _req(authority: str):  # type: ignore[no-untyped-def]
    from meshctl.routing.evaluate import Request

    return Request("GET", authority, "/x")
