"""A virtual host carrying its routes' common retry policy (meshctl/xds/retry_hoist.py) retries as the routes
did, through a real Envoy: the routes that shared the policy retry, a route with a policy of its own keeps it,
and a forwarding route that had none does not inherit the host's."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_e2e import mesh_harness, upstreams  # noqa: F401 (fixtures)

from meshctl.envoy.ports import free_port
from meshctl.xds.cache import NodeInfo

pytestmark = pytest.mark.envoy

API = "networking.enterprise.mesh.gloo.solo.io/v1beta1"
NAMES = ("shared-a", "shared-b", "own", "plain")


def config(ports: dict[str, int]) -> str:
    def route(name: str, options: str) -> str:
        return f"""
  - name: {name}
    matchers: [{{uri: {{prefix: /{name}}}}}]
    routeAction: {{destinations: [{{kubeService: {{name: {name}, namespace: app}}}}]}}{options}"""

    shared = "\n    options: {retries: {attempts: 2, perTryTimeout: 1s}}"
    services = "".join(f"""
  - name: {name}
    namespace: app
    ports: [{{name: http, port: 80}}]
    endpoints: [{{address: 127.0.0.1, port: {ports[name]}}}]""" for name in NAMES)
    return f"""apiVersion: {API}
kind: VirtualGateway
metadata: {{name: gw, namespace: app}}
spec:
  connectionHandlers: [{{http: {{routeConfig: [{{virtualHostSelector: {{namespaces: [app]}}}}]}}}}]
---
apiVersion: {API}
kind: VirtualHost
metadata: {{name: retries, namespace: app}}
spec:
  domains: [retries.test]
  routes:{route("shared-a", shared)}{route("shared-b", shared)}{route("own", chr(10) + "    options: {retries: {attempts: 1}}")}{route("plain", "")}
---
apiVersion: meshctl.io/v1alpha1
kind: Cluster
metadata: {{name: c1}}
spec:
  locality: {{region: r1, zone: z1}}
  services:{services}
"""


def test_hoisted_retry_policy_retries_as_the_routes_did(tmp_path: Path, upstreams, mesh_harness) -> None:  # noqa: F811
    for name in NAMES:
        upstreams.start(name, fail_first=1)
    (tmp_path / "mesh.yaml").write_text(config({name: upstreams.port(name) for name in NAMES}))
    port = free_port()
    harness = mesh_harness([tmp_path], listener_ports={"app/gw": port})

    [route_config] = harness.service.resources_for(NodeInfo("gateway-1", "gateway:app/gw")).routes
    [host] = route_config.virtual_hosts
    own = {r.name.rpartition("#")[2]: r.route.retry_policy for r in host.routes}
    assert host.retry_policy is not None and host.retry_policy.num_retries == 2  # carried once, by the host
    assert own["shared-a"] is None and own["shared-b"] is None
    assert own["own"].num_retries == 1
    assert own["plain"] is not None and not own["plain"].retry_on  # explicit: none of the host's

    harness.envoy("gateway-1", "gateway:app/gw")
    client = harness.client(port)
    host_name = "retries.test"
    client.until("/shared-a/1", lambda a: a[0] == 200, host=host_name, timeout=30)  # 503 first, retried
    assert [h.path for h in upstreams.hits_of("shared-a")] == ["/shared-a/1", "/shared-a/1"]
    assert client.get("/shared-b/1", host_name) == (200, "shared-b /shared-b/1")
    assert len(upstreams.hits_of("shared-b")) == 2
    assert client.get("/own/1", host_name) == (200, "own /own/1")
    assert len(upstreams.hits_of("own")) == 2
    assert client.get("/plain/1", host_name)[0] == 503  # not retried: the host's policy is not its own
    assert [h.path for h in upstreams.hits_of("plain")] == ["/plain/1"]
