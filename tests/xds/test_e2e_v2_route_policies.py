"""Gloo v2 route policies observed through a real Envoy gateway: a RetryTimeoutPolicy selected by route label
retries a failing upstream (two hits, one 200), a FaultInjectionPolicy aborts with its status."""

from __future__ import annotations

from pathlib import Path

from fixtures_e2e import mesh_harness, upstreams  # noqa: F401 (fixtures)

from meshctl.envoy.ports import free_port

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
metadata: {name: api, namespace: app, labels: {team: app}}
spec:
  hosts: [policies.test]
  virtualGateways: [{name: gw}]
  http:
  - name: flaky
    labels: {retry: "on"}
    matchers: [{uri: {prefix: /flaky}}]
    forwardTo: {destinations: [{ref: {name: flaky}, port: {number: 80}}]}
  - name: broken
    labels: {fault: abort}
    matchers: [{uri: {prefix: /broken}}]
    forwardTo: {destinations: [{ref: {name: flaky}, port: {number: 80}}]}
---
apiVersion: resilience.policy.gloo.solo.io/v2
kind: RetryTimeoutPolicy
metadata: {name: retries, namespace: app}
spec:
  applyToRoutes: [{route: {labels: {retry: "on"}}}]
  config: {retries: {attempts: 2, retryOn: 5xx}}
---
apiVersion: resilience.policy.gloo.solo.io/v2
kind: FaultInjectionPolicy
metadata: {name: abort, namespace: app}
spec:
  applyToRoutes: [{route: {labels: {fault: abort}}}]
  config: {abort: {httpStatus: 418}}
---
apiVersion: meshctl.io/v1alpha1
kind: Cluster
metadata: {name: c1}
spec:
  locality: {region: us-east-1, zone: us-east-1a}
  services:
  - name: flaky
    namespace: app
    ports: [{name: http, port: 80}]
    endpoints: [{address: 127.0.0.1, port: FLAKY}]
"""


def test_retry_and_fault_policies_on_a_real_gateway(tmp_path: Path, upstreams, mesh_harness) -> None:  # noqa: F811
    upstreams.start("flaky", fail_first=1)
    (tmp_path / "mesh.yaml").write_text(CONFIG.replace("FLAKY", str(upstreams.port("flaky"))))
    port = free_port()
    harness = mesh_harness([tmp_path], listener_ports={"app/gw": port})
    harness.envoy("gateway-1", "gateway:app/gw", ("us-east-1", "us-east-1a", ""))
    client = harness.client(port)
    host = "policies.test"
    client.until("/broken", lambda a: a[0] == 418, host=host, timeout=30)  # the fault: Envoy answers, no upstream
    assert upstreams.hits_of("flaky") == []
    assert client.get("/flaky/1", host) == (200, "flaky /flaky/1")  # the first answer was a 503, retried
    assert [h.path for h in upstreams.hits_of("flaky")] == ["/flaky/1", "/flaky/1"]
