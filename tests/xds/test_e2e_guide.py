"""The 004 advanced-routing guide served by a real Envoy: every step's documented answers, real upstreams."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fixtures_e2e import EXAMPLES, local_copy, mesh_harness, upstreams  # noqa: F401 (fixtures)

from meshctl.envoy.ports import free_port

pytestmark = pytest.mark.envoy

GUIDE = EXAMPLES / "004-advanced-routing"
GATEWAY = "gloo-mesh/demo-gateway"
# discovery address (docs/examples/*/mesh.yaml) → the local upstream standing in for it
UPSTREAM_OF = {"10.1.0.12": "ratings", "10.1.0.21": "reviews-v1", "10.1.0.22": "reviews-v2",
               "10.2.0.23": "reviews-v3", "10.1.0.11": "productpage"}

CUSTOM_404 = (404, "'custom not found'")
GATEWAY_404 = (404, "")


def reviews(version: str, path: str) -> tuple[int, str]:
    return 200, f"reviews-{version} {path}"


SUBSETS = {
    "/ratings/1": (200, "ratings /ratings/1"),
    "/reviews/v1/1": reviews("v1", "/reviews/1"),
    "/reviews/v2/1": reviews("v2", "/reviews/1"),
    "/reviews/v1/version": reviews("v1", "/reviews/version"),
}
# The five requests of each step's README (Host www.example.com) and their documented outcome.
EXPECTED: dict[str, dict[str, object]] = {
    "01-basic": {"/ratings/1": (200, "ratings /ratings/1")},  # the /reviews paths: checked below (v1 or v2)
    "02-subset-routes": {**SUBSETS, "/reviews/v3": GATEWAY_404},
    "03-route-table-ref": {**SUBSETS, "/reviews/v3": GATEWAY_404},
    "04-second-table-ref": {**SUBSETS, "/reviews/v3": CUSTOM_404},
    "05-selector": {**SUBSETS, "/reviews/v3": CUSTOM_404},
    "06-table-weight": {**SUBSETS, "/reviews/v3": CUSTOM_404},
    "07-route-specificity": {**SUBSETS, "/reviews/v1/version": (200, "'v1'"), "/reviews/v2/version": (200, "'v2'"),
                             "/reviews/v3": CUSTOM_404},
}


@pytest.mark.parametrize("guide", [GUIDE, EXAMPLES / "004-advanced-routing-v2"], ids=["v1beta1", "gloo-v2"])
def test_every_guide_step_through_envoy(tmp_path: Path, upstreams, mesh_harness, guide: Path) -> None:  # noqa: F811
    for name in sorted(set(UPSTREAM_OF.values())):
        upstreams.start(name)
    ports = {address: upstreams.port(name) for address, name in UPSTREAM_OF.items()}
    live = tmp_path / "live"
    live.mkdir()
    listener = free_port()
    harness = None
    for step in sorted(EXPECTED):
        for f in live.glob("*.yaml"):
            f.unlink()
        staged = local_copy(guide / step, tmp_path / step, ports)
        for f in staged.glob("*.yaml"):
            shutil.copy(f, live / f.name)
        if harness is None:
            harness = mesh_harness([live], listener_ports={GATEWAY: listener})
            harness.envoy("gateway-1", "gateway", ("us-east-1", "us-east-1a", ""))
            client = harness.client(listener)
        else:
            harness.reload()
        first_path, first_answer = next(iter(EXPECTED[step].items()))
        assert client.until(first_path, lambda a, want=first_answer: a == want) == first_answer, step
        for path, answer in EXPECTED[step].items():
            assert client.get(path) == answer, f"{step}: GET {path}"
        if step == "01-basic":
            # No subsets: /reviews goes to the cluster-1 endpoints (v1 or v2, never cluster-2's v3), unchanged path.
            for path in ("/reviews/v1/1", "/reviews/v2/1", "/reviews/v1/version", "/reviews/v3"):
                status, body = client.get(path)
                assert status == 200 and body in (f"reviews-v1 {path}", f"reviews-v2 {path}"), (step, path, body)
        # a Host the gateway does not serve gets Envoy's own 404
        assert client.get("/ratings/1", host="other.example.com") == GATEWAY_404
    assert not upstreams.hits_of("reviews-v3"), "cluster-2's reviews v3 must never be reached through this gateway"


def test_subset_routing_balances_only_within_the_subset(tmp_path: Path, upstreams, mesh_harness) -> None:  # noqa: F811
    for name in ("ratings", "reviews-v1", "reviews-v2", "reviews-v3", "productpage"):
        upstreams.start(name)
    ports = {address: upstreams.port(name) for address, name in UPSTREAM_OF.items()}
    example = local_copy(GUIDE / "01-basic", tmp_path / "basic", ports)
    listener = free_port()
    harness = mesh_harness([example], listener_ports={GATEWAY: listener})
    harness.envoy("gateway-1", "gateway")
    client = harness.client(listener)
    client.until("/ratings/1", lambda a: a[0] == 200)
    seen = {client.get("/reviews/x")[1].split()[0] for _ in range(40)}
    assert seen == {"reviews-v1", "reviews-v2"}  # round robin over the cluster-1 endpoints only
