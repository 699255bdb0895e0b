"""Route options, redirects, rewrites, weights, sidecar traffic shift and locality failover, served by real Envoy."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from envoy_data_plane.envoy.config.core.v3 import HealthStatus
from fixtures_e2e import mesh_harness, upstreams  # noqa: F401 (fixtures)

from meshctl.envoy.ports import free_port
from meshctl.envoy.process import EnvoyProcess

pytestmark = pytest.mark.envoy

ROUTING = """
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualGateway
metadata: {name: gw, namespace: app}
spec:
  connectionHandlers:
  - http:
      routeConfig:
      - virtualHostSelector: {namespaces: [app]}
---
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualHost
metadata: {name: features, namespace: app}
spec:
  domains: [features.test]
  routes:
  - name: redirect-full
    matchers: [{uri: {exact: /old}}]
    redirectAction: {hostRedirect: new.test, pathRedirect: /new, responseCode: PERMANENT_REDIRECT,
                     httpsRedirect: true, stripQuery: true}
  - name: redirect-prefix
    matchers: [{uri: {prefix: /docs/}}]
    redirectAction: {prefixRewrite: /manual/, responseCode: FOUND}
  - name: exact-rewrite
    matchers: [{uri: {exact: /api/v1/status}}]
    routeAction:
      destinations: [{kubeService: {name: web, namespace: app, clusterName: c1, subset: {version: v1}}}]
      pathRewrite: /healthz
  - name: regex-rewrite
    matchers: [{uri: {regex: "/item/[0-9]+"}}]
    routeAction:
      destinations: [{kubeService: {name: web, namespace: app, clusterName: c1, subset: {version: v2}}}]
      pathRewrite: /item
  - name: split
    matchers: [{uri: {prefix: /split}}]
    routeAction:
      destinations:
      - {weight: 50, kubeService: {name: web, namespace: app, clusterName: c1, subset: {version: v1}}}
      - {weight: 50, kubeService: {name: web, namespace: app, clusterName: c1, subset: {version: v2}}}
  - name: headers
    matchers: [{uri: {prefix: /hdr}}]
    routeAction:
      destinations: [{kubeService: {name: web, namespace: app, clusterName: c1, subset: {version: v1}}}]
    options:
      headerManipulation:
        appendRequestHeaders: {x-added: "yes"}
        removeRequestHeaders: [x-remove-me]
        appendResponseHeaders: {x-resp: r}
        removeResponseHeaders: [x-upstream]
  - name: fault
    matchers: [{uri: {prefix: /fault}}]
    routeAction:
      destinations: [{kubeService: {name: web, namespace: app, clusterName: c1, subset: {version: v1}}}]
    options: {faultInjection: {abort: {httpStatus: 418}, percentage: 100}}
  - name: cors
    matchers: [{uri: {prefix: /cors}}]
    routeAction:
      destinations: [{kubeService: {name: web, namespace: app, clusterName: c1, subset: {version: v1}}}]
    options:
      corsPolicy: {allowOrigins: [{exact: "https://ok.test"}], allowMethods: [GET, PUT], maxAge: 60s}
  - name: mirror
    matchers: [{uri: {prefix: /mirror}}]
    routeAction:
      destinations: [{kubeService: {name: web, namespace: app, clusterName: c1, subset: {version: v1}}}]
    options: {mirror: {kubeService: {name: sink, namespace: app, clusterName: c1}, percentage: 100}}
  - name: slow
    matchers: [{uri: {prefix: /slow}}]
    routeAction:
      destinations: [{kubeService: {name: slow, namespace: app, clusterName: c1}}]
    options: {requestTimeout: 200ms}
  - name: flaky
    matchers: [{uri: {prefix: /flaky}}]
    routeAction:
      destinations: [{kubeService: {name: flaky, namespace: app, clusterName: c1}}]
    options: {retries: {attempts: 2, perTryTimeout: 1s}}
  - name: method-post
    matchers: [{uri: {prefix: /m}, method: POST}]
    directResponseAction: {status: 201, body: posted}
---
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualDestination
metadata: {name: web-global, namespace: app}
spec:
  hostname: web.global
  port: {number: 80, protocol: http}
  localized:
    outlierDetection: {consecutiveErrors: 1, maxEjectionPercent: 100, interval: 1s, baseEjectionTime: 30s}
    destinationSelectors:
    - kubeServiceMatcher: {labels: {app: web}}
---
apiVersion: networking.mesh.gloo.solo.io/v1
kind: TrafficPolicy
metadata: {name: web-shift, namespace: app}
spec:
  destinationSelector:
  - kubeServiceRefs: {services: [{clusterName: c1, name: web, namespace: app}]}
  policy:
    trafficShift:
      destinations: [{virtualDestination: {name: web-global, namespace: app}}]
---
apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {name: db, namespace: app}
spec:
  hosts: [db.external]
  ports: [{number: 80, name: http, protocol: HTTP}]
  selector: {app: db}
---
apiVersion: networking.gloo.solo.io/v2
kind: ExternalEndpoint
metadata: {name: db-east, namespace: app, labels: {app: db}}
spec:
  address: 127.0.0.1
  ports: [{name: http, number: DB_PORT}]
  locality: {region: us-east-1, zone: us-east-1a}
"""

DISCOVERY = """
apiVersion: meshctl.io/v1alpha1
kind: Cluster
metadata: {name: c1}
spec:
  locality: {region: us-east-1, zone: us-east-1a}
  services:
  - name: web
    namespace: app
    labels: {app: web}
    ports: [{name: http, port: 80}]
    endpoints:
    - {address: 127.0.0.1, port: WEB_V1, labels: {app: web, version: v1}}
    - {address: 127.0.0.1, port: WEB_V2, labels: {app: web, version: v2}}
  - name: sink
    namespace: app
    ports: [{name: http, port: 80}]
    endpoints: [{address: 127.0.0.1, port: SINK}]
  - name: slow
    namespace: app
    ports: [{name: http, port: 80}]
    endpoints: [{address: 127.0.0.1, port: SLOW}]
  - name: flaky
    namespace: app
    ports: [{name: http, port: 80}]
    endpoints: [{address: 127.0.0.1, port: FLAKY}]
---
apiVersion: meshctl.io/v1alpha1
kind: Cluster
metadata: {name: c2}
spec:
  locality: {region: us-west-1, zone: us-west-1a}
  services:
  - name: web
    namespace: app
    labels: {app: web}
    ports: [{name: http, port: 80}]
    endpoints:
    - {address: 127.0.0.1, port: WEB_V3, labels: {app: web, version: v3}}
"""


@pytest.fixture
def features(tmp_path: Path, upstreams, mesh_harness):  # noqa: F811
    for name in ("web-v1", "web-v2", "web-v3", "sink", "db"):
        upstreams.start(name)
    upstreams.start("slow", delay=1.0)
    upstreams.start("flaky", fail_first=1)
    values = {"WEB_V1": "web-v1", "WEB_V2": "web-v2", "WEB_V3": "web-v3", "SINK": "sink", "SLOW": "slow",
              "FLAKY": "flaky", "DB_PORT": "db"}
    text = ROUTING + "---" + DISCOVERY
    for placeholder, name in values.items():
        text = text.replace(placeholder, str(upstreams.port(name)))
    (tmp_path / "features.yaml").write_text(text)
    gateway_port = free_port()
    harness = mesh_harness([tmp_path], listener_ports={"app/gw": gateway_port})
    return harness, gateway_port


def nothing_unknown_or_deprecated(envoy: EnvoyProcess) -> None:
    """Envoy (started with check_unknown_fields) found no field it does not know and no deprecated one in what we
    sent: the walk meshctl's launcher skips by default would have had nothing to say."""
    stats = envoy.admin.stats(r"^(server\.dynamic_unknown_fields|runtime\.deprecated_feature_use)$")
    assert stats == {"server.dynamic_unknown_fields": 0, "runtime.deprecated_feature_use": 0}


def test_gateway_route_features(features, upstreams) -> None:  # noqa: F811
    harness, port = features
    envoy = harness.envoy("gateway-1", "gateway:app/gw", ("us-east-1", "us-east-1a", ""), check_unknown_fields=True)
    client = harness.client(port)
    host = "features.test"
    client.until("/api/v1/status", lambda a: a[0] == 200, host=host)

    status, _, headers = client.request("/old?x=1", host)
    assert status == 308 and headers["location"] == "https://new.test/new"
    status, _, headers = client.request("/docs/intro?q=2", host)
    assert status == 302 and headers["location"] == "http://features.test/manual/intro?q=2"

    assert client.get("/api/v1/status?full=1", host) == (200, "web-v1 /healthz?full=1")  # whole path, query kept
    assert client.get("/item/42", host) == (200, "web-v2 /item")
    assert client.get("/item/abc", host)[0] == 404  # the regex does not take it, nothing else does

    split = {client.get("/split", host)[1].split()[0] for _ in range(30)}
    assert split == {"web-v1", "web-v2"}

    status, body, headers = client.request("/hdr", host, headers={"x-remove-me": "1"})
    hit = upstreams.hits_of("web-v1")[-1]
    assert status == 200 and hit.path == "/hdr"
    assert hit.headers.get("x-added") == "yes" and "x-remove-me" not in hit.headers
    assert headers.get("x-resp") == "r" and "x-upstream" not in headers

    status, _, _ = client.request("/fault", host)
    assert status == 418

    status, _, headers = client.request("/cors", host, method="OPTIONS", headers={
        "origin": "https://ok.test", "access-control-request-method": "PUT"})
    assert status == 200 and headers.get("access-control-allow-origin") == "https://ok.test"
    assert "PUT" in headers.get("access-control-allow-methods", "") and headers.get("access-control-max-age") == "60"
    status, _, headers = client.request("/cors", host, method="OPTIONS", headers={
        "origin": "https://evil.test", "access-control-request-method": "PUT"})
    assert "access-control-allow-origin" not in headers

    assert client.get("/mirror/1", host)[0] == 200
    deadline = time.monotonic() + 5
    while not upstreams.hits_of("sink") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [h.path for h in upstreams.hits_of("sink")] == ["/mirror/1"]

    started = time.monotonic()
    assert client.get("/slow", host)[0] == 504
    assert time.monotonic() - started < 0.9  # the 200 ms route timeout, not the upstream's 1 s

    assert client.get("/flaky", host) == (200, "flaky /flaky")  # first answer 503, retried
    assert len(upstreams.hits_of("flaky")) == 2

    assert client.get("/m", host, method="POST") == (201, "posted")
    assert client.get("/m", host, method="GET")[0] == 404
    nothing_unknown_or_deprecated(envoy)


@pytest.mark.parametrize("delta", [False, True], ids=["sotw", "delta"])
def test_sidecar_traffic_shift_and_locality_failover(features, upstreams, delta: bool) -> None:  # noqa: F811
    harness, _ = features
    sidecar_port = harness.service.options.sidecar_port
    envoy = harness.envoy("client-1", "sidecar:app/client@c1", ("us-east-1", "us-east-1a", ""), delta=delta,
                          check_unknown_fields=True)
    client = harness.client(sidecar_port)
    host = "web.app.svc.cluster.local"
    client.until("/", lambda a: a[0] == 200, host=host)

    # trafficShift: web in c1 → VirtualDestination web.global, priorities relative to us-east-1a: c1 first
    local = {client.get("/p", host)[1].split()[0] for _ in range(20)}
    assert local == {"web-v1", "web-v2"}
    assert {client.get("/p", "web.global")[1].split()[0] for _ in range(10)} <= {"web-v1", "web-v2"}
    assert client.get("/x", "db.external") == (200, "db /x")  # ExternalService via its ExternalEndpoint
    assert client.get("/x", "web.app.svc.c2.global") == (200, "web-v3 /x")  # the federated name of c2's web

    # EDS-unhealthy local endpoints: P0 is empty, traffic fails over to c2's v3
    overrides = {("127.0.0.1", upstreams.port("web-v1")): HealthStatus.UNHEALTHY,
                 ("127.0.0.1", upstreams.port("web-v2")): HealthStatus.UNHEALTHY}
    harness.service.set_health_overrides(overrides).result(10)
    harness.service.wait_synced(10)
    assert client.until("/p", lambda a: a[1].startswith("web-v3"), host=host)[1] == "web-v3 /p"
    assert {client.get("/p", host)[1].split()[0] for _ in range(10)} == {"web-v3"}

    harness.service.set_health_overrides({}).result(10)
    harness.service.wait_synced(10)
    assert client.until("/p", lambda a: not a[1].startswith("web-v3"), host=host)[1].split()[0] in ("web-v1", "web-v2")
    nothing_unknown_or_deprecated(envoy)
