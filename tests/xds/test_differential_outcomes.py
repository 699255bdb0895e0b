"""Rewrites and redirects: the upstream path and Location Envoy produces equal what the sandbox predicts."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_e2e import mesh_harness, upstreams  # noqa: F401 (fixtures)

from meshctl.envoy.ports import free_port
from meshctl.model.snapshot import snapshot_from_text
from meshctl.routing.evaluate import Request
from meshctl.sandbox import Sandbox

pytestmark = pytest.mark.envoy

DEST = "{kubeService: {name: web, namespace: app}}"
CONFIG = f"""
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualGateway
metadata: {{name: gw, namespace: app}}
spec:
  connectionHandlers:
  - http:
      routeConfig:
      - virtualHostSelector: {{namespaces: [app]}}
---
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: VirtualHost
metadata: {{name: vh, namespace: app}}
spec:
  domains: ["*"]
  routes:
  - matchers: [{{uri: {{prefix: /api/}}}}]
    routeAction: {{destinations: [{DEST}], pathRewrite: /}}
  - matchers: [{{uri: {{prefix: /api}}}}]
    routeAction: {{destinations: [{DEST}], pathRewrite: /v2}}
  - matchers: [{{uri: {{prefix: /CI, ignoreCase: true}}}}]
    routeAction: {{destinations: [{DEST}], pathRewrite: /ci}}
  - matchers: [{{uri: {{exact: /e}}}}]
    routeAction: {{destinations: [{DEST}], pathRewrite: /z}}
  - matchers: [{{uri: {{regex: "/r/[0-9]+"}}}}]
    routeAction: {{destinations: [{DEST}], pathRewrite: /item}}
  - matchers: [{{uri: {{suffix: .json}}}}]
    routeAction: {{destinations: [{DEST}], pathRewrite: /j}}
  - matchers: [{{uri: {{prefix: /team}}}}]
    delegateAction: {{refs: [{{name: team, namespace: app}}]}}
  - matchers: [{{uri: {{prefix: /docs/}}}}]
    redirectAction: {{prefixRewrite: /manual/}}
  - matchers: [{{uri: {{exact: /moved}}}}]
    redirectAction: {{pathRedirect: /new, responseCode: FOUND}}
  - matchers: [{{uri: {{exact: /moved-q}}}}]
    redirectAction: {{pathRedirect: "/new?a=1", responseCode: TEMPORARY_REDIRECT}}
  - matchers: [{{uri: {{exact: /strip}}}}]
    redirectAction: {{pathRedirect: /s, stripQuery: true}}
  - matchers: [{{uri: {{prefix: /secure}}}}]
    redirectAction: {{httpsRedirect: true}}
  - matchers: [{{uri: {{prefix: /away}}}}]
    redirectAction: {{hostRedirect: other.test, responseCode: SEE_OTHER}}
  - matchers: [{{uri: {{prefix: /}}}}]
    routeAction: {{destinations: [{DEST}]}}
---
apiVersion: networking.enterprise.mesh.gloo.solo.io/v1beta1
kind: RouteTable
metadata: {{name: team, namespace: app}}
spec:
  routes:
  - matchers: [{{uri: {{prefix: /a}}}}]
    routeAction: {{destinations: [{DEST}], pathRewrite: /team-a}}
  - matchers: [{{uri: {{regex: "/b/.*"}}}}]
    routeAction: {{destinations: [{DEST}], pathRewrite: /team-b}}
---
apiVersion: meshctl.io/v1alpha1
kind: Cluster
metadata: {{name: c1}}
spec:
  services:
  - name: web
    namespace: app
    ports: [{{name: http, port: 80}}]
    endpoints: [{{address: 127.0.0.1, port: WEB_PORT}}]
"""

PATHS = ["/api/x", "/api/x/y?q=1", "/apix", "/api", "/api?q=1", "/ci/a", "/CI/a", "/Ci", "/e", "/e?q=1", "/r/12",
         "/r/12?x=1", "/r/x", "/a/b.json", "/a/b.json?x", "/team/a/1", "/team/abc?q", "/team/b/x", "/team/b/",
         "/docs/a", "/docs/a?x=1", "/moved", "/moved?z=2", "/moved-q?z=2", "/strip?x=1", "/secure/p?q=1", "/away/p",
         "/other?x=1"]
HOSTS = ["app.test", "app.test:80", "app.test:8080"]


def test_rewrites_and_redirects_agree_with_the_sandbox(tmp_path: Path, upstreams, mesh_harness) -> None:  # noqa: F811
    web = upstreams.start("web")
    text = CONFIG.replace("WEB_PORT", str(web.port))
    (tmp_path / "config.yaml").write_text(text)
    port = free_port()
    harness = mesh_harness([tmp_path], listener_ports={"app/gw": port})
    harness.envoy("outcomes-1")
    client = harness.client(port)
    client.until("/other", lambda a: a[0] == 200, host="app.test")
    sandbox = Sandbox(snapshot_from_text(text))
    checked = 0
    for host in HOSTS:
        for path in PATHS:
            predicted = sandbox.evaluate(Request(authority=host, path=path))
            before = len(upstreams.hits)
            status, _, headers = client.request(path, host)
            what = f"GET http://{host}{path}"
            if predicted.upstream_path is not None:
                assert status == 200, what
                assert upstreams.hits[before].path == predicted.upstream_path, what
            else:
                assert status == predicted.status, what
                assert headers.get("location") == predicted.location, what
            checked += 1
    assert checked == len(PATHS) * len(HOSTS)


def test_sandbox_redirect_location_without_the_stripped_port() -> None:
    sandbox = Sandbox(snapshot_from_text(CONFIG.replace("WEB_PORT", "9")))
    assert sandbox.evaluate(Request(authority="app.test:8080", path="/docs/a")).location == "http://app.test/manual/a"
