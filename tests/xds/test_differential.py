"""Differential test: random route trees through real Envoy vs the sandbox's first-match answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_e2e import DIFF_NS, mesh_harness, run_differential  # noqa: F401 (fixture)

from meshctl.envoy.ports import free_port
from meshctl.routing.evaluate import Request, first_failure
from meshctl.routing.matchers import EffectiveMatcher, HeaderCondition
from meshctl.xds.cache import NodeInfo

pytestmark = pytest.mark.envoy

CONFIGS = 20
REQUESTS_PER_CONFIG = 110


def test_envoy_answers_like_the_sandbox(tmp_path: Path, mesh_harness) -> None:  # noqa: F811
    config = tmp_path / "config.yaml"
    config.write_text("")
    port = free_port()
    harness = mesh_harness([tmp_path], listener_ports={f"{DIFF_NS}/gw": port})
    harness.envoy("diff-1")
    client = harness.client(port)
    total, disagreements = run_differential(harness, config, client, range(1, CONFIGS + 1), REQUESTS_PER_CONFIG)
    assert total >= 2000
    report = "\n".join(f"config {d.config} ({d.kind}): {d.request.describe()}: sandbox {d.sandbox}, other {d.other}"
                       for d in disagreements[:10])
    assert not disagreements, f"{len(disagreements)} of {total} answers differ:\n{report}"


# Found by this test and fixed in meshctl/routing/evaluate.py; kept so the sandbox cannot drift back.
def test_sandbox_fails_inverted_value_match_on_missing_header() -> None:
    matcher = EffectiveMatcher("prefix", "/", headers=(HeaderCondition("x-a", "1", invert=True),))
    assert first_failure(matcher, Request(path="/")) is not None  # Envoy 1.40: no match without the header


def test_sandbox_matches_query_values_undecoded() -> None:
    from meshctl.routing.matchers import QueryCondition

    matcher = EffectiveMatcher("prefix", "/", query=(QueryCondition("q", "x%20y"),))
    assert first_failure(matcher, Request(path="/?q=x%20y")) is None  # Envoy compares the raw value


DOMAIN_WITH_PORT = """
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualGateway
metadata: {name: gw, namespace: ns}
spec:
  connectionHandlers:
  - http:
      routeConfig:
      - virtualHostSelector: {namespaces: [ns]}
---
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualHost
metadata: {name: vh, namespace: ns}
spec:
  domains: ["a.test:8080"]
  routes:
  - matchers: [{uri: {prefix: /}}]
    directResponseAction: {status: 200, body: with-port}
"""


def test_domain_with_port_never_matches_through_envoy(tmp_path: Path, mesh_harness) -> None:  # noqa: F811
    (tmp_path / "config.yaml").write_text(DOMAIN_WITH_PORT)
    port = free_port()
    harness = mesh_harness([tmp_path], listener_ports={"ns/gw": port})
    harness.envoy("ports-1")
    client = harness.client(port)
    assert client.until("/", lambda a: a[0] == 404, host="a.test:8080") == (404, "")  # strip_any_host_port
    assert client.get("/", host="a.test") == (404, "")
    notes = harness.service.resources_for(NodeInfo("ports-1", "gateway")).notes
    assert any("'a.test:8080' has a port" in n for n in notes)  # and translation says so


def test_sandbox_domain_with_port_never_matches() -> None:
    from meshctl.model.snapshot import snapshot_from_text
    from meshctl.sandbox import Sandbox

    result = Sandbox(snapshot_from_text(DOMAIN_WITH_PORT)).evaluate(Request(authority="a.test:8080", path="/"))
    assert result.status == 404
