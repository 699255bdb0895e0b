"""`retryRemoteLocalities` of a Gloo v2 RetryTimeoutPolicy, through a real Envoy gateway: the gateway's own
locality answers 503 every time; a route whose policy sets the flag sends its third try to the next locality
and succeeds, while a route with the same policy without it spends every try on the failing locality."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_e2e import mesh_harness, upstreams  # noqa: F401 (fixtures)

from meshctl.envoy.ports import free_port

pytestmark = pytest.mark.envoy

CONFIG = """
apiVersion: networking.gloo.solo.io/v2
kind: VirtualGateway
metadata: {name: gw, namespace: app}
spec:
  workloads: [{selector: {labels: {istio: ingressgateway}}}]
  listeners: [{http: {}, port: {number: 8080}}]
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: api, namespace: app}
spec:
  hosts: [localities.test]
  virtualGateways: [{name: gw}]
  http:
  - name: remote
    labels: {retries: remote}
    matchers: [{uri: {prefix: /remote}}]
    forwardTo: {destinations: [{ref: {name: web-global}, kind: VIRTUAL_DESTINATION, port: {number: 80}}]}
  - name: local
    labels: {retries: local}
    matchers: [{uri: {prefix: /local}}]
    forwardTo: {destinations: [{ref: {name: web-global}, kind: VIRTUAL_DESTINATION, port: {number: 80}}]}
---
apiVersion: networking.gloo.solo.io/v2
kind: VirtualDestination
metadata: {name: web-global, namespace: app}
spec:
  hosts: [web.global]
  services: [{labels: {app: web}}]
  ports: [{number: 80, protocol: HTTP}]
---
apiVersion: resilience.policy.gloo.solo.io/v2
kind: RetryTimeoutPolicy
metadata: {name: remote, namespace: app}
spec:
  applyToRoutes: [{route: {labels: {retries: remote}}}]
  config: {retries: {attempts: 2, retryOn: 5xx, retryRemoteLocalities: true}}
---
apiVersion: resilience.policy.gloo.solo.io/v2
kind: RetryTimeoutPolicy
metadata: {name: local, namespace: app}
spec:
  applyToRoutes: [{route: {labels: {retries: local}}}]
  config: {retries: {attempts: 2, retryOn: 5xx}}
"""


def cluster(name: str, region: str, port: int) -> str:
    """A cluster in `region` whose web service has one endpoint on `port`."""
    return f"""---
apiVersion: meshctl.io/v1alpha1
kind: Cluster
metadata: {{name: {name}}}
spec:
  locality: {{region: {region}, zone: {region}a}}
  services:
  - name: web
    namespace: app
    labels: {{app: web}}
    ports: [{{name: http, port: 80}}]
    endpoints: [{{address: 127.0.0.1, port: {port}}}]
"""


def test_retries_leave_the_failing_locality_only_with_retry_remote_localities(
        tmp_path: Path, upstreams, mesh_harness) -> None:  # noqa: F811
    upstreams.start("east", fail_first=1000)  # the gateway's locality: 503 every time
    upstreams.start("west")
    text = CONFIG + cluster("east", "us-east-1", upstreams.port("east")) + cluster("west", "us-west-1",
                                                                                   upstreams.port("west"))
    (tmp_path / "mesh.yaml").write_text(text)
    port = free_port()
    harness = mesh_harness([tmp_path], listener_ports={"app/gw": port})
    harness.envoy("gateway-1", "gateway:app/gw", ("us-east-1", "us-east-1a", ""), check_unknown_fields=True)
    client = harness.client(port)
    host = "localities.test"
    client.until("/remote/0", lambda a: a[0] != 404, host=host, timeout=30)
    upstreams.hits.clear()

    # two tries on the original priorities (east is P0), the third leaves the tried one: west answers
    for i in range(3):
        assert client.get(f"/remote/{i}", host) == (200, f"west /remote/{i}")
    assert [h.path for h in upstreams.hits_of("east")] == [f"/remote/{i}" for i in range(3) for _ in range(2)]
    assert [h.path for h in upstreams.hits_of("west")] == ["/remote/0", "/remote/1", "/remote/2"]

    upstreams.hits.clear()
    assert client.get("/local/0", host)[0] == 503  # every try on east, the only host of P0
    assert [h.path for h in upstreams.hits_of("east")] == ["/local/0"] * 3
    assert upstreams.hits_of("west") == []
