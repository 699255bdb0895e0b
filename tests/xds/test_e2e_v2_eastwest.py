"""A Gloo v2 east-west route through a real Envoy sidecar: the reference's example (b) pattern, where only the
selected workload's sidecar routes `end-user: jason` to reviews v2 and everything else to v1."""

from __future__ import annotations

from pathlib import Path

from fixtures_e2e import mesh_harness, upstreams  # noqa: F401 (fixtures)

CONFIG = """
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata: {name: reviews, namespace: app}
spec:
  hosts: [reviews.app.svc.cluster.local]
  workloadSelectors: [{selector: {labels: {app: client}}}]
  http:
  - name: jason-to-v2
    matchers: [{headers: [{name: end-user, value: jason}]}]
    forwardTo: {destinations: [{ref: {name: reviews}, port: {number: 80}, subset: {version: v2}}]}
  - name: default
    matchers: [{uri: {prefix: /}}]
    forwardTo: {destinations: [{ref: {name: reviews}, port: {number: 80}, subset: {version: v1}}]}
---
apiVersion: meshctl.io/v1alpha1
kind: Cluster
metadata: {name: c1}
spec:
  locality: {region: us-east-1, zone: us-east-1a}
  services:
  - name: client
    namespace: app
    labels: {app: client}
    ports: [{name: http, port: 80}]
    endpoints: [{address: 127.0.0.1, port: CLIENT, labels: {app: client}}]
  - name: reviews
    namespace: app
    labels: {app: reviews}
    ports: [{name: http, port: 80}]
    endpoints:
    - {address: 127.0.0.1, port: V1, labels: {app: reviews, version: v1}}
    - {address: 127.0.0.1, port: V2, labels: {app: reviews, version: v2}}
"""


def test_east_west_route_on_a_real_sidecar(tmp_path: Path, upstreams, mesh_harness) -> None:  # noqa: F811
    for name in ("reviews-v1", "reviews-v2", "client"):
        upstreams.start(name)
    text = CONFIG.replace("CLIENT", str(upstreams.port("client"))).replace("V1", str(upstreams.port("reviews-v1")))
    (tmp_path / "mesh.yaml").write_text(text.replace("V2", str(upstreams.port("reviews-v2"))))
    harness = mesh_harness([tmp_path])
    harness.envoy("client-1", "sidecar:app/client@c1", ("us-east-1", "us-east-1a", ""))
    client = harness.client(harness.service.options.sidecar_port)
    host = "reviews.app.svc.cluster.local"
    client.until("/r", lambda a: a[0] == 200, host=host, timeout=30)
    # the Gloo table pins every request: v1 by default, v2 for jason (never the other subset)
    assert {client.get("/r", host)[1] for _ in range(10)} == {"reviews-v1 /r"}
    jason = {client.request("/r", host, headers={"end-user": "jason"})[1] for _ in range(10)}
    assert jason == {"reviews-v2 /r"}
    # the console's proxy check compares this sidecar with what the configuration gives the workload
    from meshctl.envoy.admin import AdminClient
    from meshctl.model.snapshot import load_snapshot
    from meshctl.routing.view import build_routing_view
    from meshctl.tui.verify_check import verify_connected

    snapshot = load_snapshot([tmp_path])
    [process] = harness.envoys
    lines = verify_connected(snapshot, build_routing_view(snapshot),
                             [AdminClient(f"http://127.0.0.1:{process.admin_port}")])
    assert lines[0].startswith("client-1: agrees (2 same"), lines
