"""Gloo v2 FailoverPolicy / OutlierDetectionPolicy: EDS priorities, locality weights and outlier detection per
client locality, and the sandbox showing the same priorities as the translated EDS for a node there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshctl.mesh.index import Locality
from meshctl.model.snapshot import snapshot_from_text
from meshctl.routing.view import build_routing_view
from meshctl.sandbox.engine import Request, Sandbox
from meshctl.xds.cache import NodeInfo
from meshctl.xds.translate import Translator

FIXTURE = Path(__file__).parent / "data" / "resilience.yaml"
REVIEWS = "outbound|9080||reviews.global"
DATABASE = "outbound|5432||192.0.2.10"


def _snapshot(text: str | None = None):
    return snapshot_from_text(text if text is not None else FIXTURE.read_text(), "resilience.yaml")


def eds(locality: tuple[str, str, str], text: str | None = None) -> dict:
    """cluster → [(priority, region, zone, weight, [addresses])] for a gateway node in `locality`."""
    snapshot = _snapshot(text)
    res = Translator(snapshot, view=build_routing_view(snapshot)).node_resources(NodeInfo("n", "gateway", locality))
    return {cla.cluster_name: [(lep.priority, lep.locality.region if lep.locality else "",
                                lep.locality.zone if lep.locality else "", lep.load_balancing_weight,
                                sorted(e.endpoint.address.socket_address.address for e in lep.lb_endpoints))
                               for lep in cla.endpoints]
            for cla in res.endpoints}


def clusters(locality: tuple[str, str, str]) -> dict:
    snapshot = _snapshot()
    res = Translator(snapshot, view=build_routing_view(snapshot)).node_resources(NodeInfo("n", "gateway", locality))
    return {c.name: c for c in res.clusters}


def sandbox_priorities(path: str, locality: Locality | None) -> list[list[str]]:
    snapshot = _snapshot()
    result = Sandbox(snapshot, build_routing_view(snapshot)).evaluate(Request(authority="any.test", path=path),
                                                                      None, locality)
    data = result.to_dict()
    backend = data["backends"][0]
    return [sorted(e["address"] for e in p["endpoints"]) for p in backend["priorities"]]


def test_mapped_regions_follow_same_zone_and_region_with_weights_sharing_a_priority() -> None:
    east = eds(("us-east", "us-east-a", ""))[REVIEWS]
    assert [(p, r, z, a) for p, r, z, _, a in east] == [
        (0, "us-east", "us-east-a", ["10.0.0.1"]),
        (1, "us-east", "us-east-b", ["10.0.0.2"]),
        # the two weighted targets share one priority, split 3:1 by Envoy locality weight
        (2, "ap-south", "ap-south-a", ["10.0.3.1"]),
        (2, "eu-west", "eu-west-a", ["10.0.2.1", "10.0.2.2"]),
        (3, "us-west", "us-west-a", ["10.0.1.1"]),
    ]
    weights = {r: w for _, r, _, w, _ in east}
    assert weights["eu-west"] == 3 and weights["ap-south"] == 1
    # unmapped weights: the endpoint count, so locality-weighted balancing still sends them traffic
    assert weights["us-east"] == 1 and weights["us-west"] == 1
    cluster = clusters(("us-east", "us-east-a", ""))[REVIEWS]
    assert cluster.common_lb_config.locality_weighted_lb_config is not None


def test_unweighted_mapping_orders_regions_and_sets_no_weights() -> None:
    west = eds(("us-west", "us-west-a", ""))[REVIEWS]
    assert [(p, r) for p, r, _, _, _ in west] == [(0, "us-west"), (1, "us-east"), (1, "us-east"),
                                                  (2, "ap-south"), (3, "eu-west")]
    assert {w for *_, w, _ in west} == {None}
    assert clusters(("us-west", "us-west-a", ""))[REVIEWS].common_lb_config.locality_weighted_lb_config is None


def test_unmapped_client_gets_zone_region_then_the_rest() -> None:
    ap = eds(("ap-south", "ap-south-a", ""))[REVIEWS]
    assert [(p, r) for p, r, _, _, _ in ap] == [(0, "ap-south"), (1, "eu-west"), (1, "us-east"), (1, "us-east"),
                                                (1, "us-west")]


def test_outlier_detection_policy_with_defaults_on_the_cluster() -> None:
    found = clusters(("us-east", "us-east-a", ""))
    reviews = found[REVIEWS].outlier_detection
    assert reviews.consecutive_5xx == 2 and reviews.interval.total_seconds() == 1
    assert reviews.base_ejection_time.total_seconds() == 30 and reviews.max_ejection_percent == 100
    assert reviews.consecutive_gateway_failure == 1 and reviews.enforcing_consecutive_gateway_failure == 100
    database = found[DATABASE].outlier_detection  # the reference's defaults
    assert (database.consecutive_5xx, database.interval.total_seconds(), database.base_ejection_time.total_seconds(),
            database.max_ejection_percent, database.consecutive_gateway_failure) == (5, 10, 30, 100, None)


def test_external_service_failover_by_priority_labels() -> None:
    assert [(p, r) for p, r, *_ in eds(("us-west", "us-west-b", ""))[DATABASE]] == [(0, "us-west"), (1, "us-east")]
    assert [(p, r) for p, r, *_ in eds(("us-east", "", ""))[DATABASE]] == [(0, "us-east"), (1, "us-west")]


@pytest.mark.parametrize("locality", [("us-east", "us-east-a", ""), ("us-east", "us-east-b", ""),
                                      ("us-west", "us-west-a", ""), ("ap-south", "", ""), ("eu-west", "x", "")])
@pytest.mark.parametrize("path, cluster", [("/reviews", REVIEWS), ("/db", DATABASE)])
def test_sandbox_priorities_equal_the_translated_eds(locality: tuple[str, str, str], path: str, cluster: str) -> None:
    translated: dict[int, list[str]] = {}
    for priority, _, _, _, addresses in eds(locality)[cluster]:
        translated.setdefault(priority, []).extend(addresses)
    expected = [sorted(translated[p]) for p in sorted(translated)]
    assert sandbox_priorities(path, Locality(*locality)) == expected


def test_the_older_of_two_failover_policies_applies_and_the_other_is_reported() -> None:
    snapshot = _snapshot()
    result = Sandbox(snapshot, build_routing_view(snapshot)).evaluate(Request(authority="a.test", path="/reviews"),
                                                                      None, Locality("us-east", "us-east-a"))
    problems = result.to_dict()["backends"][0].get("problems", [])
    assert any("FailoverPolicy bookinfo/newer also selects bookinfo/reviews-global" in p and
               "bookinfo/reviews-failover is older" in p for p in problems), problems


def test_policies_reach_only_what_they_select() -> None:
    text = FIXTURE.read_text().replace("selector: {labels: {failover: \"yes\"}}", "selector: {labels: {other: x}}")
    text = text.replace("selector: {name: reviews-global}}]\n  config: {localityMappings: []}",
                        "selector: {name: nothing}}]\n  config: {localityMappings: []}")
    east = eds(("us-east", "us-east-a", ""), text)[REVIEWS]
    # no FailoverPolicy: a v2 VirtualDestination still gets same-zone / same-region / the rest, without weights
    assert [(p, r) for p, r, *_ in east] == [(0, "us-east"), (1, "us-east"), (2, "ap-south"), (2, "eu-west"),
                                             (2, "us-west")]


def test_a_sidecar_without_a_node_locality_gets_its_workloads_locality_and_the_sandboxs_priorities() -> None:
    snapshot = _snapshot()
    res = Translator(snapshot, view=build_routing_view(snapshot)).node_resources(
        NodeInfo("reviews-west", "sidecar:bookinfo/reviews@west"))
    assert res.locality == Locality("us-west", "us-west-a")  # the workload's cluster
    translated: dict[int, list[str]] = {}
    for cla in res.endpoints:
        if cla.cluster_name == DATABASE:
            for lep in cla.endpoints:
                translated.setdefault(lep.priority, []).extend(
                    e.endpoint.address.socket_address.address for e in lep.lb_endpoints)
    assert translated == {0: ["10.9.1.1"], 1: ["10.9.0.1"]}
    assert sandbox_priorities("/db", res.locality) == [translated[0], translated[1]]


def test_test_route_names_the_failover_policy_and_the_locality_weights(capsys: pytest.CaptureFixture[str]) -> None:
    from meshctl.cli.main import main

    argv = ["test-route", str(FIXTURE), "--from-locality", "us-east/us-east-a", "http://any.test/reviews"]
    assert main([*argv, "-o", "json"]) == 0
    backend = json.loads(capsys.readouterr().out)["backends"][0]
    assert backend["failoverPolicy"] == "FailoverPolicy/bookinfo/reviews-failover"
    assert backend["localityWeights"] == {"eu-west/eu-west-a": 3, "ap-south/ap-south-a": 1}
    assert main(argv) == 0
    assert "priorities from FailoverPolicy/bookinfo/reviews-failover" in capsys.readouterr().out


def test_destination_policies_apply_only_in_the_destinations_own_workspace() -> None:
    """P4: team-b imports team-a's ExternalService (reference example (c)); an OutlierDetectionPolicy of team-b
    does not reach it, one of team-a does."""
    from meshctl.mesh.index import MeshIndex
    from meshctl.model.resources import ExternalService

    base = (Path(__file__).parent / "data" / "reference-c.yaml").read_text()

    def policy(namespace: str) -> str:
        return (f"\n---\napiVersion: resilience.policy.gloo.solo.io/v2\nkind: OutlierDetectionPolicy\n"
                f"metadata: {{name: od, namespace: {namespace}}}\n"
                "spec:\n  applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: db}}]\n"
                "  config: {consecutiveErrors: 7}\n")

    for namespace, applies in (("team-b", False), ("team-a", True)):
        snapshot = snapshot_from_text(base + policy(namespace))
        es = snapshot.get("ExternalService", "team-a", "db")
        assert isinstance(es, ExternalService)
        outlier = MeshIndex(snapshot).backend_for_external_service(es).outlier_detection
        assert (outlier is not None and outlier.consecutive_errors == 7) is applies, namespace
