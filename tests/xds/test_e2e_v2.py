"""Gloo v2 actions through a real Envoy: weighted destinations with the R14 remainder, regexRewrite, hostRewrite,
pathRewrite, redirects with their response codes, direct responses, a VirtualDestination port, and a broken
route's 500 replacement — each answer also checked against the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshctl.envoy.ports import free_port
from meshctl.model.snapshot import load_snapshot
from meshctl.routing.evaluate import Request
from meshctl.sandbox import Sandbox

from fixtures_e2e import mesh_harness, upstreams  # noqa: F401 (fixtures)

pytestmark = pytest.mark.envoy

CONFIG = """
apiVersion: networking.gloo.solo.io/v2
kind: VirtualGateway
metadata: {name: gw, namespace: ops}
spec:
  listeners:
  - http: {}
    port: {number: 80}
    allowedRouteTables: [{host: '*.example.com'}]
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: root, namespace: ops}
spec:
  hosts: [www.example.com]
  virtualGateways: [{name: gw}]
  http:
  - name: split
    matchers: [{uri: {prefix: /split}}]
    forwardTo:
      destinations:
      - {ref: {name: a, namespace: apps}, weight: 80}
      - {ref: {name: b, namespace: apps}}
  - name: regex
    matchers: [{uri: {prefix: /rx/}}]
    forwardTo:
      regexRewrite: {pattern: {regex: '^/rx/([a-z]+)$'}, substitution: '/new/\\1'}
      destinations: [{ref: {name: a, namespace: apps}}]
  - name: host
    matchers: [{uri: {exact: /host}}]
    forwardTo:
      hostRewrite: rewritten.internal
      pathRewrite: /h
      destinations: [{ref: {name: b, namespace: apps}}]
  - name: vd
    matchers: [{uri: {prefix: /vd}}]
    forwardTo:
      destinations: [{ref: {name: b-vd, namespace: apps}, kind: VIRTUAL_DESTINATION, port: {number: 9000}}]
  - name: moved
    matchers: [{uri: {prefix: /old}}]
    redirect: {hostRedirect: new.example.com, pathRedirect: /new, responseCode: TEMPORARY_REDIRECT}
  - name: hello
    matchers: [{uri: {exact: /hello}, method: GET}]
    directResponse: {status: 201, body: hi}
  - name: broken
    matchers: [{uri: {prefix: /broken}}]
    forwardTo:
      destinations:
      - {ref: {name: a, namespace: apps}, weight: 70}
      - {ref: {name: b, namespace: apps}, weight: 40}
---
apiVersion: networking.gloo.solo.io/v2
kind: VirtualDestination
metadata: {name: b-vd, namespace: apps}
spec:
  hosts: [b.mesh.internal]
  services: [{labels: {app: b}}]
  ports: [{number: 9000, protocol: HTTP, targetPort: {name: http}}]
---
apiVersion: meshctl.io/v1alpha1
kind: Cluster
metadata: {name: c1}
spec:
  services:
  - name: a
    namespace: apps
    labels: {app: a}
    ports: [{name: http, port: 8080}]
    endpoints: [{address: 127.0.0.1, port: PORT_A}]
  - name: b
    namespace: apps
    labels: {app: b}
    ports: [{name: http, port: 8080}]
    endpoints: [{address: 127.0.0.1, port: PORT_B}]
"""


def test_v2_actions_through_envoy(tmp_path: Path, upstreams, mesh_harness) -> None:  # noqa: F811
    upstreams.start("a")
    upstreams.start("b")
    text = CONFIG.replace("PORT_A", str(upstreams.port("a"))).replace("PORT_B", str(upstreams.port("b")))
    (tmp_path / "config.yaml").write_text(text)
    port = free_port()
    harness = mesh_harness([tmp_path], listener_ports={"ops/gw": port})
    harness.envoy("gw-1")
    client = harness.client(port)
    sandbox = Sandbox(load_snapshot([tmp_path]))

    def both(path: str, method: str = "GET") -> tuple[int, str, dict[str, str]]:
        status, body, headers = client.request(path, method=method)
        expected = sandbox.evaluate(Request(method=method, authority="www.example.com", path=path))
        if expected.status is not None:  # answered by the gateway itself
            assert (status, body) == (expected.status, expected.body or ""), path
        else:
            assert status == 200 and body.endswith(" " + (expected.upstream_path or "")), (path, body)
        return status, body, headers

    assert client.until("/hello", lambda a: a[0] == 201) == (201, "hi")
    bodies = [both("/split/x")[1].split()[0] for _ in range(200)]
    assert bodies.count("a") > bodies.count("b") > 0  # 80 / 20 (the remainder)
    assert both("/rx/abc")[1] == "a /new/abc"
    assert both("/host")[1] == "b /h"
    assert upstreams.hits_of("b")[-1].headers["host"] == "rewritten.internal"
    assert both("/vd/1")[1] == "b /vd/1"
    status, _, headers = both("/old/page")
    assert status == 307 and headers["location"] == "http://new.example.com/new"
    assert both("/hello", "POST")[0] == 404
    status, body, _ = both("/broken")
    assert status == 500 and "weights total 110" in body


FROZEN = """
apiVersion: networking.gloo.solo.io/v2
kind: VirtualGateway
metadata: {name: gw, namespace: ops}
spec:
  listeners: [{http: {}, port: {number: 80}}]
---
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: root, namespace: ops}
spec:
  hosts: [www.example.com]
  virtualGateways: [{name: gw}]
  failureMode: MODE
  http:
  - name: probe
    matchers: [{uri: {MATCH}}]
    directResponse: {status: 200, body: BODY}
"""


@pytest.mark.parametrize("mode, broken_answer", [("FREEZE_CONFIG", (200, "good")), ("ROUTE_REPLACEMENT", None)])
def test_failure_mode_of_a_live_v2_tree(tmp_path: Path, mesh_harness, mode: str, broken_answer) -> None:  # noqa: F811
    config = tmp_path / "config.yaml"

    def write(match: str, body: str) -> None:
        config.write_text(FROZEN.replace("MODE", mode).replace("MATCH", match).replace("BODY", body))

    write("prefix: /probe", "good")
    port = free_port()
    harness = mesh_harness([tmp_path], listener_ports={"ops/gw": port}).watch()
    harness.envoy("edge-v2")
    client = harness.client(port)
    assert client.until("/probe", lambda a: a == (200, "good")) == (200, "good")
    write("regex: '/probe(unclosed'", "broken")
    if broken_answer is None:  # ROUTE_REPLACEMENT: a route whose regex Envoy would reject cannot answer 500 either
        assert client.until("/probe", lambda a: a != (200, "good")) == (404, "")
        write("prefix: /probe", "fixed")
        assert client.until("/probe", lambda a: a == (200, "fixed")) == (200, "fixed")
    else:  # FREEZE_CONFIG: after the reload the last good tree keeps serving
        harness.reload()
        view = harness.service.translator().view
        assert any(f.code == "freeze-config" for f in view.diagnostics)
        assert client.get("/probe") == broken_answer
